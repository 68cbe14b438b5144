"""The composition root: builds every part from the config and ties their lifetimes to the app."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from agent_console import admin_api as admin_routes
from agent_console import call_control_api, desk_api, monitor_api
from agent_console import nlp_api as nlp_routes
from agent_console import recordings as recording_routes
from agent_console import reports_api as report_routes
from agent_console import roster_api as roster_routes
from agent_console import wallboard_api as wallboard_routes
from agent_console.app import ConsoleOptions, WebsocketLimits, create_app
from agent_console.case_api import CaseApi, add_case_routes
from agent_console.dial_api import DialApi, add_dial_routes
from agent_console.duty_api import add_duty_routes
from agent_console.metrics import (
    ScrapeFigures,
    media_engine_key,
    scrape_figures_key,
    sip_guard_key,
)
from agent_console.notifier import Notifier
from agent_console.services import ConsoleServices
from agent_console.ws import presence_key
from cases import EventType
from dispatch import OutboxSender
from dispatch.sender import Target
from hotline import cluster
from hotline.accounts import Accounts
from hotline.audit import AuditEntry, AuditLog
from hotline.backup import FULL, backups_in, engine_of, kind_due, prune, take_backup
from hotline.call_control import CallControls
from hotline.caller_setup import caller_media_options, key_menu
from hotline.case_log import Appended, CaseLog
from hotline.case_policy import deadline_policy
from hotline.case_scheduler import RESCHEDULING, CaseScheduler
from hotline.case_updates import CaseUpdates
from hotline.classification import ModelWatcher, build_classifier, console_departments
from hotline.click_to_call import ClickToCall
from hotline.config import DEMO_DISPATCH_PATH, HotlineConfig
from hotline.db import create_engine, session_factory
from hotline.demo_sink import add_demo_dispatch_core
from hotline.dial_outcomes import TaskOutcomes
from hotline.duty import DutyRoster
from hotline.guard_setup import register_lockout, sip_guard
from hotline.job_runs import JobRuns
from hotline.missed_calls import MissedCalls, MissedCallView, changed_message
from hotline.models import OutboxMessage
from hotline.monitoring import CallMonitoring
from hotline.phone_bindings import restore_bindings
from hotline.presence_watch import PresenceWatch, phone_status
from hotline.queue_rules import queue_settings
from hotline.recordings import RecordingArchive
from hotline.report_jobs import ReportJobs
from hotline.reporting import ReportService, report_settings
from hotline.retention import Retention, RetentionPolicy
from hotline.schedule import DailyJob, parse_time_of_day
from hotline.staffing_board import StaffingBoard
from hotline.statistics import Statistics
from hotline.switchboard import Switchboard
from hotline.tickets import TicketService
from hotline.wallboard_feed import WallboardFeed
from nlp import Classifier
from nlp.emergency import SERVICES
from routing import RoutingEngine
from routing.metrics import MetricsOptions
from routing.roster import Roster
from routing.staffing_gap import StaffingTarget
from telephony import native_relay
from telephony.events import (
    CallEnded,
    MonitorChanged,
    OutboundEnded,
    OutboundProgress,
    OutboundRecorded,
    TelephonyEvent,
)
from telephony.gateway import SipGateway
from telephony.media import DEFAULT_GREETING, MediaEngine, Prompt
from telephony.media_relay import DirectMedia, MediaRelay, RtpengineRelay
from telephony.ng import NgClient
from telephony.registrar import Registrar
from telephony.rtpengine_recording import RtpengineRecordings
from telephony.survey import SurveyOptions
from telephony.trunk_binding import TrunkAccount
from telephony.upstream import UpstreamTrunk
from wallboard import AlertRules

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class System:
    """Every part of a running hotline, reachable for the CLI and tests."""

    config: HotlineConfig
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    accounts: Accounts
    tickets: TicketService
    classifier: Classifier
    notifier: Notifier
    switchboard: Switchboard
    media: MediaEngine
    gateway: SipGateway
    sender: OutboxSender
    reports: ReportService
    cases: CaseLog
    scheduler: CaseScheduler
    app: web.Application = field(init=False)


def upstream_trunk(config: HotlineConfig) -> UpstreamTrunk | None:
    """The numbers to register at `[trunk] register_to`; None when that is empty."""
    trunk = config.trunk
    registrar = trunk.registrar_address
    if registrar is None:
        return None
    domain = trunk.domain or (f"[{registrar[0]}]" if ":" in registrar[0] else registrar[0])
    # A named domain is resolved by the registrar itself; its own address goes with its port.
    port = None if trunk.domain else registrar[1]
    accounts = tuple(
        TrunkAccount(number, domain, trunk.username or number, trunk.password, trunk.expires, port)
        for number in trunk.numbers or tuple(config.hotlines)
    )
    return UpstreamTrunk(registrar, accounts)


def build_system(config: HotlineConfig, clock: Callable[[], datetime] = utc_now) -> System:
    """Construct everything (no sockets opened, no database touched)."""
    engine = create_engine(config.database.url)
    sessions = session_factory(engine)
    accounts = Accounts(
        sessions,
        config.sip.realm,
        config.console.session_hours,
        config.console.session_idle_minutes,
    )
    classifier = build_classifier(config.nlp)
    # What a ticket may be routed to: the classifier's departments and the 确权 coordinator.
    departments = console_departments(classifier, config.nlp)
    cases = CaseLog(sessions, deadline_policy(config), clock)
    tickets = TicketService(sessions, config.centre.timezone, classifier, cases)
    model_watcher = (
        ModelWatcher(classifier, Path(config.nlp.model_path)) if config.nlp.model_path else None
    )
    notifier = Notifier()
    menu = key_menu(config.media.menu)
    routing = RoutingEngine(
        dict.fromkeys([*config.queues, *menu.values()]),
        timedelta(seconds=config.routing.wrap_up_seconds),
        config.routing.missed_offers_before_pause,
        queue_settings(config.routing, config.queues),
    )
    duty = DutyRoster(sessions, config.routing.roster_pattern, config.centre.timezone)
    switchboard = Switchboard(
        routing,
        sessions,
        notifier,
        clock,
        priority_numbers=config.routing.priority_numbers,
        timezone=config.centre.timezone,
        duty=duty,
        repeat_caller_days=config.routing.repeat_caller_days,
        call_back_abandoned=config.routing.call_back_abandoned,
    )

    def announce_missed(view: MissedCallView) -> None:
        notifier.to_all(changed_message(view))

    switchboard.announce_missed = announce_missed
    missed = MissedCalls(sessions, announce_missed)
    # The transfer directory, with the emergency services the console offers in one click.
    emergencies = config.emergency.directory
    directory = {
        **config.sip.transfer_directory,
        **{
            f"{service} {SERVICES.get(service, '')}".strip(): n
            for service, n in emergencies.items()
        },
    }
    greeting = Path(config.sip.greeting) if config.sip.greeting else DEFAULT_GREETING
    native = config.media.relay == "native" and native_relay.available()
    if config.media.relay == "native" and not native:
        log.warning("the native RTP relay is not compiled here; RTP is relayed in Python")
    media = MediaEngine(
        config.sip.host,
        config.sip.rtp_port_min,
        config.sip.rtp_port_max,
        Prompt.from_wav(greeting),
        native=native,
    )
    rtpengine = config.media.rtpengine_address if config.media.engine == "rtpengine" else None
    relay: MediaRelay = DirectMedia()
    if rtpengine is not None:
        spool = config.media.rtpengine_recording_dir
        recordings = RtpengineRecordings(Path(spool)) if spool else None
        relay = RtpengineRelay(NgClient(rtpengine), recordings)
    registrar = Registrar()
    guard = sip_guard(config, registrar)
    dials = ClickToCall(
        sessions,
        notifier,
        clock,
        lambda order: gateway.originate(order),
        TaskOutcomes(cases, switchboard, clock),
        lambda dial_id: gateway.outbound.cancel(dial_id),
    )

    monitoring = CallMonitoring(
        switchboard,
        notifier,
        lambda call_id, lead_id, mode: gateway.monitor(call_id, lead_id, mode),
        lambda call_id, lead_id: gateway.stop_monitor(call_id, lead_id),
        config.wallboard.monitor_shown_to_agent,
    )

    def on_telephony_event(event: TelephonyEvent) -> None:
        if isinstance(event, OutboundProgress | OutboundEnded | OutboundRecorded):
            dials.on_event(event)
        elif isinstance(event, MonitorChanged):
            monitoring.on_event(event)
        else:
            if isinstance(event, CallEnded):
                monitoring.on_event(event)  # while the switchboard still knows the agent
            switchboard.on_telephony_event(event)

    gateway = SipGateway(
        host=config.sip.host,
        port=config.sip.port,
        advertised_host=config.sip.media_host,
        realm=config.sip.realm,
        nonce_secret=(config.sip.nonce_secret or secrets.token_hex(16)).encode(),
        is_trunk_peer=config.sip.is_trunk_peer,
        hotlines=config.hotlines,
        credentials=accounts.sip_ha1,
        media=media,
        on_event=on_telephony_event,
        clock=clock,
        agent_ring_seconds=config.sip.agent_ring_seconds,
        max_unacknowledged=config.sip.max_unacknowledged_answers,
        caller_media=caller_media_options(config, switchboard, clock),
        outbound_proxy=config.sip.outbound_address,
        transfer_numbers=directory.values(),
        outbound_credentials=config.sip.outbound_credentials,
        upstream=upstream_trunk(config),
        guard=guard,
        registrar=registrar,
        lockout=register_lockout(config),
        survey=SurveyOptions(config.survey.enabled, config.survey.timeout_seconds),
        relay=relay,
    )
    switchboard.connect_gateway(gateway.ring_agent)
    switchboard.wrap_up_extension = timedelta(seconds=config.routing.wrap_up_extend_seconds)
    switchboard.wrap_up_longest = timedelta(seconds=config.routing.wrap_up_max_seconds)
    switchboard.connect_transfers(
        gateway.transfer,
        directory,
        emergencies,
        config.emergency.mode,
        gateway.finish_consultation,
    )

    async def delivered(row: OutboxMessage) -> None:
        if row.kind == "case":
            await cases.forwarded(row.idempotency_key)

    sender = OutboxSender(
        sessions,
        config.dispatch_url,
        config.dispatch.secret,
        config.dispatch.timeout_seconds,
        config.dispatch.max_backoff_seconds,
        clock,
        targets={"12345": Target(config.handoff.return_url, config.handoff.secret)},
        on_delivered=delivered,
    )
    reports = ReportService(sessions, report_settings(config, departments), clock)
    job_runs = JobRuns(sessions)  # each scheduled run once, whichever nodes share the database
    report_jobs = ReportJobs(reports, runs=job_runs, clock=clock)
    scheduler = CaseScheduler(
        sessions,
        cases,
        clock,
        config.cases.scheduler_seconds,
        config.hotlines,
        switchboard.offer_visit,
        config.cases.visit_priority,
    )
    updates = CaseUpdates(notifier)

    def case_changed(appended: Appended) -> None:
        updates.publish(appended)
        sender.wake()
        if appended.event.type is EventType.CORE_CLOSED:
            scheduler.offer_visit_now(appended.record)
        elif appended.event.type in RESCHEDULING:
            scheduler.wake()

    cases.subscribe(case_changed)
    system = System(
        config,
        engine,
        sessions,
        accounts,
        tickets,
        classifier,
        notifier,
        switchboard,
        media,
        gateway,
        sender,
        reports,
        cases,
        scheduler,
    )

    async def health() -> dict[str, bool]:
        database = True
        try:
            async with engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=2)
        except Exception:
            database = False
        return {"sip": gateway.running, "database": database, "sender": sender.running}

    audit = AuditLog(sessions)
    app = create_app(
        options=ConsoleOptions(
            hotlines=tuple(config.hotlines),
            pause_reasons=config.routing.pause_reasons,
            departments=departments,
            secure_cookies=config.console.secure_cookies,
            session_hours=config.console.session_hours,
            clock=clock,
            websocket=WebsocketLimits(
                config.console.ws_per_session,
                config.console.ws_max_message_bytes,
                config.console.ws_messages_per_second,
                config.console.ws_message_burst,
            ),
            trusted_proxies=config.console.trusted_proxies,
        ),
        notifier=notifier,
        health=health,
        services=ConsoleServices(
            accounts,
            tickets,
            classifier,
            switchboard,
            Statistics(
                sessions,
                MetricsOptions(config.metrics.answer_seconds, config.metrics.short_abandon_seconds),
                Roster.of_pattern(config.routing.roster_pattern, [], config.centre.timezone),
            ),
            sender.wake,
            gateway.trunk_status,
            lambda agent_id: phone_status(registrar, agent_id),
        ),
        audit=audit,
    )
    admin_routes.add_routes(app, admin_routes.AdminOptions(config, clock))
    archive = RecordingArchive(sessions, config.media.recording_retention_days, clock)
    retention = Retention(sessions, RetentionPolicy.of(config), archive)
    zone = ZoneInfo(config.centre.timezone)

    async def retention_run(now: datetime) -> None:
        counts = await retention.run(now)
        log.info("retention run", extra=counts)
        await audit.record(
            AuditEntry(now, "system", "system", "retention.run", "database", "", "daily", counts)
        )

    daily_jobs = [
        DailyJob(
            "retention",
            retention_run,
            parse_time_of_day(config.retention.run_at, "[retention] run_at"),
            zone,
            clock,
            runs=job_runs,
        )
    ]
    if config.backup.dir:
        folder = Path(config.backup.dir)
        backup_engine = engine_of(config.database.url)

        async def backup_run(now: datetime) -> None:
            fulls = [b.taken_at for b in backups_in(folder, backup_engine) if b.kind == FULL]
            kind = kind_due(now, zone, config.backup.full_day, fulls)
            made = await asyncio.to_thread(take_backup, config.database.url, folder, kind, now)
            pruned = await asyncio.to_thread(prune, folder, backup_engine, config.backup.keep_full)
            log.info("backup written", extra={"path": str(made.path), "pruned": len(pruned)})
            await audit.record(
                AuditEntry(
                    now,
                    "system",
                    "system",
                    "backup.run",
                    "database",
                    made.path.name,
                    "daily",
                    {"kind": made.kind, "pruned": [p.name for p in pruned]},
                )
            )

        daily_jobs.append(
            DailyJob(
                "backup",
                backup_run,
                parse_time_of_day(config.backup.run_at, "[backup] run_at"),
                zone,
                clock,
                runs=job_runs,
            )
        )
    recording_routes.add_routes(app, archive)
    board = config.wallboard
    feed = WallboardFeed(
        switchboard,
        sessions,
        notifier,
        accounts,
        clock,
        AlertRules(
            wait_seconds=board.wait_alert_seconds,
            pause_seconds=board.pause_alert_minutes * 60,
            abandon_count=board.abandon_spike_count,
            abandon_window_seconds=board.abandon_spike_minutes * 60,
            no_agent=board.no_agent_alert,
            forward_stuck_seconds=board.forward_stuck_minutes * 60,
            case_warning_hours=board.case_warning_hours,
        ),
        MetricsOptions(config.metrics.answer_seconds, config.metrics.short_abandon_seconds),
        config.centre.timezone,
        board.figures_seconds,
        board.check_seconds,
        monitoring.active,
    )
    monitoring.watch(feed.changed)
    wallboard_routes.add_routes(app, feed)
    monitor_api.add_routes(app, monitoring)
    app[sip_guard_key] = guard
    app[media_engine_key] = media
    app[scrape_figures_key] = ScrapeFigures(config.metrics.scrape_reuse_seconds)
    add_duty_routes(app, duty, missed, switchboard, clock)
    staffing = StaffingTarget(
        aht_seconds=config.routing.staffing_aht_seconds,
        service_level=config.routing.staffing_service_level,
        answer_seconds=config.metrics.answer_seconds,
        weeks=config.routing.staffing_weeks,
    )
    roster_routes.add_routes(
        app,
        roster_routes.RosterEditor(
            duty,
            StaffingBoard(sessions, duty, staffing, config.centre.timezone),
            accounts,
            switchboard,
            clock,
        ),
    )
    add_dial_routes(app, DialApi(dials, switchboard, missed, clock))
    call_control_api.add_routes(app, CallControls(switchboard, notifier, gateway.control))
    desk_api.add_routes(app)
    report_routes.add_routes(app, reports)
    nlp_routes.add_routes(
        app,
        nlp_routes.NlpServices(classifier, sessions, config.nlp, departments, clock),
    )
    add_case_routes(
        app,
        CaseApi(
            cases,
            tickets,
            sender,
            switchboard,
            config.dispatch.secret,
            config.handoff,
            config.cases.max_event_bytes,
            departments,
            tuple(config.hotlines),
            clock,
            scheduler.wake,
        ),
    )
    if config.demo.dispatch_sink:
        events_url = config.dispatch_url.replace(DEMO_DISPATCH_PATH, "/api/dispatch/events")
        add_demo_dispatch_core(
            app,
            config.dispatch.secret,
            lambda: events_url,
            config.demo.event_delay_seconds,
        )

    presence = PresenceWatch(
        timedelta(seconds=config.console.presence_grace_seconds), switchboard, audit, clock
    )
    app[presence_key] = presence

    async def lifetime(_app: web.Application) -> AsyncIterator[None]:
        await switchboard.restore()
        await switchboard.start()
        await presence.start()
        # Phones registered before a restart are reachable before the gateway takes a call.
        await restore_bindings(sessions, registrar, clock(), asyncio.get_running_loop().time())
        await gateway.start()
        await sender.start()
        await scheduler.start()
        await feed.start()
        await archive.start()
        for job in daily_jobs:
            job.start()
        await report_jobs.start()
        if model_watcher is not None:
            await model_watcher.start()
        try:
            yield
        finally:
            if model_watcher is not None:
                await model_watcher.stop()
            for job in daily_jobs:
                await job.stop()
            await report_jobs.stop()
            await archive.stop()
            await gateway.stop(config.sip.drain_seconds)
            await dials.synced()
            await scheduler.stop()
            await feed.stop()
            await sender.stop()
            await presence.stop()
            await switchboard.stop()
            await engine.dispose()

    app.cleanup_ctx.append(lifetime)
    system.app = app
    return system


async def serve(
    config: HotlineConfig, ready: Callable[[System], None] | None = None, migrate: bool = False
) -> None:
    """Run gateway, console and sender in this process until cancelled (Ctrl-C, SIGTERM).

    With [cluster] enabled the node first waits as a standby until it holds the lease (only
    then is the database migrated); should the lease be lost it stops and raises LeaseLost."""
    system = build_system(config)
    lease = await cluster.wait_until_active(config) if config.cluster.enabled else None
    try:
        if migrate:
            import migrations

            await asyncio.to_thread(migrations.upgrade, config.database.url)
        if lease is not None:
            cluster.mark_active(system.app, lease)
            lease.watch()
        runner = web.AppRunner(system.app, handle_signals=True, shutdown_timeout=10)
        await runner.setup()
        site = web.TCPSite(runner, config.console.host, config.console.port)
        await site.start()
        if ready is not None:
            ready(system)
        try:
            await (lease.lost() if lease is not None else asyncio.Event().wait())
        finally:
            if lease is not None and lease.is_lost:
                await cluster.fenced_shutdown(runner.cleanup(), config)
            else:
                await runner.cleanup()
    finally:
        if lease is not None:
            await lease.release()  # only now may a standby take over
    # Only a lost lease ends the wait without a cancellation.
    raise cluster.LeaseLost(lease.lost_reason if lease is not None else "")
