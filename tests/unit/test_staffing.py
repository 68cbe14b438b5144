"""Erlang C against independently computed values; the simulator against Erlang C."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from routing.simulation import poisson_arrivals, simulate
from routing.staffing import agents_needed, plan_for, wait_probability


def erlang_c_textbook(agents: int, erlangs: Fraction) -> float:
    """The textbook formula with exact fractions: an independent check of the recurrence."""
    top = erlangs**agents / math.factorial(agents) * Fraction(agents) / (agents - erlangs)
    bottom = sum(erlangs**k / math.factorial(k) for k in range(agents)) + top
    return float(top / bottom)


@pytest.mark.parametrize("agents, erlangs", [(13, 10), (14, 10), (2, 1), (50, 42), (120, 100)])
def test_wait_probability_matches_the_textbook_formula(agents: int, erlangs: int) -> None:
    assert wait_probability(agents, erlangs) == pytest.approx(
        erlang_c_textbook(agents, Fraction(erlangs)), abs=1e-9
    )


def test_the_classic_example_100_calls_in_30_minutes() -> None:
    # 100 calls in 30 min, AHT 180 s, 80 % in 20 s: 10 Erlangs. Values computed by hand from
    # the textbook formula: Pw(14) = 0.17413, SL = 1 - Pw·e^(-4·20/180), ASA = Pw·180/4.
    plan = agents_needed(200, 180, 0.8, 20)
    pw = erlang_c_textbook(14, Fraction(10))
    assert plan.agents == 14
    assert round(plan.wait_probability, 3) == round(pw, 3) == 0.174
    assert round(plan.service_level, 3) == round(1 - pw * math.exp(-80 / 180), 3) == 0.888
    assert round(plan.asa_seconds, 3) == round(pw * 45, 3) == 7.836
    assert plan_for(13, 200, 180, 20).service_level < 0.8  # one fewer misses the target


def test_an_overloaded_queue_never_meets_its_target() -> None:
    plan = plan_for(10, 200, 180, 20)
    assert plan.service_level == 0.0 and math.isinf(plan.asa_seconds)


def test_occupancy_cap_adds_agents() -> None:
    assert agents_needed(200, 180, 0.8, 20, max_occupancy=0.6).agents == 17


@pytest.mark.parametrize("bad", [(-1, 180, 0.8), (100, 0, 0.8), (100, 180, 1.0)])
def test_nonsense_is_refused(bad: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        agents_needed(bad[0], bad[1], bad[2], 20)


@pytest.mark.parametrize("calls_per_hour, aht, target", [(200, 180, 20), (600, 240, 15)])
def test_simulated_long_run_service_level_is_within_two_points_of_erlang_c(
    calls_per_hour: float, aht: float, target: float
) -> None:
    plan = agents_needed(calls_per_hour, aht, 0.8, target)
    rng = random.Random(12319)
    arrivals = poisson_arrivals(calls_per_hour, 2000, rng)
    result = simulate(arrivals, plan.agents, aht, target, rng)
    assert result.calls > 300_000
    assert abs(result.service_level - plan.service_level) < 0.02, (result, plan)
    assert result.asa_seconds == pytest.approx(plan.asa_seconds, rel=0.15)


def test_a_day_replayed_against_the_roster_hour_by_hour() -> None:
    from routing.day_plan import parse_arrivals, plan_day

    rng = random.Random(7)
    # 200 calls an hour from 08:00 to 10:00 (10 Erlangs at AHT 180 s), none otherwise.
    arrivals = parse_arrivals("hour,calls\n8,200\n9,200\n", rng)
    assert len(arrivals) == 400 and all(8 * 3600 <= a < 10 * 3600 for a in arrivals)
    rostered = {8: 14, 9: 8}  # enough at 8, far too few at 9
    plans = plan_day(arrivals, rostered, 180, 0.8, 20, rng)
    by_hour = {p.hour: p for p in plans}
    assert (by_hour[8].rostered, by_hour[8].needed, by_hour[8].calls) == (14, 14, 200)
    assert by_hour[8].service_level > 0.7
    assert by_hour[9].needed == 14 and by_hour[9].service_level < 0.2
    assert by_hour[3].calls == 0 and by_hour[3].needed == 0


def test_arrivals_with_times_and_bad_rows() -> None:
    from routing.day_plan import parse_arrivals, simulate_day

    rng = random.Random(1)
    assert parse_arrivals("time\n08:00\n07:59:30\n", rng) == [28770.0, 28800.0]
    with pytest.raises(ValueError, match="line 3"):
        parse_arrivals("time\n08:00\n25:00\n", rng)
    with pytest.raises(ValueError, match="header"):
        parse_arrivals("when\n08:00\n", rng)
    # A call after the last rostered hour is never answered, and says so.
    _, waits = simulate_day([23 * 3600.0], {8: 1}, 180, 20, rng)
    assert waits == [None]
    # A call at 07:59 waits for the agent whose shift starts at 08:00.
    _, waits = simulate_day([7 * 3600 + 3540.0], {8: 1}, 180, 20, rng)
    assert waits == [60.0]
