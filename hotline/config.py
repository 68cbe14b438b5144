"""Typed configuration: one TOML file, every key overridable by HOTLINE_<SECTION>_<KEY>."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import socket
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telephony.guard import SCANNER_USER_AGENTS

ENV_PREFIX = "HOTLINE_"


class ConfigError(ValueError):
    """A config file or environment override that cannot be used."""


@dataclass(frozen=True)
class CentreConfig:
    name: str = "12319 城管服务热线"
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class SipConfig:
    host: str = "127.0.0.1"
    port: int = 5060
    # Source addresses (or CIDR networks) allowed to send calls in: the carrier SBC or PBX.
    trunk_peers: tuple[str, ...] = ("127.0.0.1",)
    # Address written into Contact and SDP; empty means `host`.
    advertised_host: str = ""
    realm: str = "hotline"
    rtp_port_min: int = 20000
    rtp_port_max: int = 29999
    # How long an agent phone may ring before the call goes back to the queue.
    agent_ring_seconds: float = 20.0
    # WAV file (8 kHz mono 16-bit) played to callers while queued; empty means the shipped one.
    greeting: str = ""
    # On shutdown, calls connected to an agent may finish for this long before they get BYE
    # (new calls get 503 meanwhile).
    drain_seconds: float = 30.0
    # Calls answered at once whose ACK has not come yet; more get 503 (INVITEs never ACKed
    # must not take every RTP port). Nothing plays and the switchboard hears of a call only
    # once its ACK comes.
    max_unacknowledged_answers: int = 100
    # Secret for stateless digest nonces; empty means a random one per start.
    nonce_secret: str = ""
    # Where outgoing calls (transfers, three-way) go: the carrier SBC or PBX, "host:port".
    outbound_proxy: str = ""
    # Digest credentials if the proxy challenges outgoing calls (401/407); empty: none.
    outbound_username: str = ""
    outbound_password: str = ""
    # Numbers an agent may transfer to, as "name=number" (departments, 12345).
    transfer_targets: tuple[str, ...] = ()

    def is_trunk_peer(self, address: str) -> bool:
        """Whether a datagram source address belongs to a configured trunk peer."""
        try:
            source = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(source in ipaddress.ip_network(peer, strict=False) for peer in self.trunk_peers)

    @property
    def media_host(self) -> str:
        return self.advertised_host or self.host

    @property
    def outbound_address(self) -> tuple[str, int] | None:
        """`outbound_proxy` as (host, port), port 5060 if left out; None when empty."""
        return _host_port(self.outbound_proxy, "[sip] outbound_proxy")

    @property
    def outbound_credentials(self) -> tuple[str, str] | None:
        return (self.outbound_username, self.outbound_password) if self.outbound_username else None

    @property
    def transfer_directory(self) -> dict[str, str]:
        """Transfer target name → number."""
        return transfer_directory(self.transfer_targets)


def _host_port(text: str, where: str) -> tuple[str, int] | None:
    """ "host:port" as (host, port), port 5060 if left out; None when empty."""
    text = text.strip()
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    if not sep:
        return (text, 5060)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{where}: expected host:port, got {text!r}")
    return (host.strip("[]"), int(port))


def transfer_directory(entries: tuple[str, ...]) -> dict[str, str]:
    """Parse "name=number" entries; a malformed one is a ConfigError, never silently dropped."""
    directory: dict[str, str] = {}
    for entry in entries:
        name, sep, number = entry.partition("=")
        if not sep or not name.strip() or not number.strip().isdigit():
            raise ConfigError(f"[sip] transfer_targets: expected name=digits, got {entry!r}")
        directory[name.strip()] = number.strip()
    return directory


@dataclass(frozen=True)
class TrunkConfig:
    # The upstream registrar (carrier SBC or PBX) where the hotline registers its numbers so
    # that their calls are delivered here, "host:port"; empty registers nowhere.
    register_to: str = ""
    # Numbers to register, one registration each; empty means every [hotlines] number.
    numbers: tuple[str, ...] = ()
    # Digest credentials for the registrar's 401/407 (the password is better set by
    # HOTLINE_TRUNK_PASSWORD); an empty username means each number's own.
    username: str = ""
    password: str = ""
    # Domain of the registered address sip:number@domain; empty means register_to's host.
    domain: str = ""
    # Lifetime asked for, in seconds; refreshed at half of what the registrar grants.
    expires: int = 300

    @property
    def registrar_address(self) -> tuple[str, int] | None:
        """`register_to` as (host, port); None when registration is off."""
        address = _host_port(self.register_to, "[trunk] register_to")
        if address is not None and self.expires < 1:
            raise ConfigError(f"[trunk] expires: expected at least 1 second, got {self.expires}")
        return address


@dataclass(frozen=True)
class ConsoleConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    # A session ends this long after login (absolute) ...
    session_hours: float = 12.0
    # ... or after this many minutes without a request (a console left open); 0: no idle limit.
    session_idle_minutes: float = 120.0
    # Set true behind TLS so the session cookie is never sent in clear.
    secure_cookies: bool = False
    # Websockets one session may hold open at once (a console in a few tabs).
    ws_per_session: int = 4
    # Larger websocket messages close the socket (1009).
    ws_max_message_bytes: int = 65536
    # Messages (pings included) a console may send: this many a second, with bursts of
    # ws_message_burst; faster closes the socket (1008).
    ws_messages_per_second: float = 2.0
    ws_message_burst: int = 20
    # An agent whose consoles have all been closed this long (no reconnect) is logged out
    # and offered no more calls; a reconnect within it keeps their state. 0: never.
    presence_grace_seconds: float = 60.0
    # Reverse proxies (addresses or networks) in front of the console, e.g. nginx: their
    # X-Forwarded-For names the browser (login throttling per address); anyone else's is
    # ignored. Empty: the connection's own address, always.
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite+aiosqlite:///hotline.db"


@dataclass(frozen=True)
class DispatchConfig:
    # Where cases are POSTed; "" with [demo] dispatch_sink means this process's own stand-in.
    url: str = ""
    # Shared secret: outgoing cases are signed with HMAC-SHA256 of the body.
    secret: str = "change-me"
    timeout_seconds: float = 10.0
    max_backoff_seconds: float = 300.0


@dataclass(frozen=True)
class RoutingConfig:
    wrap_up_seconds: float = 15.0
    # 延长 on the desk adds this much wrap-up, up to wrap_up_max_seconds after the call ended.
    wrap_up_extend_seconds: float = 30.0
    wrap_up_max_seconds: float = 120.0
    # Dialled numbers whose calls are served before others in their queue (12345 transfers).
    priority_numbers: tuple[str, ...] = ()
    # Unanswered offers in a row before an agent is paused (a phone left ringing).
    missed_offers_before_pause: int = 1
    # What an agent may give as the reason for pausing (示忙原因); empty allows any.
    pause_reasons: tuple[str, ...] = ("休息", "用餐", "会议", "培训", "话后整理", "其他")
    # How each queue picks an agent: longest-idle | round-robin | fewest-calls | skills;
    # queue_strategies overrides per queue as "queue=strategy".
    strategy: str = "longest-idle"
    queue_strategies: tuple[str, ...] = ()
    # A call waiting this long is served one level higher; 0 turns escalation off.
    escalate_after_seconds: float = 0.0
    # A call waiting this long moves to overflow_queue (kept in line by arrival); 0: never.
    overflow_after_seconds: float = 0.0
    overflow_queue: str = ""
    # A number that called within this many days is served before first-time callers; 0: off.
    repeat_caller_days: float = 3.0
    # A caller who hangs up while waiting stays in line as a call-back task (漏话回拨), offered
    # to the next ready agent in their place; false: they are only listed as missed calls.
    call_back_abandoned: bool = False
    # Duty roster shift pattern: "3x8" or "2x12". With no roster imported, nobody is held back.
    roster_pattern: str = "2x12"
    # The staffing gap: Erlang C staffs each hour for the mean arrivals of the same hour on the
    # same weekday of the last staffing_weeks weeks, at this handle time and service level
    # (answered within [metrics] answer_seconds).
    staffing_weeks: int = 4
    staffing_aht_seconds: float = 300.0
    staffing_service_level: float = 0.8

    def __post_init__(self) -> None:
        if self.staffing_weeks < 1:
            raise ConfigError("[routing] staffing_weeks: expected at least 1")
        if self.staffing_aht_seconds <= 0:
            raise ConfigError("[routing] staffing_aht_seconds: expected more than 0")
        if not 0 < self.staffing_service_level < 1:
            raise ConfigError("[routing] staffing_service_level: expected between 0 and 1")


@dataclass(frozen=True)
class MetricsConfig:
    # Service level and 15 s 接通率 count calls answered within this many seconds (GB/T 33358).
    answer_seconds: float = 15.0
    # Callers who hang up sooner than this are not counted as abandoned (nor in service level).
    short_abandon_seconds: float = 5.0
    # GET /metrics reuses the last 24 hours' figures computed less than this long ago (a busy
    # day's figures take seconds of CPU; Prometheus servers scrape every 15–60 s); 0 = never.
    scrape_reuse_seconds: float = 30.0


@dataclass(frozen=True)
class WallboardConfig:
    # Alert when a caller has waited this long (the 15 s of 15秒接通率).
    wait_alert_seconds: float = 15.0
    # Alert when an agent has been paused this long.
    pause_alert_minutes: float = 15.0
    # Alert when a queue has this many abandons (short ones excluded) within the window; 0: off.
    abandon_spike_count: int = 5
    abandon_spike_minutes: float = 10.0
    # Alert when a queue has no agent logged in serving it.
    no_agent_alert: bool = True
    # Alert when a case or command is still undelivered to the dispatch core after this long.
    forward_stuck_minutes: float = 10.0
    # Alert when a case's deadline is this close, and again once it has passed.
    case_warning_hours: float = 24.0
    # Today's and the last hour's figures are read from the call log at most this often.
    figures_seconds: float = 2.0
    # The outbox and the cases' deadlines are read this often.
    check_seconds: float = 30.0
    # The centre's policy: does the agent's page say that a lead is listening (监听), whispering
    # or barging in on their call? Off: only leads see it (whisper and barge are heard anyway).
    monitor_shown_to_agent: bool = False

    def __post_init__(self) -> None:
        for name in ("figures_seconds", "check_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"[wallboard] {name}: expected more than 0")


@dataclass(frozen=True)
class ReportsConfig:
    # 10分钟派遣率 counts cases the dispatch core took within this many minutes (资阳's target).
    forward_minutes: float = 10.0
    # A closed month's report is kept (snapshot) this long after the month ends.
    snapshot_after_hours: float = 2.0
    # High-frequency categories (高发问题) listed in a report.
    top_categories: int = 15


EVENT_LOOPS = ("asyncio", "uvloop")


@dataclass(frozen=True)
class MediaConfig:
    # Directory of caller prompts (see tools/make_prompts.sh for the names); empty = shipped.
    prompts_dir: str = ""
    # Seconds between queue position / estimated wait announcements.
    announce_seconds: float = 30.0
    # Offer "press 1 for a callback" when the estimated wait exceeds this; 0 never offers.
    callback_offer_above_seconds: float = 0.0
    # Record every bridged call as a stereo WAV (caller left, agent right) under this
    # directory; empty records nothing.
    recordings_dir: str = ""
    # When nobody is on duty or after hours, callers may leave a voicemail here (it becomes a
    # draft ticket); empty = no voicemail, such callers wait in the queue.
    voicemail_dir: str = ""
    voicemail_max_seconds: float = 120.0
    # Optional key menu, off when empty (GB/T 33358 discourages forced menus): "key=queue"
    # entries, e.g. ["1=12319", "2=12319-query"]; a caller pressing nothing joins the
    # dialled number's queue after menu_wait_seconds.
    menu: tuple[str, ...] = ()
    menu_wait_seconds: float = 5.0
    # Recordings older than this are deleted (checked hourly).
    recording_retention_days: int = 180
    # Where a bridged call's RTP flows: "embedded" (this process) or "rtpengine" (the
    # daemon at `rtpengine`, "host:port" of its ng control socket; see docs/ARCHITECTURE.md).
    engine: str = "embedded"
    rtpengine: str = ""
    # With rtpengine and recordings_dir: rtpengine's `recording-dir` (method pcap) as this
    # node sees it (the same directory, or a share of it when rtpengine runs elsewhere).
    rtpengine_recording_dir: str = ""
    # The process's event loop, where RTP is relayed: "asyncio" (the standard library's) or
    # "uvloop" (libuv, less CPU per packet; install the `uvloop` extra).
    event_loop: str = "asyncio"
    # Who relays a bridged call's RTP in the embedded engine: "native" (a thread of compiled
    # code, telephony/_rtprelay.c, built at install; Python takes over with a warning where it
    # could not be compiled) or "python" (the event loop, packet by packet).
    relay: str = "native"

    def __post_init__(self) -> None:
        if self.relay not in ("native", "python"):
            raise ConfigError(f"[media] relay: expected native or python, got {self.relay!r}")
        if self.event_loop not in EVENT_LOOPS:
            raise ConfigError(
                f"[media] event_loop: expected asyncio or uvloop, got {self.event_loop!r}"
            )
        if self.engine not in ("embedded", "rtpengine"):
            raise ConfigError(
                f"[media] engine: expected embedded or rtpengine, got {self.engine!r}"
            )
        if self.engine == "rtpengine":
            if self.rtpengine_address is None:
                raise ConfigError("[media] rtpengine: host:port of its ng socket is required")
            if self.recordings_dir and not self.rtpengine_recording_dir:
                # The bridged audio no longer passes through this process: rtpengine records
                # it, and the node turns rtpengine's capture into the WAV.
                raise ConfigError(
                    "[media] rtpengine_recording_dir: required to record with engine rtpengine"
                )

    @property
    def rtpengine_address(self) -> tuple[str, int] | None:
        return _host_port(self.rtpengine, "[media] rtpengine")


@dataclass(frozen=True)
class SurveyConfig:
    # The post-call survey (好差评): when the agent hangs up, a caller still on the line is
    # asked to press 1 满意, 2 基本满意 or 3 不满意 (RFC 4733 or SIP INFO).
    enabled: bool = False
    # Seconds after the question ends before a caller who pressed nothing is hung up (未评价).
    timeout_seconds: float = 8.0


@dataclass(frozen=True)
class AdmissionConfig:
    # Daily opening hours in the centre's time zone, e.g. "08:00-20:00"; empty = 24 hours.
    opening_hours: str = ""
    # Callers waiting in one queue before new ones hear a message and get 486; 0 = no cap.
    max_waiting_per_queue: int = 0


@dataclass(frozen=True)
class NlpConfig:
    # A city's own classifier data: any of departments.csv, management_items.csv, rules.toml
    # and userdict.txt found here replaces the shipped file (see docs/CLASSIFICATION.md).
    data_dir: str = ""
    # Category → department mapping of this city, "CODE=DEPARTMENT[|DEPARTMENT]", e.g.
    # ["01001=WATER", "200404=MUNICIPAL|WATER_AFFAIRS"]; it replaces the shipped default.
    category_departments: tuple[str, ...] = ()
    # Who decides unclear ownership (确权): offered beside the suggestion when the text names
    # a 确权 gap, and selectable as the ticket's department.
    coordinator_code: str = "COORDINATION"
    coordinator_name: str = "数字城管指挥中心（确权协调）"
    # Written by `hotline nlp train`; the server picks up a new file within a minute.
    # Empty: rules only, no learned model.
    model_path: str = "var/nlp-model.json"
    # Share of the learned model in a department score (0 = rules only, 1 = model only).
    model_weight: float = 0.6
    # Open tickets this many days back are checked for a repeat (并单) of the one being written.
    repeat_days: int = 7
    # Text similarity (0–1) above which two descriptions are taken for the same matter.
    repeat_similarity: float = 0.55


@dataclass(frozen=True)
class GuardConfig:
    # Per source address (IPv6: per /64), at most this many SIP datagrams in window_seconds
    # (Kamailio pike's defaults: reqs_density_per_unit 30, sampling_time_unit 2); 0: no limit.
    requests_per_window: int = 30
    window_seconds: float = 2.0
    # A source over the limit is then ignored this long (nothing it sends is answered); 0 drops
    # only what is over the limit.
    block_seconds: float = 60.0
    # Larger UDP datagrams are dropped (a request that says where to answer gets 513); 0: off.
    max_message_bytes: int = 8192
    # User-Agent fragments (any case) of SIP scanners, dropped unanswered; [] checks none.
    scanner_user_agents: tuple[str, ...] = SCANNER_USER_AGENTS
    # Never blocked for their rate, besides [sip] trunk_peers: addresses or networks, e.g. the
    # office NAT all agent phones register through.
    exempt_sources: tuple[str, ...] = ()
    # Nor is an address an agent phone is registered from (so a forged flood cannot block it).
    exempt_registered_phones: bool = True
    # Sources remembered at once (bounded memory under a flood from forged addresses).
    max_sources: int = 10000


@dataclass(frozen=True)
class RegisterLockoutConfig:
    # Failed REGISTER digest answers (wrong password or unknown account, counted alike) lock
    # further tries out for lockout_seconds: account_failures for one account, or
    # source_failures from one source address, within window_seconds (fail2ban's asterisk
    # jail: maxretry / findtime / bantime) ...
    account_failures: int = 10
    source_failures: int = 20
    window_seconds: float = 600.0
    # ... or, against slow sweeps under those limits, this many within long_window_seconds.
    account_long_failures: int = 30
    source_long_failures: int = 100
    long_window_seconds: float = 86400.0
    lockout_seconds: float = 1800.0
    # Accounts and addresses remembered at once (bounded memory); 0 in a count turns it off.
    max_tracked: int = 10000


@dataclass(frozen=True)
class CasesConfig:
    # Time limits (工单时限): a saved case reaches the dispatch core within forward_minutes;
    # urgent matters in urgent_hours (clock hours); a ticket with no management-item category
    # (咨询, 建议) in consult_working_days; others in general_working_days, or per category as
    # "CODE=WORKING_DAYS" entries (code or prefix; the longest match wins).
    forward_minutes: float = 10.0
    urgent_hours: float = 2.0
    consult_working_days: int = 3
    general_working_days: int = 5
    category_limits: tuple[str, ...] = ()
    # A department may 退单 within this many working days of 派遣 (later ones are marked late).
    return_working_days: int = 1
    # 延期: at most max_extensions, each of at most max_extension_working_days.
    max_extensions: int = 3
    max_extension_working_days: int = 3
    # 催办 this many working days before a working-day deadline; for hour limits (and limits
    # too short for that) when remind_share of the time has gone. 督办 when it passes.
    remind_working_days_before: int = 1
    remind_share: float = 0.75
    # How often the 催办/督办 scheduler looks for due reminders at most (it also wakes for the
    # next one due).
    scheduler_seconds: float = 30.0
    # 回访: within visit_working_days of 结案; 未接通 retried visit_attempts times in all,
    # visit_retry_minutes apart; offered to agents at visit_priority (calls are 0 and up, so a
    # negative value serves every waiting call first).
    visit_working_days: int = 2
    visit_attempts: int = 3
    visit_retry_minutes: float = 120.0
    visit_priority: int = -1
    # Largest status event body accepted from the dispatch core or 12345.
    max_event_bytes: int = 16384


@dataclass(frozen=True)
class HandoffConfig:
    # Cases transferred from the 12345 platform arrive at POST /api/handoff/12345 signed with
    # this secret (HMAC-SHA256 of the body, X-Hotline-Signature); "" refuses every hand-off.
    secret: str = ""
    # Where a case sent back (退回) to 12345 is POSTed (signed with the same secret);
    # "" keeps 退回 off.
    return_url: str = ""
    # The hotline (queue) a transferred case is filed under.
    hotline: str = "12319"


@dataclass(frozen=True)
class EmergencyConfig:
    # Where a caller with an emergency is handed (国办函〔2025〕66号), "SERVICE=NUMBER" dialled
    # at [sip] outbound_proxy; the console offers them with one click. [] turns it off.
    numbers: tuple[str, ...] = ("110=110", "119=119", "120=120", "122=122")
    # blind (the agent leaves) or three_way (the agent stays to hand the matter over).
    mode: str = "three_way"

    @property
    def directory(self) -> dict[str, str]:
        """Service (110, 119, 120, 122) → the number to dial."""
        found: dict[str, str] = {}
        for entry in self.numbers:
            service, sep, number = entry.partition("=")
            if not sep or not service.strip() or not number.strip():
                raise ConfigError(f"[emergency] numbers: {entry!r} is not SERVICE=NUMBER")
            found[service.strip()] = number.strip()
        if self.mode not in ("blind", "three_way"):
            raise ConfigError("[emergency] mode must be blind or three_way")
        return found


@dataclass(frozen=True)
class RetentionConfig:
    # Citizens' personal data is kept this many days, then erased; 0 keeps it for ever.
    # A ticket's caller name, phone and address (the case itself stays, masked):
    ticket_personal_days: int = 1095
    # Call records (with the caller's number), their events and missed-call entries; at least
    # [media] recording_retention_days, since a recording needs its call:
    calls_days: int = 730
    # The call event log alone (statistics read the calls, not their events):
    call_events_days: int = 365
    # The payload of a case delivered to the dispatch core, counted from its delivery:
    outbox_payload_days: int = 30
    # The server runs retention daily at this local time (the centre's time zone).
    run_at: str = "03:30"


@dataclass(frozen=True)
class BackupConfig:
    # Where backups are written; empty: the server makes none (`hotline backup` still can).
    dir: str = ""
    # Daily at this local time: an incremental backup, or the month's full one on full_day.
    run_at: str = "02:30"
    full_day: int = 1
    # Full backups kept (months); incrementals are kept while their full one is.
    keep_full: int = 12


# pg_try_advisory_lock takes a signed 64-bit key.
LEASE_KEYS = range(-(2**63), 2**63)


@dataclass(frozen=True)
class ClusterConfig:
    # Several `hotline serve` nodes on one PostgreSQL database: the one holding the advisory
    # lock lease_key is active and runs everything; the others are standbys (their SIP port
    # closed, every console request answered 503) until the lock is theirs. Off: one node.
    enabled: bool = False
    lease_key: int = 72319
    # How often a standby tries to take the lease, and the active checks it still holds it.
    poll_seconds: float = 0.5
    # This node's name in logs, /healthz and /metrics; empty: the host name.
    node_name: str = ""

    def __post_init__(self) -> None:
        if self.lease_key not in LEASE_KEYS:
            raise ConfigError("[cluster] lease_key: expected a signed 64-bit integer")
        if self.poll_seconds <= 0:
            raise ConfigError("[cluster] poll_seconds: expected more than 0")

    @property
    def node(self) -> str:
        return self.node_name or socket.gethostname()


DEMO_DISPATCH_PATH = "/demo/dispatch-core/cases"


@dataclass(frozen=True)
class DemoConfig:
    # Serve a stand-in dispatch core at /demo/dispatch-core/cases (for `make run` only).
    dispatch_sink: bool = False
    # The stand-in reports status back (派遣 … 结案) about this many seconds apart; 0: never.
    event_delay_seconds: float = 8.0


@dataclass(frozen=True)
class HotlineConfig:
    centre: CentreConfig = field(default_factory=CentreConfig)
    sip: SipConfig = field(default_factory=SipConfig)
    trunk: TrunkConfig = field(default_factory=TrunkConfig)
    # Dialled number → queue name.
    hotlines: Mapping[str, str] = field(
        default_factory=lambda: {"12319": "12319", "96198": "96198"}
    )
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    cases: CasesConfig = field(default_factory=CasesConfig)
    handoff: HandoffConfig = field(default_factory=HandoffConfig)
    emergency: EmergencyConfig = field(default_factory=EmergencyConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    wallboard: WallboardConfig = field(default_factory=WallboardConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    survey: SurveyConfig = field(default_factory=SurveyConfig)
    admission: AdmissionConfig = field(default_factory=AdmissionConfig)
    nlp: NlpConfig = field(default_factory=NlpConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)
    register_lockout: RegisterLockoutConfig = field(default_factory=RegisterLockoutConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)

    def __post_init__(self) -> None:
        if self.cluster.enabled and not self.database.url.startswith("postgresql"):
            raise ConfigError(
                "[cluster] enabled: the nodes share one PostgreSQL database, "
                "[database] url must be postgresql+asyncpg://…"
            )

    @property
    def dispatch_url(self) -> str:
        """Where cases go: [dispatch] url, else the demo stand-in at the console's own address."""
        if self.dispatch.url:
            return self.dispatch.url
        if not self.demo.dispatch_sink:
            raise ConfigError("[dispatch] url: where to forward cases is required")
        host = self.console.host
        if host in {"", "0.0.0.0", "::"}:
            host = "127.0.0.1"  # listening everywhere: reach it on loopback
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.console.port}{DEMO_DISPATCH_PATH}"

    @property
    def queues(self) -> tuple[str, ...]:
        """Every queue named by a hotline, in first-seen order."""
        return tuple(dict.fromkeys(self.hotlines.values()))

    def replace(self, **sections: Any) -> HotlineConfig:
        """A copy with whole sections replaced or keys changed, e.g. replace(sip={"port": 0})."""
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            current = getattr(self, name)
            if isinstance(value, dict) and dataclasses.is_dataclass(current):
                changes[name] = dataclasses.replace(current, **value)  # type: ignore[type-var]
            else:
                changes[name] = value
        return dataclasses.replace(self, **changes)


