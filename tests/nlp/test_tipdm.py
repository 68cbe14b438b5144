"""Real citizen messages (TipDM 2020 C, read from the shared folder, never copied): the top
department mapped to the contest's classes. Floors sit just under what was measured (62.6%
overall, 82.7% of other lines' matters sent to 12345), to catch a change that makes it worse."""

from __future__ import annotations

from nlp import Classifier
from nlp.evaluation import (
    DEPARTMENT_TO_TIPDM,
    TIPDM_CLASSES,
    TIPDM_OTHER,
    evaluate_tipdm,
    read_tipdm,
)
from tests.conftest import SHARED

MESSAGES = SHARED / "eval" / "tipdm2020c" / "tipdm2020c_messages_l1.csv"


def test_every_department_and_label_has_a_class() -> None:
    classifier = Classifier.load_default()
    assert set(DEPARTMENT_TO_TIPDM) == set(classifier.departments)
    assert set(DEPARTMENT_TO_TIPDM.values()) == set(TIPDM_CLASSES.values())


def test_tipdm_messages_accuracy() -> None:
    rows = read_tipdm(MESSAGES)
    assert len(rows) == 495
    report = evaluate_tipdm(Classifier.load_default(), rows)
    assert report.rows == 495
    assert report.accuracy >= 0.60
    rows_other, share_other = report.per_class[TIPDM_OTHER]
    assert rows_other == 306 and share_other >= 0.78
