"""Emergency matters are told apart from city-management ones, and denials are respected."""

from __future__ import annotations

import pytest

from nlp.emergency import detect_emergency


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("幸福小区3号楼着火了，有人被困在楼上", "119"),
        ("路口两辆车追尾，有人受伤倒地", "120"),  # injured first: medical aid before the crash
        ("解放路口发生车祸，车都堵住了", "122"),
        ("菜市场门口有人持刀打架", "110"),
        ("老人在公园晕倒了，不省人事", "120"),
    ],
)
def test_emergencies_go_to_their_service(text: str, service: str) -> None:
    found = detect_emergency(text)
    assert found is not None and found.service == service, found


@pytest.mark.parametrize(
    "text",
    [
        "小区门口井盖缺失，晚上很危险",
        "垃圾桶旁边冒烟，但已经灭了，请来清理",  # no 起火 word and denied
        "火已被扑灭，楼道里烧焦的杂物没人清理",
        "不是车祸，是路面塌陷",
        "",
    ],
)
def test_city_matters_and_denials_are_not_emergencies(text: str) -> None:
    assert detect_emergency(text) is None


def test_the_words_that_matched_are_given() -> None:
    found = detect_emergency("楼下着火了！火势很大")
    assert found is not None and found.words == ("着火", "火势") and found.name == "消防救援"
