"""The base model shipped in nlp/data/base_model.json: trained on the project's labelled
corpus (`hotline nlp pretrain`), and its honest figure by k-fold cross-validation
(`hotline nlp crossval`): each fold is scored by a model that never saw it.

scikit-learn is imported (through nlp.training) only when training.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from nlp.classifier import Classifier
from nlp.evaluation import EvaluationReport, LabelledComplaint, read_labelled, score
from nlp.model import TrainedModel
from nlp.suggestion import Classification
from nlp.training import Example, Fit, train

# One-vs-rest by SGD (cross-validated better than lbfgs on the corpus, and minutes faster).
# Weights below `prune` are dropped from the shipped file, which keeps it small and quick to
# score; cross-validation measured no loss from dropping them (docs/CLASSIFICATION.md).
CORPUS_FIT = Fit(method="sgd", alpha=1e-5, epochs=15, prune=0.2, category_prune=0.5)


def examples(rows: Sequence[LabelledComplaint]) -> list[Example]:
    return [Example(r.text, r.department, r.category_code, r.urgent) for r in rows]


def read_corpus(paths: Sequence[Path]) -> list[LabelledComplaint]:
    """The rows of every labelled CSV, in order."""
    return [row for path in paths for row in read_labelled(path)]


def pretrain(
    rows: Sequence[LabelledComplaint],
    featurise: Callable[[str], list[str]],
    now: datetime,
    source: str,
) -> TrainedModel:
    """The base model from labelled rows."""
    return train(examples(rows), featurise, now, CORPUS_FIT, source=source)


def folds_of(count: int, folds: int) -> list[int]:
    """Fold number of each row: round-robin, so every fold has each part of the file."""
    return [index % folds for index in range(count)]


def cross_validate(
    classifier: Classifier,
    rows: Sequence[LabelledComplaint],
    also_train: Sequence[LabelledComplaint],
    folds: int,
    now: datetime,
    confusions: int = 10,
) -> EvaluationReport:
    """Rules + a base model trained on the other folds (and `also_train`), on each fold.
    The classifier's own base model is put back afterwards."""
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    kept = classifier.base
    assignment = folds_of(len(rows), folds)
    pairs: list[tuple[LabelledComplaint, Classification]] = []
    try:
        for fold in range(folds):
            training = [r for r, f in zip(rows, assignment, strict=True) if f != fold]
            held = [r for r, f in zip(rows, assignment, strict=True) if f == fold]
            model = pretrain(
                list(training) + list(also_train), classifier.features, now, "cross-validation"
            )
            classifier.use_base(model)
            pairs += [(row, classifier.classify(row.text)) for row in held]
    finally:
        classifier.use_base(kept)
    return score(pairs, confusions)
