"""The console API over real HTTP: login, roles, state changes, tickets, classify, health."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from agent_console.app import options_key, throttle_key
from tests.conftest import RunningHotline


async def call(
    http: aiohttp.ClientSession,
    hotline: RunningHotline,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, hotline.url(path), json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_login_with_wrong_or_unknown_credentials_is_refused_alike(
    hotline: RunningHotline,
) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        wrong = await call(
            http, hotline, "POST", "/api/login", body={"agent_id": "1001", "password": "nope"}
        )
        unknown = await call(
            http, hotline, "POST", "/api/login", body={"agent_id": "4242", "password": "nope"}
        )
        missing = await call(http, hotline, "POST", "/api/login", body={"agent_id": "1001"})
    assert (
        wrong
        == unknown
        == (401, {"error_id": "bad-credentials", "message": "agent id or password is wrong"})
    )
    assert missing[0] == 400


async def test_api_needs_a_session(hotline: RunningHotline) -> None:
    async with aiohttp.ClientSession() as http:
        for method, path in [
            ("GET", "/api/me"),
            ("POST", "/api/tickets"),
            ("POST", "/api/classify"),
            ("POST", "/api/agents/1001/state"),
        ]:
            status, body = await call(http, hotline, method, path, token="forged", body={})
            assert (status, body["error_id"]) == (401, "not-logged-in"), path


async def test_agents_change_only_their_own_state_and_leads_anyones(
    hotline: RunningHotline,
) -> None:
    await hotline.add_agent("1001")
    await hotline.add_agent("1002")
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        agent = await hotline.login(http, "1001")
        lead = await hotline.login(http, "9001")
        own = await call(http, hotline, "POST", "/api/agents/1001/state", agent, {"state": "ready"})
        other = await call(
            http, hotline, "POST", "/api/agents/1002/state", agent, {"state": "ready"}
        )
        by_lead = await call(
            http, hotline, "POST", "/api/agents/1002/state", lead, {"state": "paused"}
        )
        bad = await call(
            http, hotline, "POST", "/api/agents/1001/state", agent, {"state": "talking"}
        )
        listing_by_agent = await call(http, hotline, "GET", "/api/agents", agent)
        listing = await call(http, hotline, "GET", "/api/agents", lead)
    assert own[0] == 200 and own[1]["state"] == "ready"
    assert other[0] == 403
    assert by_lead[0] == 200 and by_lead[1]["state"] == "paused"
    assert "9001" in by_lead[1]["reason"]
    assert bad == (
        400,
        {
            "error_id": "invalid-field",
            "message": "state must be ready, paused or logged_out",
            "field": "state",
        },
    )
    assert listing_by_agent[0] == 403
    states = {a["id"]: a["state"] for a in listing[1]["agents"]}
    assert states["1001"] == "ready" and states["1002"] == "paused"


async def test_ticket_round_trip_and_field_errors(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    form = {
        "hotline": "96198",
        "caller_name": "张三",
        "phone": "028-8888 1234",
        "address": "锦江区红星路二段",
        "description": "垃圾桶满了好几天没人清",
        "department_code": "SANITATION",
        "urgent": False,
    }
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        status, saved = await call(http, hotline, "POST", "/api/tickets", token, form)
        assert status == 201, saved
        status, fetched = await call(http, hotline, "GET", f"/api/tickets/{saved['number']}", token)
        bad_status, bad = await call(
            http, hotline, "POST", "/api/tickets", token, {**form, "phone": "call me"}
        )
        missing_status, _ = await call(
            http, hotline, "GET", "/api/tickets/96198-20990101-0001", token
        )
        async with http.post(
            hotline.url("/api/tickets"),
            data=b"{not json",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ) as response:
            broken = (response.status, await response.json())
    assert status == 200
    assert fetched["number"] == saved["number"]
    assert fetched["phone"] == "028-8888 1234" and fetched["created_by"] == "1001"
    assert (bad_status, bad["field"]) == (400, "phone")
    assert missing_status == 404
    assert broken == (400, {"error_id": "invalid-json", "message": "the body is not valid JSON"})


async def test_classify_suggests_three_named_departments(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        status, body = await call(
            http,
            hotline,
            "POST",
            "/api/classify",
            token,
            {"text": "路口的井盖不见了，晚上有人差点掉下去"},
        )
        too_long = await call(http, hotline, "POST", "/api/classify", token, {"text": "井" * 5000})
    assert status == 200
    assert len(body["departments"]) == 3
    assert body["departments"][0]["code"] == "MUNICIPAL"
    assert all(d["name"] for d in body["departments"])
    assert body["urgent"] is True
    assert too_long[0] == 400


async def test_health_and_openapi(hotline: RunningHotline) -> None:
    async with aiohttp.ClientSession() as http:
        status, health = await call(http, hotline, "GET", "/healthz")
        spec_status, spec = await call(http, hotline, "GET", "/api/openapi.json")
    assert status == 200
    assert health["checks"] == {"sip": True, "database": True, "sender": True}
    assert spec_status == 200
    for path in [
        "/api/login",
        "/api/agents/{agent_id}/state",
        "/api/tickets",
        "/api/tickets/{number}",
        "/api/classify",
        "/api/tickets/repeats",
        "/api/nlp/status",
        "/healthz",
        "/api/dispatch/events",
        "/api/handoff/12345",
        "/api/tickets/{number}/actions",
        "/api/tickets/{number}/visit",
        "/api/dead-letters",
    ]:
        assert path in spec["paths"]
    contract = spec["paths"]["/api/dispatch/events"]["post"]
    assert set(contract["responses"]) >= {"200", "400", "401", "404", "409", "413", "415"}
    assert contract["parameters"][0]["name"] == "X-Hotline-Signature"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_health_reports_a_stopped_sender(hotline: RunningHotline) -> None:
    await hotline.system.sender.stop()
    async with aiohttp.ClientSession() as http:
        status, health = await call(http, hotline, "GET", "/healthz")
    assert status == 503
    assert health["checks"]["sender"] is False and health["checks"]["sip"] is True


async def test_pause_reasons_come_from_the_configured_list(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        refused = await call(
            http,
            hotline,
            "POST",
            "/api/agents/1001/state",
            token,
            {"state": "paused", "reason": "打游戏"},
        )
        accepted = await call(
            http,
            hotline,
            "POST",
            "/api/agents/1001/state",
            token,
            {"state": "paused", "reason": "用餐"},
        )
        _, me = await call(http, hotline, "GET", "/api/me", token)
    assert refused[0] == 400 and refused[1]["field"] == "reason"
    assert accepted[0] == 200 and accepted[1]["reason"] == "用餐"
    assert "用餐" in me["pause_reasons"] and me["status"]["state"] == "paused"


async def test_repeated_wrong_passwords_are_throttled(hotline: RunningHotline) -> None:
    await hotline.add_agent("1001")
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(6):
            status, _body = await call(
                http, hotline, "POST", "/api/login", body={"agent_id": "1001", "password": "guess"}
            )
            statuses.append(status)
        locked = await call(
            http,
            hotline,
            "POST",
            "/api/login",
            body={"agent_id": "1001", "password": "pw-1001-secret"},
        )
    assert statuses == [401] * 5 + [429]
    assert locked[0] == 429 and locked[1]["error_id"] == "too-many-attempts"


@pytest.mark.parametrize(
    ("hotline_overrides", "counted"),
    [
        ({"console": {"trusted_proxies": ("127.0.0.1",)}}, "203.0.113.7"),
        # Nobody trusted: the header is anyone's to write, so it is ignored.
        ({}, "127.0.0.1"),
    ],
)
async def test_wrong_passwords_count_against_the_browser_a_trusted_proxy_names(
    hotline: RunningHotline, counted: str
) -> None:
    await hotline.add_agent("1001")
    throttles = hotline.system.app[throttle_key]
    throttles.address.limit = 1  # one failure locks the address it was counted against
    async with aiohttp.ClientSession() as http:
        async with http.post(
            hotline.url("/api/login"),
            json={"agent_id": "1001", "password": "guess"},
            headers={"X-Forwarded-For": "203.0.113.7"},
        ) as response:
            assert response.status == 401
    now = hotline.system.app[options_key].clock()
    locked = {a for a in ("203.0.113.7", "127.0.0.1") if throttles.address.retry_after([a], now)}
    assert locked == {counted}
