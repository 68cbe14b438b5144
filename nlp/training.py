"""Training the learned model on confirmed tickets (`hotline nlp train`): TF-IDF and a
logistic regression from scikit-learn, exported to the plain-Python form of `nlp.model`.

scikit-learn is imported here only, so serving suggestions never pays for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from nlp.model import URGENT, Head, TrainedModel

# Fewer confirmed tickets than this, or a single department among them, teach nothing useful.
MIN_EXAMPLES = 10
# Inverse regularisation: corrections of one kind must be able to outweigh the rest.
STRENGTH = 10.0
# Weights smaller than this change no probability by more than rounding; they are not kept.
PRUNE = 1e-5


class TrainingError(ValueError):
    """Not enough (or not varied enough) data to train on."""


@dataclass(frozen=True)
class Example:
    text: str
    department: str
    category_code: str | None = None
    # None when the source does not say (an urgency head needs both kinds).
    urgent: bool | None = None


@dataclass(frozen=True)
class Fit:
    """How a head is fitted: multinomial logistic regression (lbfgs), or one-vs-rest logistic
    regression by stochastic gradient descent, which fits hundreds of categories in seconds
    where lbfgs takes minutes."""

    method: str = "lbfgs"  # lbfgs | sgd
    strength: float = STRENGTH  # lbfgs: C
    alpha: float = 1e-5  # sgd: regularisation
    epochs: int = 15  # sgd
    prune: float = PRUNE
    # Hundreds of category classes: their small weights are the bulk of a file.
    category_prune: float | None = None


TICKETS = Fit()


def _head(
    rows: Sequence[list[str]], labels: Sequence[str], fit: Fit = TICKETS, balanced: bool = False
) -> Head:
    """TF-IDF and a linear model; weights smaller than `fit.prune` are dropped, which keeps a
    model of hundreds of categories small and quick to score."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    vectorizer = TfidfVectorizer(
        analyzer=_identity, sublinear_tf=True, norm="l2", smooth_idf=True, lowercase=False
    )
    matrix = vectorizer.fit_transform(rows)
    weighting = "balanced" if balanced else None
    model: Any
    if fit.method == "sgd":
        model = SGDClassifier(
            loss="log_loss",
            alpha=fit.alpha,
            max_iter=fit.epochs,
            tol=None,
            random_state=0,
            class_weight=weighting,
        )
    else:
        model = LogisticRegression(C=fit.strength, max_iter=3000, class_weight=weighting)
    model.fit(matrix, labels)
    classes = tuple(str(label) for label in model.classes_)
    prune = fit.prune
    coef = model.coef_
    intercept = [float(value) for value in model.intercept_]
    if len(classes) == 2:
        # Binary regression keeps one row: softmax([0, z]) is the same as sigmoid(z).
        coef = [[0.0] * coef.shape[1], coef[0]]
        intercept = [0.0, intercept[0]]
    names = vectorizer.get_feature_names_out()
    idf: dict[str, float] = {}
    weights: dict[str, tuple[Sequence[int], Sequence[float]]] = {}
    for column, feature in enumerate(names):
        kept = [
            (k, float(coef[k][column]))
            for k in range(len(classes))
            if abs(float(coef[k][column])) >= prune
        ]
        if not kept:
            continue
        idf[str(feature)] = float(vectorizer.idf_[column])
        weights[str(feature)] = ([k for k, _ in kept], [w for _, w in kept])
    link = "ovr" if fit.method == "sgd" and len(classes) > 2 else "softmax"
    return Head(classes, tuple(intercept), idf, weights, link)


def _identity(features: Any) -> Any:
    return features


def train(
    examples: Sequence[Example],
    featurise: Callable[[str], list[str]],
    now: datetime,
    fit: Fit = TICKETS,
    source: str = "tickets",
) -> TrainedModel:
    """A model from confirmed tickets (or a labelled corpus); TrainingError if there is too
    little to learn from. An urgency head is trained when the examples hold both kinds."""
    if len(examples) < MIN_EXAMPLES:
        raise TrainingError(
            f"{len(examples)} confirmed tickets; at least {MIN_EXAMPLES} are needed to train"
        )
    departments = Counter(example.department for example in examples)
    if len(departments) < 2:
        raise TrainingError("all confirmed tickets have one department; nothing to tell apart")
    rows = [featurise(example.text) for example in examples]
    department_head = _head(rows, [example.department for example in examples], fit)
    categorised = [
        (row, example.category_code)
        for row, example in zip(rows, examples, strict=True)
        if example.category_code
    ]
    category_head = None
    if len({code for _, code in categorised}) >= 2:
        by_category = fit if fit.category_prune is None else replace(fit, prune=fit.category_prune)
        category_head = _head(
            [row for row, _ in categorised], [code for _, code in categorised], by_category
        )
    flagged = [
        (row, URGENT if example.urgent else "")
        for row, example in zip(rows, examples, strict=True)
        if example.urgent is not None
    ]
    urgent_head = None
    if len({label for _, label in flagged}) == 2:
        urgent_head = _head([row for row, _ in flagged], [label for _, label in flagged], fit, True)
    routed: dict[str, set[str]] = {}
    for example in examples:
        if example.category_code:
            routed.setdefault(example.category_code, set()).add(example.department)
    return TrainedModel(
        departments=department_head,
        categories=category_head,
        examples=len(examples),
        trained_at=now.isoformat(timespec="seconds"),
        urgent=urgent_head,
        source=source,
        category_departments={code: tuple(sorted(d)) for code, d in sorted(routed.items())},
    )
