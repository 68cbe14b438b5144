"""Two hotline nodes behind Kamailio (tools/cluster.py, rtpengine for media), measured
through the proxy.

    python bench/bench_cluster.py                        # all three measurements
    python bench/bench_cluster.py --steps 20,40,80 --rates 5,10 --database-url URL

- concurrent bridged calls: N callers at once (stepped, stopping at the first step where a
  stream falls below 49.5 packets a second, or at the last step), each bridged to an agent
  phone (SIPp on 127.0.0.4, registered through Kamailio, echoing); every stream rtpengine
  sends is counted on loopback in a window when all N calls are up;
- calls per second: short calls at R per second (stepped), answered and bridged; calls that
  failed and INVITE→200 through the proxy;
- failover: the active node is killed (-9); time until the standby is active, answers
  OPTIONS with 200, and a new call through Kamailio is answered (bench/bench_failover.py's
  measurement, one round).

Prints figures; asserts nothing. The PostgreSQL database (default `hotline_cluster_bench` on
the server at 127.0.0.1:5432) is emptied first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_failover import measure_failover, start_cluster  # noqa: E402
from bench.bench_gateway import _add_agents, _ready_agents, percentile  # noqa: E402
from bench.gateway_peers import (  # noqa: E402
    TIMED_OUT,
    Process,
    SippResult,
    StreamCounter,
    run_sipp,
    sipp_args,
    start_sipp,
)
from tests.support.cluster_peers import PHONE_HOST  # noqa: E402
from tests.support.rtp_audio import caller_payloads, write_rtp_pcap  # noqa: E402
from tests.support.sipp import free_ports  # noqa: E402
from tools.cluster_launcher import Cluster  # noqa: E402

SCENARIOS = ROOT / "tests" / "sipp"
BENCH_SCENARIOS = ROOT / "bench" / "sipp"
CALLS_PER_SECOND_RAMP = 10
SETTLE_SECONDS = 3.0
WINDOW_SECONDS = 10.0
RATE_SECONDS = 10.0
DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/hotline_cluster_bench"


async def start_cluster_with_agents(work: Path, database_url: str, agents: list[str]) -> Cluster:
    # The nodes' embedded legs share 4000 ports; rtpengine 2000.
    cluster = await start_cluster(
        work,
        database_url,
        rtp=(24000, 27999),
        relay=(34000, 35999),
        overrides={
            "routing": {"wrap_up_seconds": 0},
            "survey": {"enabled": False},
            "sip": {"drain_seconds": 0, "realm": "bench"},  # the agents' HA1 realm
            "guard": {"requests_per_window": 0},
            # Without recording, as the figures in docs/CLUSTER.md were measured.
            "media": {"recordings_dir": "", "rtpengine_recording_dir": ""},
        },
    )
    await _add_agents(cluster.database_url, agents)
    return cluster


def register_phones(cluster: Cluster, work: Path, agents: list[str]) -> Process:
    """SIPp on PHONE_HOST answers as every agent's phone; the phones register through
    Kamailio."""
    phone_port = free_ports(1)
    phones = start_sipp(
        "agent-phones",
        sipp_args(
            SCENARIOS / "agent_answer.xml",
            phone_port,
            10_000_000,
            ["-i", PHONE_HOST, "-rtp_echo", "-mp", str(free_ports(4)), "-mi", PHONE_HOST],
        ),
        work / "phones",
    )
    injection = work / "agents.csv"
    injection.write_text(
        "SEQUENTIAL\n"
        + "".join(
            f"{a};bench-sip-pw;{phone_port};[authentication username={a} password=bench-sip-pw]\n"
            for a in agents
        )
    )
    proxy = cluster.sip_address
    registered = run_sipp(
        sipp_args(
            BENCH_SCENARIOS / "register_many.xml",
            free_ports(1),
            len(agents),
            ["-i", PHONE_HOST, "-inf", str(injection), "-r", "50"],
            f"{proxy[0]}:{proxy[1]}",
        ),
        work / "register",
        120,
    )
    if registered.successful != len(agents):
        phones.stop()
        raise RuntimeError(f"registered {registered.successful}/{len(agents)}: {registered.output}")
    return phones


def call(
    cluster: Cluster, work: Path, calls: int, rate: float, hold_ms: int, rtt: bool = False
) -> SippResult:
    """SIPp as the carrier: `calls` citizens through Kamailio at `rate` per second."""
    work.mkdir(parents=True, exist_ok=True)
    pcap = work / "caller.pcap"
    if not pcap.exists():
        write_rtp_pcap(pcap, caller_payloads(hold_ms / 1000 + 2, 0), 0)
    extra = ["-s", "12319", "-key", "caller", "13800138000", "-d", str(hold_ms)]
    extra += ["-r", str(rate), "-l", str(calls), "-mp", str(free_ports(4)), "-mi", "127.0.0.1"]
    if rtt:
        extra += ["-trace_rtt", "-rtt_freq", "1"]
    proxy = cluster.sip_address
    args = sipp_args(
        SCENARIOS / "caller_hangs_up_via_proxy.xml",
        free_ports(1),
        calls,
        extra,
        f"{proxy[0]}:{proxy[1]}",
    )
    return run_sipp(args, work, timeout_s=calls / rate + hold_ms / 1000 + 120)


def capacity_step(cluster: Cluster, work: Path, concurrent: int) -> bool:
    """One step; whether every stream kept 49.5 packets a second or better."""
    ramp = concurrent / CALLS_PER_SECOND_RAMP
    hold_ms = int((ramp + SETTLE_SECONDS * 2 + WINDOW_SECONDS + 2) * 1000)
    low, high = cluster.settings.rtpengine_ports
    counter = StreamCounter(low, high)
    result: list[SippResult] = []
    runner = threading.Thread(
        target=lambda: result.append(
            call(cluster, work, concurrent, CALLS_PER_SECOND_RAMP, hold_ms)
        )
    )
    runner.start()
    time.sleep(ramp + SETTLE_SECONDS)  # the bench's schedule, not synchronisation of a test
    counter.open_window()
    time.sleep(WINDOW_SECONDS)
    streams = counter.close_window()
    runner.join()
    counter.close()
    done = result[0]
    whole = [s for s in streams.values() if s.last - s.first >= 2.0]
    rates = sorted(s.rate for s in whole)
    below = [s for s in whole if s.rate < 49.5]
    unfinished = " (SIPp stopped at its time limit)" if done.code == TIMED_OUT else ""
    print(
        f"  {concurrent:4d} at once: calls ok {done.successful}/{concurrent} failed"
        f" {done.failed}{unfinished} | rtpengine streams {len(whole)}/{2 * concurrent}"
        f" min {rates[0] if rates else 0:.1f} median"
        f" {statistics.median(rates) if rates else 0:.1f} pkt/s, below 49.5: {len(below)}",
        flush=True,
    )
    return not below and len(whole) == 2 * concurrent


def rate_step(cluster: Cluster, work: Path, rate: float) -> bool:
    calls = int(rate * RATE_SECONDS)
    done = call(cluster, work, calls, rate, 1000, rtt=True)
    times = done.response_ms
    figures = (
        f" INVITE→200 p50 {percentile(times, 0.5):.1f} ms p95 {percentile(times, 0.95):.1f} ms"
        if times
        else ""
    )
    print(
        f"  {rate:5.1f} calls/s for {RATE_SECONDS:.0f} s: ok {done.successful}/{calls}"
        f" failed {done.failed}{figures}",
        flush=True,
    )
    return done.failed == 0 and done.successful == calls


async def run(args: argparse.Namespace, work: Path) -> None:
    steps = [int(s) for s in args.steps.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    skip = set(args.skip.split(","))
    agents = [str(2000 + n) for n in range(max(steps) + 10)]
    cluster = await start_cluster_with_agents(work, args.database_url, agents)
    phones: Process | None = None
    try:
        phones = await asyncio.to_thread(register_phones, cluster, work, agents)
        active = await cluster.wait_for_active(30)
        await _ready_agents(active.console_url, agents)
        print(
            f"two nodes behind Kamailio ({active.name} active), rtpengine, {len(agents)} agents"
            f" (a shared {os.cpu_count()}-core machine: figures are noisy)",
            flush=True,
        )
        if "capacity" not in skip:
            print("concurrent bridged calls (streams rtpengine sends, 50 pkt/s each):")
            for step in steps:
                if not await asyncio.to_thread(capacity_step, cluster, work / f"c{step}", step):
                    break
        if "rate" not in skip:
            print("calls per second (1 s calls, bridged):")
            for rate in rates:
                if not await asyncio.to_thread(rate_step, cluster, work / f"r{rate:g}", rate):
                    break
        if "failover" not in skip:
            print("failover:")
            print(f"  {(await measure_failover(cluster, active)).line()}", flush=True)
    finally:
        if phones is not None:
            phones.stop()
        await cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", default="10,20,40,60,80,100")
    parser.add_argument("--rates", default="5,10,20,40")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--skip", default="", help="comma list of capacity,rate,failover")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep its logs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as scratch:
        asyncio.run(run(args, args.keep or Path(scratch)))


if __name__ == "__main__":
    main()
