"""The classifier's answers do not depend on the process, nor on work done on its speed: the
same text gives the same suggestion and reasons whatever Python's hash seed, and a fixed
sample gives what the pipeline gave before that work (tests/nlp/data/pipeline_outputs.jsonl,
written by tools/classification_fixture.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nlp import Classifier
from nlp.emergency import detect_emergency

ROOT = Path(__file__).resolve().parents[2]
# Texts where two alternatives of a pattern match equally (桌子+摆|外面, 水+味|怪味).
TIES = (
    "喂 我投诉那个 就是 我们楼下那个 叫什么老王的店 每天晚上在外面支个炉子 烤串 摆好多桌子 "
    "划拳 吵到凌晨 睡不着",
    "那个水有股怪味 就是那种漂白粉的味 特别重 我们整个小区都这样 烧开了也有味",
    "你好 我在那个金湾路上 路边那个井的盖子 上面写着燃气 那个盖子碎成几块掉下去了",
)
FIXTURE = Path(__file__).parent / "data" / "pipeline_outputs.jsonl"
SCRIPT = """
import json, sys
from nlp import Classifier
classifier = Classifier.load_default()
texts = json.loads(sys.stdin.read())
print(json.dumps([classifier.classify(t).to_json_dict() for t in texts], ensure_ascii=False))
"""


def _in_process(seed: str) -> list[object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps(TIES),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)},
    )
    answers: list[object] = json.loads(done.stdout)
    return answers


def test_answers_do_not_depend_on_the_hash_seed() -> None:
    first = _in_process("1")
    assert len(first) == len(TIES)
    assert all(_in_process(seed) == first for seed in ("2", "3"))


def _recorded() -> list[dict[str, Any]]:
    with FIXTURE.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _answer(classifier: Classifier, text: str) -> dict[str, Any]:
    found = classifier.classify(text)
    emergency = detect_emergency(text)
    return {
        "json": found.to_json_dict(),
        "matched": list(found.matched),
        "scores": [repr(d.score) for d in found.departments],
        "emergency": None if emergency is None else emergency.service,
    }


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load_default()


@pytest.mark.parametrize("pipeline", ["with_base_model", "rules_only"])
def test_sample_gives_the_recorded_answers(classifier: Classifier, pipeline: str) -> None:
    recorded = _recorded()
    assert len(recorded) >= 280
    shipped = classifier.base
    assert shipped is not None
    classifier.use_base(shipped if pipeline == "with_base_model" else None)
    try:
        # Twice, the second time backwards: nothing cached may depend on what came before.
        for rows in (recorded, recorded[::-1]):
            differing = [
                row["text"][:40]
                for row in rows
                if _answer(classifier, row["text"]) != row[pipeline]
            ]
            assert differing == []
    finally:
        classifier.use_base(shipped)


def test_a_fresh_classifier_answers_the_same() -> None:
    recorded = _recorded()[:60]
    fresh = Classifier.load_default()
    assert [_answer(fresh, row["text"]) for row in recorded] == [
        row["with_base_model"] for row in recorded
    ]
