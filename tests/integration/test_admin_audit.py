"""Admins manage agents and roles and read the configuration and the audit log; shift leads
run the floor. Every privileged action and every view of a ticket's personal data is logged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningHotline
from tests.integration.test_cli import hotline as run_cli
from tests.integration.test_console_api import call
from tests.integration.test_ticket_access import FORM


async def test_admins_and_leads_have_separate_powers(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", "lead")
    await hotline.add_agent("8001", "admin")
    async with aiohttp.ClientSession() as http:
        agent = await hotline.login(http, "1001")
        lead = await hotline.login(http, "9001")
        admin = await hotline.login(http, "8001")
        for token in (agent, lead):
            for method, path in [
                ("GET", "/api/admin/agents"),
                ("GET", "/api/admin/config"),
                ("GET", "/api/admin/audit"),
                ("PATCH", "/api/admin/agents/1001"),
            ]:
                status, body = await call(http, hotline, method, path, token, {"role": "lead"})
                assert (status, body["error_id"]) == (403, "admin-only"), (token, path)
        # An admin is not a shift lead: no statistics, no roster changes.
        status, _ = await call(http, hotline, "GET", "/api/metrics", admin)
        assert status == 403
        async with http.put(
            hotline.url("/api/roster"), data="", headers={"Authorization": f"Bearer {admin}"}
        ) as response:
            assert response.status == 403
        status, listing = await call(http, hotline, "GET", "/api/admin/agents", admin)
        assert status == 200
        assert {(a["id"], a["role"]) for a in listing["agents"]} == {
            ("1001", "agent"),
            ("9001", "lead"),
            ("8001", "admin"),
        }
        status, config = await call(http, hotline, "GET", "/api/admin/config", admin)
        assert status == 200 and config["dispatch"]["secret"] == "***"
        assert "test-secret" not in json.dumps(config)


async def test_an_admin_changes_roles_and_ends_sessions(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("8001", "admin")
    async with aiohttp.ClientSession() as http:
        agent = await hotline.login(http, "1001")
        admin = await hotline.login(http, "8001")
        added = await call(
            http,
            hotline,
            "POST",
            "/api/admin/agents",
            admin,
            {
                "id": "1005",
                "name": "新坐席",
                "role": "agent",
                "password": "new-pass-1",
                "sip_password": "new-sip-1",
            },
        )
        assert added[0] == 201 and added[1]["role"] == "agent"
        promoted = await call(
            http, hotline, "PATCH", "/api/admin/agents/1001", admin, {"role": "lead"}
        )
        assert promoted[0] == 200 and promoted[1]["role"] == "lead"
        # A role change ends the agent's sessions: new powers come with a new login.
        assert (await call(http, hotline, "GET", "/api/me", agent))[0] == 401
        lead = await hotline.login(http, "1001")
        assert (await call(http, hotline, "GET", "/api/agents", lead))[0] == 200
        off = await call(http, hotline, "PATCH", "/api/admin/agents/1001", admin, {"active": False})
        assert off[0] == 200 and off[1]["active"] is False
        assert (await call(http, hotline, "GET", "/api/me", lead))[0] == 401
        self_demotion = await call(
            http, hotline, "PATCH", "/api/admin/agents/8001", admin, {"role": "agent"}
        )
        assert self_demotion[0] == 400
        missing = await call(
            http, hotline, "PATCH", "/api/admin/agents/4242", admin, {"active": True}
        )
        assert missing[0] == 404


async def test_views_of_personal_data_and_privileged_actions_are_audited(
    hotline: RunningHotline,
) -> None:
    for agent_id, role in [("1001", "agent"), ("1002", "agent"), ("9001", "lead")]:
        await hotline.add_agent(agent_id, role)
    await hotline.add_agent("8001", "admin")
    async with aiohttp.ClientSession() as http:
        taker = await hotline.login(http, "1001")
        other = await hotline.login(http, "1002")
        lead = await hotline.login(http, "9001")
        admin = await hotline.login(http, "8001")
        status, saved = await call(http, hotline, "POST", "/api/tickets", taker, FORM)
        assert status == 201
        number = saved["number"]
        await call(http, hotline, "GET", f"/api/tickets/{number}", taker)
        await call(http, hotline, "GET", f"/api/tickets/{number}?purpose=回访核实", lead)
        await call(http, hotline, "GET", f"/api/tickets/{number}", other)  # refused: not a view
        await call(http, hotline, "POST", "/api/agents/1002/state", lead, {"state": "paused"})
        status, body = await call(http, hotline, "GET", "/api/admin/audit?limit=50", admin)
        assert status == 200
        status, by_object = await call(
            http, hotline, "GET", f"/api/admin/audit?object={number}", admin
        )
    views = [
        (e["actor_id"], e["why"]) for e in by_object["entries"] if e["action"] == "ticket.view"
    ]
    assert sorted(views) == [("1001", "taking-agent"), ("9001", "shift-lead: 回访核实")]
    actions = [(e["actor_id"], e["action"], e["object_id"]) for e in body["entries"]]
    assert ("9001", "agent.state", "1002") in actions
    assert all(actor != "1002" for actor, _, _ in actions)
    newest = body["entries"][0]
    assert newest["at"] >= body["entries"][-1]["at"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_manages_roles_and_reads_the_audit_log(database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_DATABASE_URL": database_url, "HOTLINE_DISPATCH_SECRET": "s3cret"}
    added = run_cli(
        "agents",
        "add",
        "8001",
        "--name",
        "管理员",
        "--role",
        "admin",
        "--password",
        "admin-pass-1",
        "--sip-password",
        "admin-sip-1",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    changed = run_cli("agents", "role", "8001", "lead", env=env)
    assert changed.returncode == 0 and changed.stdout.split() == ["8001", "lead", "active"]
    off = run_cli("agents", "deactivate", "8001", env=env)
    assert off.returncode == 0 and "inactive" in off.stdout
    unknown = run_cli("agents", "role", "4242", "lead", env=env)
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr
    audit = run_cli("audit", "--json", env=env)
    assert audit.returncode == 0, audit.stderr
    entries = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [e["action"] for e in entries] == ["agent.change", "agent.change", "agent.add"]
    assert all(e["actor_id"].startswith("cli:") and e["object_id"] == "8001" for e in entries)
    assert entries[1]["detail"] == {"role": "lead"}
    shown = run_cli("config", "show", env=env)
    assert shown.returncode == 0 and "s3cret" not in shown.stdout
    assert json.loads(shown.stdout)["dispatch"]["secret"] == "***"
