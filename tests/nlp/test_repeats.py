"""Repeat reports (并单): same place and category, or nearly the same words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nlp.repeats import SAME_PLACE, SIMILAR_TEXT, CaseSketch, find_repeats, places, similarity

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def case(number: str, text: str, address: str = "", category: str | None = None, days: float = 1):
    return CaseSketch(number, text, address, category, NOW - timedelta(days=days))


OPEN = [
    case("12319-20261122-0001", "幸福小区东门路灯不亮", "幸福小区东门", "01031"),
    case("12319-20261122-0002", "解放路与人民路口井盖缺失，车辆绕行", "解放路与人民路口", "01023"),
    case("12319-20261110-0003", "幸福小区东门路灯不亮", "幸福小区东门", "01031", days=13),
    case("12319-20261122-0004", "幸福小区垃圾桶满溢没人清运", "幸福小区", "06042"),
]


def test_same_place_and_category_is_a_repeat_even_in_other_words() -> None:
    new = case("", "幸福小区那边晚上黑灯瞎火的，灯坏了好几天", "幸福小区北门", "01031", days=0)
    found = find_repeats(new, OPEN, NOW, days=7, threshold=0.55)
    assert [(m.number, m.reason, m.place) for m in found] == [
        ("12319-20261122-0001", SAME_PLACE, "幸福小区")
    ]


def test_nearly_the_same_words_are_a_repeat_without_a_category() -> None:
    new = case("", "人民路与解放路口井盖缺失了，车辆都在绕行", "", None, days=0)
    found = find_repeats(new, OPEN, NOW, days=7, threshold=0.55)
    assert [(m.number, m.reason) for m in found] == [("12319-20261122-0002", SIMILAR_TEXT)]
    assert found[0].similarity > 0.55


def test_other_matters_old_cases_and_other_places_are_not() -> None:
    new = case("", "建设路公厕没人打扫", "建设路", "06020", days=0)
    assert find_repeats(new, OPEN, NOW, days=7, threshold=0.55) == []
    old = case("", "幸福小区东门路灯不亮", "幸福小区东门", "01031", days=0)
    found = find_repeats(old, OPEN, NOW, days=7, threshold=0.55)
    assert "12319-20261110-0003" not in [m.number for m in found]  # 13 days old


def test_similarity_and_places() -> None:
    assert similarity("路灯不亮", "路灯不亮") == 1.0
    assert similarity("路灯不亮", "垃圾满溢") == 0.0
    assert similarity("", "路灯") == 0.0
    assert places("幸福小区3号楼门口", "解放路与人民路交叉口") == {"幸福小区", "解放路与人民路"}
