"""The TipDM 2020 C mapping: every department and every contest label has a class.

The contest's messages carry no licence, so the project does not ship them and no test reads
them: `make eval TIPDM=.../tipdm2020c_messages_l1.csv` measures the classifier on them (see
docs/CLASSIFICATION.md, "Real citizen messages")."""

from __future__ import annotations

from nlp import Classifier
from nlp.evaluation import DEPARTMENT_TO_TIPDM, TIPDM_CLASSES


def test_every_department_and_label_has_a_class() -> None:
    classifier = Classifier.load_default()
    assert set(DEPARTMENT_TO_TIPDM) == set(classifier.departments)
    assert set(DEPARTMENT_TO_TIPDM.values()) == set(TIPDM_CLASSES.values())
