"""The learned model: trained with scikit-learn, scored in plain Python, stored as JSON."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nlp import Classifier
from nlp.model import TrainedModel
from nlp.training import MIN_EXAMPLES, STRENGTH, Example, TrainingError, train

DATA = Path(__file__).resolve().parents[1] / "data" / "labelled_complaints.csv"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load_default()


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [Example(r["text"], r["department"], r["category_code"] or None) for r in rows]


def test_plain_python_scores_equal_scikit_learns(
    classifier: Classifier, examples: list[Example], tmp_path: Path
) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    model = train(examples, classifier.features, NOW)
    model.save(tmp_path / "model.json")
    loaded = TrainedModel.load(tmp_path / "model.json")
    assert loaded.examples == len(examples)
    assert loaded.categories is not None
    rows = [classifier.features(e.text) for e in examples]
    vectorizer = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True, lowercase=False)
    reference = LogisticRegression(C=STRENGTH, max_iter=2000)
    reference.fit(vectorizer.fit_transform(rows), [e.department for e in examples])
    probe = ["小区门口井盖被偷了", "工地半夜还在打桩", "河里漂满垃圾", "公司拖欠三个月工资"]
    matrix = vectorizer.transform([classifier.features(text) for text in probe])
    expected = reference.predict_proba(matrix)
    for text, row in zip(probe, expected, strict=True):
        ours = loaded.departments.probabilities(classifier.features(text))
        for label, probability in zip(reference.classes_, row, strict=True):
            assert ours[label] == pytest.approx(probability, abs=2e-3)


def test_model_evidence_names_words_of_the_text(
    classifier: Classifier, examples: list[Example]
) -> None:
    model = train(examples, classifier.features, NOW)
    feats = classifier.features("路灯不亮黑灯瞎火")
    words = model.departments.evidence(feats, "MUNICIPAL")
    assert words and all(word in "路灯不亮黑灯瞎火" for word in words)


def test_too_little_or_too_uniform_data_is_refused(classifier: Classifier) -> None:
    few = [Example("路灯不亮", "MUNICIPAL")] * (MIN_EXAMPLES - 1)
    with pytest.raises(TrainingError, match="at least"):
        train(few, classifier.features, NOW)
    same = [Example(f"路灯不亮{i}", "MUNICIPAL") for i in range(MIN_EXAMPLES)]
    with pytest.raises(TrainingError, match="one department"):
        train(same, classifier.features, NOW)


@pytest.mark.parametrize(
    "content",
    ["", "{}", '{"format": "other"}', '{"format": "hotline-nlp-model/1"}', "not json"],
)
def test_a_broken_model_file_is_refused_with_its_name(tmp_path: Path, content: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="model"):
        TrainedModel.load(path)


def test_blending_lets_a_trained_model_change_the_ranking(
    classifier: Classifier, examples: list[Example]
) -> None:
    # A centre's model over the rules alone (the shipped base model already knows 飞线充电).
    rules_only = Classifier.load_default()
    rules_only.use_base(None)
    text = "五楼窗户挂下来一根电线给电瓶车充电"
    assert rules_only.classify(text).departments[0].code == "POWER"
    taught = examples + [
        Example(t, "ENFORCEMENT")
        for t in (
            "楼下有人从窗户拉电线下来给电瓶车充电",
            "小区里有人私拉电线给电动车充电",
            "一楼住户飞线充电电线从三楼吊下来",
            "有人把电线从窗户扯下来充电瓶车",
            "车棚旁边私拉乱接电线充电",
            "住户从家里接电线到楼下充电动车",
            "六楼拉了根插线板垂到楼下给电动车充电",
            "电线从阳台吊下来充电瓶车很危险",
        )
    ]
    learned = rules_only
    learned.use_model(train(taught, learned.features, NOW))
    result = learned.classify(text)
    assert result.departments[0].code == "ENFORCEMENT"
    assert any(reason.kind == "model" for reason in result.reasons)
    learned.use_model(None)
    assert learned.classify(text).departments[0].code == "POWER"
