"""The classifier in the running hotline: suggestions with reasons and place, feedback on every
saved ticket, repeat reports merged (并单), and agents' corrections teaching the model."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select

from hotline.classification import ModelWatcher
from hotline.models import ClassifierFeedback, OutboxMessage, Ticket
from hotline.tickets import TicketDraft
from tests.conftest import RunningHotline

FORM = {
    "hotline": "12319",
    "caller_name": "李四",
    "phone": "13800138000",
    "address": "解放路与人民路口",
    "description": "解放路与人民路口的井盖不见了，车都在绕",
    "department_code": "MUNICIPAL",
    "category_code": "01023",
    "urgent": True,
}
# A kind the shipped rules send to 电力 but this city's agents send to 城管执法 (飞线充电).
CORRECTED = [
    "楼下有人从窗户拉电线下来给电瓶车充电",
    "小区里有人私拉电线给电动车充电",
    "一楼住户飞线充电，电线从三楼吊下来",
    "有人把电线从窗户扯下来充电瓶车",
    "车棚旁边私拉乱接电线充电",
    "住户从家里接电线到楼下充电动车",
    "六楼拉了根插线板垂到楼下给电动车充电",
    "电线从阳台吊下来充电瓶车，很危险",
]
PROBE = "五楼窗户挂下来一根电线给电瓶车充电"
# Tickets agents saved as suggested: the rest of the city's work.
CONFIRMED = [
    ("幸福小区门口垃圾桶满了没人清", "SANITATION"),
    ("菜市场门口摆地摊占道", "ENFORCEMENT"),
    ("建设路路灯不亮黑灯瞎火", "MUNICIPAL"),
    ("行道树被风刮倒了", "LANDSCAPE"),
    ("路口红绿灯坏了", "TRAFFIC"),
    ("小区停水三天了", "WATER"),
    ("楼道里有煤气味", "GAS"),
    ("变压器嗡嗡响冒烟", "POWER"),
    ("电信光缆掉下来挂在树上", "TELECOM"),
    ("化工厂晚上偷排废气", "ECOLOGY"),
    ("河道里漂满垃圾", "WATER_AFFAIRS"),
    ("公司拖欠三个月工资", "TRANSFER_12345"),
]


async def call(
    http: aiohttp.ClientSession,
    hotline: RunningHotline,
    method: str,
    path: str,
    token: str,
    body: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    async with http.request(
        method, hotline.url(path), json=body, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        return response.status, await response.json()


async def test_suggestion_repeat_merge_and_feedback(hotline: RunningHotline) -> None:
    # The feedback loop over the rules alone: the shipped base model already routes the
    # corrected 飞线充电 complaint to 城管执法, which would leave nothing to correct.
    hotline.system.classifier.use_base(None)
    await hotline.add_agent("1001")
    await hotline.add_agent("9001", role="lead")
    async with aiohttp.ClientSession() as http:
        token = await hotline.login(http, "1001")
        lead = await hotline.login(http, "9001")
        status, suggestion = await call(
            http, hotline, "POST", "/api/classify", token, {"text": FORM["description"]}
        )
        assert status == 200
        assert suggestion["departments"][0]["code"] == "MUNICIPAL"
        assert suggestion["location"]["address"] == "解放路与人民路口"
        assert suggestion["hazard"]["kind"] == "cover"
        assert {
            "kind": "urgent",
            "target": suggestion["urgent_reason"],
            "words": ["井盖", "不见了", "路口"],
        } in (suggestion["reasons"])
        status, unclear = await call(
            http,
            hotline,
            "POST",
            "/api/classify",
            token,
            {"text": "路边有个井盖坏了，问了几家都说不归他们管，互相推"},
        )
        assert unclear["unclear_ownership"] == "权属不明井盖"
        assert unclear["coordinator"]["code"] == "COORDINATION"

        status, first = await call(http, hotline, "POST", "/api/tickets", token, FORM)
        assert status == 201, first
        again = {**FORM, "phone": "13900139000", "description": "人民路解放路口井盖不见了好危险"}
        status, found = await call(
            http,
            hotline,
            "POST",
            "/api/tickets/repeats",
            token,
            {"text": again["description"], "address": "人民路口", "category_code": "01023"},
        )
        assert status == 200
        assert [r["number"] for r in found["repeats"]] == [first["number"]]
        status, bad = await call(
            http,
            hotline,
            "POST",
            "/api/tickets",
            token,
            {**again, "merge_into": "12319-20200101-0001"},
        )
        assert (status, bad["error_id"], bad["field"]) == (400, "unknown-ticket", "merge_into")
        status, merged = await call(
            http, hotline, "POST", "/api/tickets", token, {**again, "merge_into": first["number"]}
        )
        assert status == 201, merged
        assert (merged["status"], merged["merged_into"]) == ("merged", first["number"])
        status, onto_merged = await call(
            http,
            hotline,
            "POST",
            "/api/tickets",
            token,
            {**again, "merge_into": merged["number"]},
        )
        assert (status, onto_merged["error_id"]) == (400, "not-open")
        # An agent corrects the department: that is recorded as not accepted.
        corrected = {
            **FORM,
            "description": CORRECTED[0],
            "department_code": "ENFORCEMENT",
            "category_code": None,
            "urgent": False,
            "address": "幸福小区",
        }
        status, correction = await call(http, hotline, "POST", "/api/tickets", token, corrected)
        assert status == 201
        forbidden, _ = await call(http, hotline, "GET", "/api/nlp/status", token)
        status, figures = await call(http, hotline, "GET", "/api/nlp/status", lead)
    assert forbidden == 403
    assert status == 200 and figures["model"] is None
    assert figures["acceptance"]["tickets"] == 3
    assert abs(figures["acceptance"]["department"] - 2 / 3) < 1e-9
    async with hotline.system.sessions() as db:
        feedback = (
            await db.scalars(select(ClassifierFeedback).order_by(ClassifierFeedback.id))
        ).all()
        forwarded = (
            await db.scalars(select(Ticket.number).join(OutboxMessage).order_by(OutboxMessage.id))
        ).all()
    # The merged repeat is the one ticket saved without a case for the dispatch core.
    assert forwarded == [first["number"], correction["number"]]
    assert [(f.suggested_department, f.department_accepted) for f in feedback] == [
        ("MUNICIPAL", True),
        ("MUNICIPAL", True),
        ("POWER", False),
    ]
    assert all(f.model_version is None for f in feedback)


async def test_corrections_teach_the_model_that_the_server_then_uses(
    hotline: RunningHotline, tmp_path: Path
) -> None:
    system = hotline.system
    await hotline.add_agent("1001")
    classifier = system.classifier
    # The shipped base model learned 飞线充电 from the project's corpus; a centre without it
    # (the rules alone) learns it from its own corrections, which is what is tested here.
    assert classifier.classify(PROBE).departments[0].code == "ENFORCEMENT"
    classifier.use_base(None)
    assert classifier.classify(PROBE).departments[0].code == "POWER"
    model_path = tmp_path / "nlp-model.json"
    watcher = ModelWatcher(classifier, model_path)
    now = datetime.now(UTC)

    async def save(text: str, department: str) -> Ticket:
        draft = TicketDraft(
            "12319", None, "", "13800138000", "幸福小区", text, department, None, False
        )
        return await system.tickets.save(draft, "1001", now)

    for text, department in CONFIRMED * 2:
        await save(text, department)
    for text in CORRECTED:
        await save(text, "ENFORCEMENT")
    env = {
        **os.environ,
        "HOTLINE_DATABASE_URL": system.config.database.url,
        "HOTLINE_NLP_MODEL_PATH": str(model_path),
    }
    trained = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hotline.cli", "nlp", "train"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert trained.returncode == 0, trained.stderr
    assert f"trained on {len(CONFIRMED) * 2 + len(CORRECTED)} confirmed tickets" in trained.stdout
    assert watcher.check()  # what the running server does every 30 s
    assert classifier.model is not None
    result = classifier.classify(PROBE)
    assert result.departments[0].code == "ENFORCEMENT"
    assert any(
        reason.kind == "model" and reason.target == "ENFORCEMENT" for reason in result.reasons
    )
    for text, department in [
        ("东风路路灯不亮", "MUNICIPAL"),
        ("护城河里漂满了垃圾", "WATER_AFFAIRS"),
    ]:
        assert classifier.classify(text).departments[0].code == department
    saved = await save(PROBE, "ENFORCEMENT")
    async with system.sessions() as db:
        row = await db.scalar(
            select(ClassifierFeedback).where(ClassifierFeedback.ticket_id == saved.id)
        )
    assert row is not None and row.department_accepted and row.model_version is not None
    classifier.use_model(None)
