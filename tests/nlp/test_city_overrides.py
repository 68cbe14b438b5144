"""A city replaces the shipped classifier data and mapping through [nlp] in its config."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from hotline.classification import build_classifier, console_departments
from hotline.config import NlpConfig


def test_a_city_maps_a_category_to_its_own_department() -> None:
    shipped = build_classifier(NlpConfig(model_path=""))
    assert shipped.classify("路边暴露垃圾没人管").category is not None
    assert shipped.classify("路边暴露垃圾没人管").category.code == "06010"  # type: ignore[union-attr]
    city = build_classifier(NlpConfig(model_path="", category_departments=("06010=ENFORCEMENT",)))
    result = city.classify("路边暴露垃圾没人管")
    assert result.departments[0].code == "SANITATION"
    # 暴露垃圾 now belongs to 城管执法 here, so it no longer goes with a 环卫 routing.
    assert result.category is None or result.category.code != "06010"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("06010", "write CODE=DEPARTMENT"),
        ("99999=MUNICIPAL", "not in the directory"),
        ("06010=NOBODY", "unknown"),
    ],
)
def test_a_bad_mapping_is_refused_with_a_reason(entry: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_classifier(NlpConfig(model_path="", category_departments=(entry,)))


def test_a_city_data_directory_replaces_only_the_files_it_has(tmp_path: Path) -> None:
    shipped = resources.files("nlp").joinpath("data", "rules.toml").read_text(encoding="utf-8")
    rules = shipped.replace("[departments.GAS]\n", '[departments.GAS]\n"沼气" = 5\n', 1)
    (tmp_path / "rules.toml").write_text(rules, encoding="utf-8")
    assert build_classifier(NlpConfig(model_path="")).classify("沼气").departments[0].code != "GAS"
    city = build_classifier(NlpConfig(model_path="", data_dir=str(tmp_path)))
    assert city.classify("小区里一股沼气").departments[0].code == "GAS"
    assert city.classify("路灯不亮").departments[0].code == "MUNICIPAL"  # the rest is shipped
    with pytest.raises(ValueError, match="not a directory"):
        build_classifier(NlpConfig(model_path="", data_dir=str(tmp_path / "missing")))


def test_the_coordinator_is_a_department_a_ticket_can_go_to() -> None:
    config = NlpConfig(model_path="", coordinator_code="QUEQUAN", coordinator_name="确权办")
    departments = console_departments(build_classifier(config), config)
    assert departments["QUEQUAN"] == "确权办"
    assert len(departments) == 13
