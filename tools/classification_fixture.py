"""Write tests/nlp/data/pipeline_outputs.jsonl: what the classifier suggests for a fixed sample
of complaints, so that work on its speed can be checked to change none of its answers.

Run `python tools/classification_fixture.py` only when the answers are meant to change (new
rules, a new base model), and say so in the commit. The sample is every fifth row of the
development set, every sixth of the labelled set and a few awkward texts; the held-out sets
are left out.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data"
OUT = ROOT / "tests" / "nlp" / "data" / "pipeline_outputs.jsonl"
EVERY = {"dev_complaints.csv": 5, "labelled_complaints.csv": 6}
AWKWARD = (
    "",
    "   ",
    "路灯不亮",
    "那 个 井 盖 没 了 有 人 掉 下 去",
    "电 电线 倒 倒 了",
    "ＡＢＣ小区门口井盖丢了！！",
    "streetlight broken near the school",
    "不是垃圾的问题，是下水道堵了，已经修好了又坏了",
    "井盖坏了，问了几家都说不归他们管",
    "喂 你好 我要反映一下 就是那个 嗯 朝阳区建设大街88号旁边那个变压器 一直在冒火花 滋滋响 "
    "旁边就是小学 小孩放学都从这里过 你们赶紧派人来看看吧",
    "煤气味很重，楼道里都是，是不是漏气了",
    "以前这里煤气味很重，后来修好了，现在没有味道了",
    "路口着火了，有人被困",
    "🙂🙂🙂",
    "路" * 300,
)


def sample() -> list[str]:
    texts: list[str] = []
    for name, every in EVERY.items():
        with (DATA / name).open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        texts += [row["text"] for row in rows[::every]]
    return texts + list(AWKWARD)


def outputs(texts: list[str]) -> list[dict[str, Any]]:
    """Per text: the JSON the console shows, the matched words, exact department scores and
    the emergency service, with the shipped base model and with the rules alone."""
    from nlp import Classifier
    from nlp.emergency import detect_emergency

    classifier = Classifier.load_default()
    base = classifier.base
    result: list[dict[str, Any]] = [{"text": text} for text in texts]
    for name, model in (("with_base_model", base), ("rules_only", None)):
        classifier.use_base(model)
        for text, row in zip(texts, result, strict=True):
            found = classifier.classify(text)
            emergency = detect_emergency(text)
            row[name] = {
                "json": found.to_json_dict(),
                "matched": list(found.matched),
                "scores": [repr(d.score) for d in found.departments],
                "emergency": None if emergency is None else emergency.service,
            }
    return result


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    rows = outputs(sample())
    OUT.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    print(f"{OUT.relative_to(ROOT)}: {len(rows)} texts")


if __name__ == "__main__":
    main()
