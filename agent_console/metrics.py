"""Statistics for shift leads (JSON) and for Prometheus (text exposition)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import timedelta

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent_console import schemas
from agent_console.app import ApiError, cluster_key, options_key, services_key
from agent_console.http import current
from agent_console.openapi import operation
from agent_console.recordings import archive_key
from agent_console.wallboard_api import wallboard_key
from hotline.recordings import StorageCheck
from hotline.statistics import Window, figures_json, shifts_json
from telephony import recording
from telephony.guard import DropReason, GuardFigures, SipGuard
from telephony.media import MediaEngine, MediaErrors
from telephony.recording import RecordingFigures
from telephony.trunk_binding import TrunkStatus
from wallboard import AlertKind

MAX_HOURS = 24 * 31
# Prometheus gets the last 24 hours: the window of GB/T 33358's 接通率.
PROMETHEUS_WINDOW = timedelta(hours=24)

sip_guard_key = web.AppKey("sip_guard", SipGuard)
media_engine_key = web.AppKey("media_engine", MediaEngine)


class ScrapeFigures:
    """The last 24 hours' figures of GET /metrics, kept for `reuse_seconds`: on a busy day
    they take seconds of CPU, and two Prometheus servers (or a short interval) need not pay
    that at every scrape. Scrapes at the same moment wait for one computation."""

    def __init__(self, reuse_seconds: float) -> None:
        self.reuse_seconds = reuse_seconds
        self._lock = asyncio.Lock()
        self._at = -math.inf
        self._figures: Window | None = None

    async def get(self, compute: Callable[[], Awaitable[Window]]) -> Window:
        async with self._lock:
            now = asyncio.get_running_loop().time()
            if self._figures is None or now - self._at >= self.reuse_seconds:
                self._figures = await compute()
                self._at = now
            return self._figures


scrape_figures_key = web.AppKey("scrape_figures", ScrapeFigures)


class MediaCollector(Collector):
    """Media errors kept to one leg, restarts of the shared 20 ms clock, and what the
    recording worker could not keep up with."""

    def __init__(
        self,
        errors: MediaErrors,
        recording: RecordingFigures | None = None,
        relay_backlog_dropped: int = 0,
    ) -> None:
        self._errors = errors
        self._recording = recording if recording is not None else RecordingFigures()
        self._backlog_dropped = relay_backlog_dropped

    def collect(self) -> Iterator[Metric]:
        errors = CounterMetricFamily(
            "hotline_media_leg_errors",
            "RTP errors confined to one call leg, by kind (send, frame)",
            labels=["kind"],
        )
        errors.add_metric(["send"], self._errors.send)
        errors.add_metric(["frame"], self._errors.frame)
        yield errors
        yield CounterMetricFamily(
            "hotline_media_clock_restarts",
            "Times the shared media clock died of an error and was restarted",
            value=self._errors.clock_restarts,
        )
        yield CounterMetricFamily(
            "hotline_media_relay_backlog_dropped_packets",
            "RTP packets the native relay thread dropped because the event loop had not taken"
            " the earlier ones (legs not bridged: prompts, queue, key menus)",
            value=self._backlog_dropped,
        )
        recording = self._recording
        yield CounterMetricFamily(
            "hotline_recording_dropped_packets",
            "RTP packets left out of recordings because the recording worker was too far behind",
            value=recording.dropped_packets,
        )
        yield CounterMetricFamily(
            "hotline_recording_write_errors",
            "Recordings whose file could not be written",
            value=recording.write_errors,
        )


class AlertCollector(Collector):
    """Alerts raised for the shift leads since the process started, by kind."""

    def __init__(self, raised: Mapping[AlertKind, int]) -> None:
        self._raised = dict(raised)

    def collect(self) -> Iterator[Metric]:
        alerts = CounterMetricFamily(
            "hotline_alerts",
            "Alerts raised on the wallboard, by kind (long_wait, long_pause, abandon_spike …)",
            labels=["kind"],
        )
        for kind in AlertKind:
            alerts.add_metric([kind.value], self._raised.get(kind, 0))
        yield alerts


class GuardCollector(Collector):
    """The SIP guard's totals: what it dropped and why, and whom it blocks."""

    def __init__(self, figures: GuardFigures) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self._figures
        dropped = CounterMetricFamily(
            "hotline_sip_guard_dropped",
            "SIP datagrams dropped unparsed, by reason (rate, blocked, scanner, oversize)",
            labels=["reason"],
        )
        for reason in DropReason:
            dropped.add_metric([reason.value], figures.dropped.get(reason, 0))
        yield dropped
        yield CounterMetricFamily(
            "hotline_sip_guard_blocks", "Source addresses blocked", value=figures.blocks
        )
        yield CounterMetricFamily(
            "hotline_sip_guard_forgotten_early",
            "Sources pushed out of a full table before going idle (forged-address floods)",
            value=figures.forgotten_early,
        )
        yield GaugeMetricFamily(
            "hotline_sip_guard_blocked_sources",
            "Source addresses blocked now",
            value=figures.blocked_sources,
        )
        yield GaugeMetricFamily(
            "hotline_sip_guard_tracked_sources",
            "Source addresses the guard remembers now",
            value=figures.tracked_sources,
        )


