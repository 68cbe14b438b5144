"""The classifier's answers do not depend on the process: the same text gives the same
suggestion and the same words shown as reasons whatever Python's hash seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Texts where two alternatives of a pattern match equally (桌子+摆|外面, 水+味|怪味).
TIES = (
    "喂 我投诉那个 就是 我们楼下那个 叫什么老王的店 每天晚上在外面支个炉子 烤串 摆好多桌子 "
    "划拳 吵到凌晨 睡不着",
    "那个水有股怪味 就是那种漂白粉的味 特别重 我们整个小区都这样 烧开了也有味",
    "你好 我在那个金湾路上 路边那个井的盖子 上面写着燃气 那个盖子碎成几块掉下去了",
)
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
