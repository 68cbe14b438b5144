"""Matters that belong to an emergency service, not to a city department (国办函〔2025〕66号:
110 police, 119 fire, 120 medical aid, 122 road accidents). Pure keyword rules: a clause that
names the emergency and does not deny it."""

from __future__ import annotations

import re
from dataclasses import dataclass

SERVICES: dict[str, str] = {
    "110": "公安报警",
    "119": "消防救援",
    "120": "医疗急救",
    "122": "交通事故报警",
}
# Most specific first: a burning car is 119 before it is 122.
RULES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("119", "起火或有人被困", re.compile(r"着火|起火|失火|火灾|烧起来|冒烟起火|火势|被困")),
    (
        "120",
        "有人受伤或昏迷",
        re.compile(r"晕倒|昏迷|不省人事|抽搐|大出血|流了很多血|没有呼吸|心脏病发|受伤倒地|摔伤"),
    ),
    ("122", "道路交通事故", re.compile(r"车祸|撞车|追尾|交通事故|被车撞|撞人|翻车")),
    (
        "110",
        "治安警情",
        re.compile(r"打架|斗殴|抢劫|抢东西|持刀|拿刀|砍人|行凶|偷东西|入室盗窃|绑架|跳楼|轻生"),
    ),
)
CLAUSE = re.compile(r"[，。！？；,.!?;\n]")
DENIAL = re.compile(r"(没有|没|不是|并非|已经灭|已被扑灭|已处理|已送医)")


@dataclass(frozen=True)
class Emergency:
    service: str  # the number to hand the caller to
    name: str
    reason: str
    words: tuple[str, ...]


def detect_emergency(text: str) -> Emergency | None:
    """The emergency service the text calls for, or None."""
    for service, reason, pattern in RULES:
        words: list[str] = []
        for clause in CLAUSE.split(text):
            found = pattern.search(clause)
            if found is None:
                continue
            denied = DENIAL.search(clause[: found.start()]) or DENIAL.search(clause[found.end() :])
            if not denied:
                words.append(found.group())
        if words:
            return Emergency(service, SERVICES[service], reason, tuple(dict.fromkeys(words)))
    return None