def _hours(request: web.Request) -> float:
    try:
        hours = float(request.query.get("hours", "24"))
    except ValueError:
        raise ApiError(400, "invalid-field", "hours must be a number", "hours") from None
    if not 0 < hours <= MAX_HOURS:
        raise ApiError(400, "invalid-field", f"hours must be in (0, {MAX_HOURS}]", "hours")
    return hours


@operation(
    "Leads: queue and agent figures of the last ?hours=N (default 24)",
    responses={200: ("Figures", schemas.MetricsSchema)},
    parameters=[{"in": "query", "name": "hours", "schema": {"type": "number"}}],
)
async def figures(request: web.Request) -> web.Response:
    """GET /api/metrics?hours=N: queue and agent figures of the last N hours (leads only)."""
    if not current(request).is_lead:
        raise ApiError(403, "lead-only", "only a shift lead can see the statistics")
    end = request.app[options_key].clock()
    start = end - timedelta(hours=_hours(request))
    window = await request.app[services_key].statistics.window(start, end, hourly=True)
    body = figures_json(window.queues, window.agents, window.hours)
    body.update(start=start.isoformat(), end=end.isoformat())
    body["shifts"] = shifts_json(window.shifts)
    return web.json_response(body)


@operation(
    "Prometheus text format: the last 24 hours' figures, no personal data",
    public=True,
    errors=(),
    responses={200: ("text/plain; version=0.0.4", None)},
)
async def prometheus(request: web.Request) -> web.Response:
    """GET /metrics: the same figures for the last 24 hours, for Prometheus to scrape."""
    statistics = request.app[services_key].statistics

    async def compute() -> Window:
        end = request.app[options_key].clock()
        return await statistics.window(end - PROMETHEUS_WINDOW, end)

    kept = request.app.get(scrape_figures_key)
    window = await (kept.get(compute) if kept is not None else compute())
    queues, agents, shifts = window.queues, window.agents, window.shifts
    registry = CollectorRegistry()
    queue_gauges = {
        name: Gauge(f"hotline_queue_{name}", help_text, ["queue"], registry=registry)
        for name, help_text in [
            ("offered_calls", "Calls that arrived in the last 24 h"),
            ("answered_calls", "Calls answered by an agent"),
            ("abandoned_calls", "Calls ended by the caller before an agent answered"),
            ("callback_calls", "Callers who asked to be called back"),
            ("refused_calls", "Callers turned away: queue full (486), draining or no port (503)"),
            ("voicemail_calls", "Callers who left a voicemail (not answered, not abandoned)"),
            (
                "service_level_ratio",
                "Share answered within the answer time (short abandons excluded)",
            ),
            ("asa_seconds", "Average speed of answer"),
            ("aht_seconds", "Average handle time (talk + wrap-up)"),
            ("abandon_ratio", "Share abandoned (short abandons excluded)"),
            ("answer_in_time_ratio", "15 s 接通率 (GB/T 33358)"),
            ("answer_ratio", "24 h 接通率 (GB/T 33358)"),
        ]
    }
    for queue, figures_ in queues.items():
        values = {
            "offered_calls": figures_.offered,
            "answered_calls": figures_.answered,
            "abandoned_calls": figures_.abandoned,
            "callback_calls": figures_.callbacks,
            "refused_calls": figures_.refused,
            "voicemail_calls": figures_.voicemails,
            "service_level_ratio": figures_.service_level,
            "asa_seconds": figures_.asa_seconds,
            "aht_seconds": figures_.aht_seconds,
            "abandon_ratio": figures_.abandon_rate,
            "answer_in_time_ratio": figures_.answer_rate_in_time,
            "answer_ratio": figures_.answer_rate,
        }
        for name, value in values.items():
            if value is not None:
                queue_gauges[name].labels(queue=queue).set(value)
    occupancy = Gauge(
        "hotline_agent_occupancy_ratio",
        "Busy time over available time",
        ["agent"],
        registry=registry,
    )
    answered = Gauge("hotline_agent_answered_calls", "Calls answered", ["agent"], registry=registry)
    for agent, figures_a in agents.items():
        answered.labels(agent=agent).set(figures_a.answered)
        if figures_a.occupancy is not None:
            occupancy.labels(agent=agent).set(figures_a.occupancy)
    shift_sl = Gauge(
        "hotline_shift_service_level_ratio",
        "Share answered within the answer time, per duty shift of the last 24 h",
        ["shift", "queue"],
        registry=registry,
    )
    for label, by_queue in shifts.items():
        for queue, figures_s in by_queue.items():
            if figures_s.service_level is not None:
                shift_sl.labels(shift=label, queue=queue).set(figures_s.service_level)
    _trunk_gauges(registry, request.app[services_key].trunk_status())
    guard = request.app.get(sip_guard_key)
    if guard is not None:
        # The guard's clock is the event loop's (the transport's).
        registry.register(GuardCollector(guard.figures(asyncio.get_running_loop().time())))
    media = request.app.get(media_engine_key)
    if media is not None:
        registry.register(
            MediaCollector(media.errors, recording.WORKER.figures, media.relay_backlog_dropped)
        )
    feed = request.app.get(wallboard_key)
    if feed is not None:
        registry.register(AlertCollector(feed.raised))
    archive = request.app.get(archive_key)
    if archive is not None and archive.storage is not None:
        _storage_gauges(registry, archive.storage)
    node = request.app.get(cluster_key)
    if node is not None:
        # A standby answers 503 here (its scrape fails): the sum over nodes is 1.
        Gauge(
            "hotline_cluster_active", "1 on the node holding the lease", ["node"], registry=registry
        ).labels(node=node.node).set(1 if node.role == "active" else 0)
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