def _convert(value: Any, annotation: Any, where: str) -> Any:
    """Turn a TOML value or an environment string into the field's declared type."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if annotation in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return annotation(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if annotation is str:
        if not isinstance(value, (str, int)):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return str(value)
    if origin is tuple:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(str(item) for item in value)
    raise ConfigError(f"{where}: unsupported type {annotation!r}")


def _build_section(cls: type[Any], values: Mapping[str, Any], section: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"[{section}]: unknown key(s) {', '.join(sorted(unknown))}")
    kwargs = {
        name: _convert(value, hints[name], f"[{section}] {name}") for name, value in values.items()
    }
    return cls(**kwargs)


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> HotlineConfig:
    """Read the TOML file (if any) and apply HOTLINE_<SECTION>_<KEY> overrides."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc

    section_types = {f.name: f for f in dataclasses.fields(HotlineConfig) if f.name != "hotlines"}
    unknown = set(raw) - set(section_types) - {"hotlines"}
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(sorted(unknown))}")

    sections: dict[str, dict[str, Any]] = {name: dict(raw.get(name, {})) for name in section_types}
    hotlines: dict[str, str] | None = (
        {str(k): str(v) for k, v in raw["hotlines"].items()} if "hotlines" in raw else None
    )

    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        rest = key[len(ENV_PREFIX) :]
        if rest.startswith("HOTLINES_"):
            if hotlines is None:
                hotlines = dict(HotlineConfig().hotlines)
            hotlines[rest[len("HOTLINES_") :]] = value
            continue
        for name in section_types:
            prefix = name.upper() + "_"
            if rest.startswith(prefix):
                sections[name][rest[len(prefix) :].lower()] = value
                break

    kwargs: dict[str, Any] = {}
    for name in section_types:
        section_cls = typing.get_type_hints(HotlineConfig)[name]
        kwargs[name] = _build_section(section_cls, sections[name], name)
    if hotlines is not None:
        if not hotlines:
            raise ConfigError("[hotlines]: at least one dialled number is needed")
        kwargs["hotlines"] = hotlines
    return HotlineConfig(**kwargs)


SECRET_KEYS = ("password", "secret")


def _hide_credentials(url: str) -> str:
    """A URL without the password in its user part."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def redacted(config: HotlineConfig) -> dict[str, Any]:
    """The whole configuration for an admin to read: secrets shown only as set or not."""
    view: dict[str, Any] = {}
    for section in dataclasses.fields(config):
        value = getattr(config, section.name)
        if not dataclasses.is_dataclass(value):
            view[section.name] = dict(value)
            continue
        keys: dict[str, Any] = {}
        for key in (f.name for f in dataclasses.fields(value)):
            item = getattr(value, key)
            if any(word in key for word in SECRET_KEYS):
                keys[key] = "***" if item else ""
            elif key == "url" and isinstance(item, str):
                keys[key] = _hide_credentials(item)
            else:
                keys[key] = list(item) if isinstance(item, tuple) else item
        view[section.name] = keys
    return view
