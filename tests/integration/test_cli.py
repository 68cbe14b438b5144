"""The `hotline` command as a user runs it: migrate, agents, classify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def hotline(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_migrate_add_and_list_agents(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    assert hotline("migrate", env=env).returncode == 0
    added = hotline(
        "agents", "add", "1001", "--name", "王芳", env=env, stdin="console-pass-1\nsip-pass-0001\n"
    )
    assert added.returncode == 0, added.stderr
    again = hotline(
        "agents", "add", "1001", "--name", "王芳", env=env, stdin="console-pass-1\nsip-pass-0001\n"
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    weak = hotline("agents", "add", "1002", "--name", "李", env=env, stdin="short\nshort\n")
    assert weak.returncode == 1 and "at least 8" in weak.stderr
    lead = hotline(
        "agents",
        "add",
        "9001",
        "--name",
        "班长",
        "--role",
        "lead",
        "--password",
        "lead-pass-1",
        "--sip-password",
        "lead-sip-1",
        env=env,
    )
    assert lead.returncode == 0, lead.stderr
    listing = hotline("agents", "list", env=env)
    assert listing.stdout.splitlines() == ["1001\tagent\tactive\t王芳", "9001\tlead\tactive\t班长"]


def test_classify_reads_lines_and_writes_json_lines() -> None:
    result = hotline(
        "classify", env=dict(os.environ), stdin="路口的井盖不见了\n楼下烧烤油烟太大\n公司拖欠工资\n"
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["departments"][0]["code"] for row in rows] == [
        "MUNICIPAL",
        "ENFORCEMENT",
        "TRANSFER_12345",
    ]
    assert rows[0]["urgent"] is True and rows[0]["category"]["code"] == "01023"


def test_bad_config_is_reported_not_a_traceback(tmp_path: Path) -> None:
    result = hotline("migrate", env={**os.environ, "HOTLINE_SIP_PORT": "five"})
    assert result.returncode == 2
    assert "config error" in result.stderr and "Traceback" not in result.stderr


def test_staffing_prints_the_erlang_c_plan_as_json() -> None:
    result = hotline(
        "staffing",
        "--calls-per-hour",
        "200",
        "--aht",
        "180",
        "--target-sl",
        "0.8",
        "--target-seconds",
        "20",
        "--json",
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert (body["agents"], body["service_level"], body["asa_seconds"]) == (14, 0.8884, 7.84)
    refused = hotline("staffing", "--calls-per-hour", "200", "--aht", "0", env=dict(os.environ))
    assert refused.returncode == 2 and "handle time" in refused.stderr


def test_nlp_evaluate_reports_accuracy_urgency_and_confusions(tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.csv"
    labelled.write_text(
        "text,department,category_code,urgent\n"
        "路口的井盖不见了，晚上有人差点掉下去,MUNICIPAL,01023,true\n"
        "楼下烧烤油烟太大,ENFORCEMENT,,false\n"
        "路灯不亮,SANITATION,,\n",  # mislabelled on purpose: a confusion to report
        encoding="utf-8",
    )
    result = hotline("nlp", "evaluate", str(labelled), env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "department top-1:      66.7%" in lines
    assert "department top-3:      66.7%" in lines  # SANITATION is not among the three
    assert "category accuracy:     100.0% (1 rows)" in lines
    assert "urgent precision:      100.0% (2 rows)" in lines
    assert "  SANITATION → MUNICIPAL: 1" in lines
    broken = tmp_path / "broken.csv"
    broken.write_text("words,label\nx,y\n", encoding="utf-8")
    refused = hotline("nlp", "evaluate", str(broken), env=dict(os.environ))
    assert refused.returncode == 2 and "missing column" in refused.stderr


def test_cases_deadline_counts_working_days_across_national_day() -> None:
    # Tuesday 29 Sep 2026 14:00: Wed 30 Sep, (1–7 Oct off), Thu 8, Fri 9, Sat 10 (调休),
    # Mon 12 → five working days end Monday 12 October 14:00 Beijing time.
    env = {**os.environ, "HOTLINE_CENTRE_TIMEZONE": "Asia/Shanghai"}
    done = hotline(
        "cases", "deadline", "--start", "2026-09-29T14:00", "--working-days", "5", env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2026-10-12T14:00:00+08:00"
    # A start in UTC is read as that moment: 06:00Z is 14:00 in Beijing.
    utc = hotline(
        "cases", "deadline", "--start", "2026-09-29T06:00Z", "--working-days", "5", env=env
    )
    assert utc.stdout.strip() == "2026-10-12T14:00:00+08:00"


def test_cases_deadline_in_hours_and_bad_input() -> None:
    env = dict(os.environ)
    hours = hotline("cases", "deadline", "--start", "2026-10-03T23:30", "--hours", "2", env=env)
    assert hours.stdout.strip() == "2026-10-04T01:30:00+08:00"
    bad = hotline("cases", "deadline", "--start", "yesterday", "--hours", "2", env=env)
    assert bad.returncode == 2 and "not an ISO datetime" in bad.stderr
    zero = hotline(
        "cases", "deadline", "--start", "2026-10-03T10:00", "--working-days", "0", env=env
    )
    assert zero.returncode == 2 and "positive" in zero.stderr