def _storage_gauges(registry: CollectorRegistry, check: StorageCheck) -> None:
    """Whether this node finds the newest recordings' files (shared storage on two nodes)."""
    Gauge(
        "hotline_recordings_checked",
        "Newest recordings looked for on this node's disk at the last check",
        registry=registry,
    ).set(check.checked)
    Gauge(
        "hotline_recordings_missing",
        "Of those, files this node cannot find: more than 0 after a failover means "
        "[media] recordings_dir is not shared between the nodes",
        registry=registry,
    ).set(check.missing)


def _trunk_gauges(registry: CollectorRegistry, statuses: Sequence[TrunkStatus]) -> None:
    """The registration of each trunk number upstream: without it no call comes in."""
    if not statuses:
        return
    registered = Gauge(
        "hotline_trunk_registered",
        "1 while the upstream registrar holds the number's binding",
        ["aor", "state"],
        registry=registry,
    )
    failures = Gauge(
        "hotline_trunk_failures", "Failed REGISTER attempts in a row", ["aor"], registry=registry
    )
    next_register = Gauge(
        "hotline_trunk_next_register_seconds",
        "Seconds until the next REGISTER (refresh or retry)",
        ["aor"],
        registry=registry,
    )
    last_error = Gauge(
        "hotline_trunk_last_error_info",
        "Why the last REGISTER attempt failed (present while failing)",
        ["aor", "error"],
        registry=registry,
    )
    for status in statuses:
        registered.labels(aor=status.aor, state=status.state.value).set(int(status.registered))
        failures.labels(aor=status.aor).set(status.failures)
        if status.next_register_in is not None:
            next_register.labels(aor=status.aor).set(status.next_register_in)
        if status.last_error is not None:
            last_error.labels(aor=status.aor, error=status.last_error).set(1)
