"""The classifier's segmenter cuts every text as jieba does (accurate mode, no HMM)."""

from __future__ import annotations

import csv
from pathlib import Path

import jieba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import Classifier
from nlp.segment import Segmenter

DATA = Path(__file__).resolve().parents[1] / "data"
AWKWARD = (
    "",
    " ",
    "\r\n",
    "路灯不亮",
    "ABC小区3号楼 门口 井盖-丢了！！ 100% a1b2",
    "那 个 井 盖 没 了",
    "C++ 和 .net 路.灯#3 & 井盖_1",
    "\u9fd6\u9fff 罕见字 𠀀𠀁",
    "ｆｕｌｌ　ｗｉｄｔｈ\t制表\n换行",
    "的的的的的的的的的的的的的的的的的的的的的的的的的的的的的的的的",
)


def _texts() -> list[str]:
    texts = list(AWKWARD)
    for name in ("dev_complaints.csv", "labelled_complaints.csv"):
        with (DATA / name).open(encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    return texts


class _Shipped:
    """The shipped classifier, built once for the whole module (hypothesis reruns tests)."""

    found: Classifier | None = None

    def classifier(self) -> Classifier:
        if self.found is None:
            self.found = Classifier.load_default()
        return self.found

    def tokenizer(self) -> jieba.Tokenizer:
        return self.classifier()._tokenizer


_SHIPPED = _Shipped()


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return _SHIPPED.classifier()


def test_cuts_as_jieba_with_the_classifiers_dictionary(classifier: Classifier) -> None:
    tokenizer = classifier._tokenizer
    segmenter = Segmenter(tokenizer)
    texts = _texts()
    assert len(texts) > 1400
    for text in texts + [classifier.normalise(text) for text in texts]:
        assert segmenter.cut(text) == tokenizer.lcut(text, HMM=False), text


def test_sees_words_added_later() -> None:
    tokenizer = jieba.Tokenizer()
    segmenter = Segmenter(tokenizer)
    assert segmenter.cut("井盖不翼而飞") == tokenizer.lcut("井盖不翼而飞", HMM=False)
    tokenizer.add_word("盖不翼", 10**7)
    assert "盖不翼" in segmenter.cut("井盖不翼而飞")
    assert segmenter.cut("井盖不翼而飞") == tokenizer.lcut("井盖不翼而飞", HMM=False)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list("井盖路灯不亮垃圾桶满了电线杆倒下水道堵的是了没有 ，。a1B-_.%#&+\t\r\n　ｆ𠀀")
        ),
        max_size=60,
    )
)
def test_cuts_any_text_as_jieba(text: str) -> None:
    tokenizer = _SHIPPED.tokenizer()
    assert Segmenter(tokenizer).cut(text) == tokenizer.lcut(text, HMM=False)
