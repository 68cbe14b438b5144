"""`hotline roster` and `hotline staffing --roster --arrivals` as a user runs them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.integration.test_cli import hotline

# In the order export writes: by day, shift name, agent.
ROSTER = """date,shift,agent_id,role,skills,dialects
2026-11-23,夜班,1003,agent,,
2026-11-23,白班,1001,agent,投诉,粤语
2026-11-23,白班,1002,agent,,
2026-11-23,白班,9001,lead,,
"""


def test_roster_import_show_who_is_on_and_export(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    assert hotline("migrate", env=env).returncode == 0
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    imported = hotline("roster", "import", str(roster), env=env)
    assert imported.returncode == 0 and "imported 4" in imported.stdout, imported.stderr
    night = hotline("roster", "who-is-on", "--at", "2026-11-24T02:30", env=env)
    assert night.stdout == "1003\n"
    day = hotline("roster", "show", "--at", "2026-11-23T09:00:00+08:00", env=env)
    assert day.returncode == 0
    assert day.stdout.splitlines()[0] == "2026-11-23 白班 (from 08:00, 12 h)"
    assert "  1001     agent  投诉, 粤语" in day.stdout and "9001     lead" in day.stdout
    exported = hotline("roster", "export", env=env)
    assert exported.stdout == ROSTER

    bad = tmp_path / "bad.csv"
    bad.write_text("date,shift,agent_id\n2026-11-23,白班,1001\nnot-a-date,白班,1002\n")
    refused = hotline("roster", "import", str(bad), env=env)
    assert refused.returncode == 2 and "line 3" in refused.stderr
    assert hotline("roster", "export", env=env).stdout == ROSTER  # nothing half-imported


def test_staffing_compares_the_roster_with_a_day_of_arrivals(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    arrivals = tmp_path / "arrivals.csv"
    arrivals.write_text("hour,calls\n9,40\n21,40\n", encoding="utf-8")
    args = ["staffing", "--roster", str(roster), "--arrivals", str(arrivals), "--aht", "180"]
    result = hotline(*args, "--target-seconds", "15", "--json", env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    hours = {h["hour"]: h for h in json.loads(result.stdout)["hours"]}
    assert (hours[9]["calls"], hours[9]["rostered"], hours[9]["needed"]) == (40, 2, 4)
    assert hours[21]["rostered"] == 1 and hours[21]["service_level"] < hours[9]["service_level"]
    assert hours[3]["calls"] == 0
    text = hotline(*args, env=dict(os.environ))
    assert "hour  calls  rostered  needed  predicted SL" in text.stdout
    assert "short" in text.stdout
    missing = hotline("staffing", "--roster", str(roster), env=dict(os.environ))
    assert missing.returncode == 2 and "go together" in missing.stderr
