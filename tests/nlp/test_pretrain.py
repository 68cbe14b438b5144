"""The shipped base model: reproducible from the corpus, used beside the rules, honest about
what it has not seen (cross-validation), and a broken file does not stop the classifier."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import pytest

from nlp import Classifier
from nlp.evaluation import read_labelled, score
from nlp.model import TrainedModel
from nlp.pretrain import cross_validate, folds_of, pretrain, read_corpus

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = [DATA / "dev_complaints.csv", DATA / "labelled_complaints.csv"]
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load_default()


def test_the_shipped_model_is_what_the_documented_command_makes(
    classifier: Classifier,
) -> None:
    # `hotline nlp pretrain tests/data/dev_complaints.csv tests/data/labelled_complaints.csv
    #  --output nlp/data/base_model.json`: a change to the corpus, the rules or the danger
    # words (they shape the tokens) needs the file made again.
    shipped = json.loads(
        resources.files("nlp").joinpath("data", "base_model.json").read_text("utf-8")
    )
    fresh = pretrain(read_corpus(CORPUS), classifier.features, NOW, shipped["source"]).to_json()
    for head in ("departments", "categories", "urgent"):
        assert fresh[head]["classes"] == shipped[head]["classes"]
        assert fresh[head]["features"] == shipped[head]["features"]
        assert fresh[head]["intercept"] == shipped[head]["intercept"]
    assert fresh["category_departments"] == shipped["category_departments"]
    assert shipped["examples"] == 1053 + 352


def test_cross_validation_scores_each_fold_with_a_model_that_never_saw_it(
    classifier: Classifier,
) -> None:
    rows = read_labelled(DATA / "dev_complaints.csv")[::6]
    shipped = classifier.base
    report = cross_validate(classifier, rows, [], 2, NOW)
    assert classifier.base is shipped  # put back
    assert report.rows == len(rows)
    # The shipped model has seen every one of these rows; a fold model has not, so it can
    # only do worse than the shipped one on them.
    seen = score([(row, classifier.classify(row.text)) for row in rows])
    assert report.top1 <= seen.top1
    assert report.category_accuracy is not None and seen.category_accuracy is not None
    assert report.category_accuracy < seen.category_accuracy


def test_folds_take_every_part_of_the_file() -> None:
    assert folds_of(7, 3) == [0, 1, 2, 0, 1, 2, 0]
    with pytest.raises(ValueError, match="2 folds"):
        cross_validate(Classifier.load_default(), [], [], 1, NOW)


def test_three_categories_with_scores_for_the_agent(classifier: Classifier) -> None:
    result = classifier.classify("人民公园门口一棵大树断了根大树枝 挂在半空 下面人来人往")
    assert result.departments[0].code == "LANDSCAPE"
    assert 1 <= len(result.categories) <= 3
    scores = [category.score for category in result.categories]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < score <= 1 for score in scores)
    assert result.category is not None and result.category.code == result.categories[0].code
    assert len({category.code for category in result.categories}) == len(result.categories)


def test_a_broken_base_model_is_logged_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "base_model.json").write_text('{"format": "hotline-nlp-model/2"}', "utf-8")
    city = Classifier.from_directory(resources.files("nlp").joinpath("data"), tmp_path)
    assert city.base is None
    assert "base model not used" in caplog.text
    assert city.classify("光华大道井盖不见了").departments[0].code == "MUNICIPAL"


def test_format_one_files_still_load(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps(
            {
                "format": "hotline-nlp-model/1",
                "trained_at": "2026-11-01T00:00:00+00:00",
                "examples": 12,
                "departments": {
                    "classes": ["A", "B"],
                    "intercept": [0.0, 0.1],
                    "features": {"w:井盖": [1.5, 0.0, 2.0]},
                },
                "categories": None,
            }
        ),
        "utf-8",
    )
    model = TrainedModel.load(path)
    assert model.urgent is None
    probabilities = model.departments.probabilities(["w:井盖"])
    assert probabilities["B"] > probabilities["A"]
