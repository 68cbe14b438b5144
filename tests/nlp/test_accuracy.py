"""The classifier's accuracy on the labelled sets of tests/data (see docs/CLASSIFICATION.md).

- dev_complaints.csv (1,053) was written before the danger model and the base model, and is
  what they were tuned and trained on: its floors catch regressions; its honest figure is the
  cross-validated one (`hotline nlp crossval`), which is reported, not asserted here (slow).
- heldout_split.csv (326) was written first of all and nothing was tuned on it: its figure is
  the estimate for complaints nobody has seen. Its floors sit just under what it measured
  when the work was finished; nothing may be tuned on it afterwards.
- labelled_complaints.csv (352) tuned the first rules and is in the base model's training
  data; heldout_complaints.csv (132) is not, and was never tuned on.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from nlp import Classifier
from nlp.evaluation import EvaluationReport, LabelledComplaint, evaluate, read_labelled

DATA = Path(__file__).resolve().parents[1] / "data"
HAZARDS = {
    "sign",
    "cover",
    "pole",
    "wall",
    "tree",
    "cable",
    "transformer",
    "gas",
    "bridge",
    "embankment",
    "road",
    "water",
}
VOICES = {"summary", "spoken", "dialect", "asr"}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load_default()


def report(classifier: Classifier, name: str) -> EvaluationReport:
    return evaluate(classifier, read_labelled(DATA / name))


def styles(name: str) -> tuple[Counter[str], Counter[str]]:
    """Voices of all rows, hazard kinds of the urgent ones."""
    import csv

    with (DATA / name).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    voices = Counter(row["style"] for row in rows)
    hazards = Counter(row["hazard"] for row in rows if row["urgent"] == "1")
    return voices, hazards


def check_coverage(
    rows: list[LabelledComplaint], name: str, minimum: int, urgent: int, classifier: Classifier
) -> None:
    assert len(rows) >= minimum
    assert {row.department for row in rows} == set(classifier.departments)
    assert sum(bool(row.urgent) for row in rows) >= urgent
    voices, hazards = styles(name)
    assert set(voices) == VOICES
    assert voices["summary"] < len(rows) * 0.6  # the long spoken voices are not a garnish
    assert sum(len(row.text) >= 40 for row in rows) >= len(rows) * 0.35
    assert HAZARDS <= set(hazards)
    # look-alikes: hazard objects in a state that is not urgent
    assert sum(1 for row in rows if row.urgent is False and row.category_code) > 0


def test_the_development_set_covers_departments_hazards_and_voices(
    classifier: Classifier,
) -> None:
    rows = read_labelled(DATA / "dev_complaints.csv")
    check_coverage(rows, "dev_complaints.csv", 1000, 150, classifier)


def test_the_held_out_split_covers_departments_hazards_and_voices(
    classifier: Classifier,
) -> None:
    rows = read_labelled(DATA / "heldout_split.csv")
    check_coverage(rows, "heldout_split.csv", 300, 80, classifier)


def test_no_held_out_text_is_in_the_training_data() -> None:
    held = {row.text for row in read_labelled(DATA / "heldout_split.csv")}
    for name in ("dev_complaints.csv", "labelled_complaints.csv"):
        assert not held & {row.text for row in read_labelled(DATA / name)}


def test_the_shipped_model_is_in_use(classifier: Classifier) -> None:
    assert classifier.base is not None
    assert "dev_complaints.csv" in classifier.base.source


def test_held_out_split_stays_where_it_was_measured(classifier: Classifier) -> None:
    # Measured once, when the work was finished (95.7%, 100.0%, 82.9%, 88.2%, 99.1%); these
    # floors sit just under it, and nothing is to be tuned on this set.
    figures = report(classifier, "heldout_split.csv")
    assert figures.rows == 326
    assert figures.top1 >= 0.94
    assert figures.top3 >= 0.99
    assert figures.category_accuracy is not None and figures.category_accuracy >= 0.80
    assert figures.urgent_recall is not None and figures.urgent_recall >= 0.97
    assert figures.urgent_precision is not None and figures.urgent_precision >= 0.85


def test_development_set_stays_where_it_was_measured(classifier: Classifier) -> None:
    # The base model was trained on it: these are training-set figures, kept as floors.
    figures = report(classifier, "dev_complaints.csv")
    assert figures.top1 >= 0.96
    assert figures.top3 >= 0.99
    assert figures.category_accuracy is not None and figures.category_accuracy >= 0.85
    assert figures.urgent_recall is not None and figures.urgent_recall >= 0.98
    assert figures.urgent_precision is not None and figures.urgent_precision >= 0.93


def test_labelled_set_stays_where_it_was_measured(classifier: Classifier) -> None:
    figures = report(classifier, "labelled_complaints.csv")
    assert figures.top1 >= 0.95
    assert figures.top3 >= 0.99
    assert figures.urgent_recall is not None and figures.urgent_recall >= 0.95


def test_old_held_out_set_stays_where_it_was_measured(classifier: Classifier) -> None:
    figures = report(classifier, "heldout_complaints.csv")
    assert figures.rows == 132
    assert figures.top1 >= 0.85
    assert figures.top3 >= 0.95
    assert figures.urgent_recall is not None and figures.urgent_recall >= 0.85
