"""Places pulled from complaint text for the ticket's address field."""

from __future__ import annotations

import pytest

from nlp.location import PlaceKind, extract_location

CASES = [
    ("幸福路与人民路口井盖缺失", "幸福路与人民路口", PlaceKind.INTERSECTION),
    ("老城区胜利街与解放路交叉口红绿灯不亮", "老城区胜利街与解放路交叉口", PlaceKind.INTERSECTION),
    ("我家楼下幸福小区3号楼门口有人摆地摊", "幸福小区3号楼门口", PlaceKind.COMMUNITY),
    ("反映解放路上路灯不亮黑灯瞎火的", "解放路", PlaceKind.ROAD),
    ("那个就是人民广场东侧有个大坑", "人民广场东侧", PlaceKind.LANDMARK),
    ("朝阳区建设大街88号垃圾没人清", "朝阳区建设大街88号", PlaceKind.DISTRICT),
    ("在和平里社区菜市场门口占道经营", "和平里社区菜市场门口", PlaceKind.COMMUNITY),
    ("今天早上路过长江路中段看到树倒了", "长江路中段", PlaceKind.ROAD),
    ("城南农贸市场周边乱摆摊", "城南农贸市场", PlaceKind.LANDMARK),
    ("金色家园小区北门垃圾桶满了", "金色家园小区北门", PlaceKind.COMMUNITY),
    ("我是住在阳光花园的业主", "阳光花园", PlaceKind.COMMUNITY),
    ("解放路路口的井盖不见了", "解放路路口", PlaceKind.ROAD),
]


@pytest.mark.parametrize(("text", "address", "first"), CASES)
def test_address_from_text(text: str, address: str, first: PlaceKind) -> None:
    location = extract_location(text)
    assert location is not None
    assert location.address == address
    assert location.places[0].kind is first


@pytest.mark.parametrize(
    "text",
    [
        "马路上有个坑",
        "路灯不亮",
        "下水道堵了",
        "我们小区里面垃圾满了",
        "沿街晾晒",
        "人行道破了",
        "",
    ],
)
def test_generic_words_are_not_places(text: str) -> None:
    assert extract_location(text) is None


def test_several_places_in_spoken_order() -> None:
    location = extract_location("上次是幸福小区，这次是人民公园南门的厕所没人打扫")
    assert location is not None
    assert [place.text for place in location.places] == ["幸福小区", "人民公园南门"]
    assert location.address == "幸福小区 人民公园南门"
    assert location.to_json_dict()["places"][1] == {"kind": "landmark", "text": "人民公园南门"}
