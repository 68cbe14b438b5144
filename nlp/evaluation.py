"""Measuring the classifier on a labelled CSV: department top-1/top-3, category, urgency."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nlp.classifier import Classifier
from nlp.suggestion import Classification

REQUIRED_COLUMNS = ("text", "department")


@dataclass(frozen=True)
class LabelledComplaint:
    text: str
    department: str
    category_code: str | None = None
    urgent: bool | None = None


@dataclass(frozen=True)
class EvaluationReport:
    rows: int
    top1: float
    top3: float
    category_rows: int
    category_accuracy: float | None
    urgent_rows: int
    urgent_precision: float | None
    urgent_recall: float | None
    confusions: list[tuple[str, str, int]] = field(default_factory=list)  # expected, got, count

    def lines(self) -> list[str]:
        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1%}"

        out = [
            f"rows:                  {self.rows}",
            f"department top-1:      {pct(self.top1)}",
            f"department top-3:      {pct(self.top3)}",
            f"category accuracy:     {pct(self.category_accuracy)} ({self.category_rows} rows)",
            f"urgent precision:      {pct(self.urgent_precision)} ({self.urgent_rows} rows)",
            f"urgent recall:         {pct(self.urgent_recall)}",
            "most common confusions (expected → suggested):",
        ]
        out += [f"  {want} → {got}: {count}" for want, got, count in self.confusions] or ["  none"]
        return out


def _flag(value: str) -> bool | None:
    text = value.strip().lower()
    if text in {"1", "true", "yes", "y", "是"}:
        return True
    if text in {"0", "false", "no", "n", "否"}:
        return False
    if not text:
        return None
    raise ValueError(f"urgent must be true or false, got {value!r}")


def read_labelled(path: Path) -> list[LabelledComplaint]:
    """Rows of a CSV with columns text,department and optional category_code,urgent."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = []
        for number, row in enumerate(reader, start=2):
            try:
                rows.append(
                    LabelledComplaint(
                        text=row["text"],
                        department=row["department"].strip(),
                        category_code=(row.get("category_code") or "").strip() or None,
                        urgent=_flag(row.get("urgent") or ""),
                    )
                )
            except ValueError as error:
                raise ValueError(f"{path} line {number}: {error}") from None
        return rows


def evaluate(
    classifier: Classifier, rows: Iterable[LabelledComplaint], confusions: int = 10
) -> EvaluationReport:
    """The classifier's figures on labelled rows."""
    return score([(row, classifier.classify(row.text)) for row in rows], confusions)


def score(
    pairs: Iterable[tuple[LabelledComplaint, Classification]], confusions: int = 10
) -> EvaluationReport:
    """Figures of suggestions already made (cross-validation makes them fold by fold)."""
    total = top1 = top3 = category_rows = category_hits = urgent_rows = 0
    true_positive = predicted_urgent = actual_urgent = 0
    mistakes: Counter[tuple[str, str]] = Counter()
    for row, result in pairs:
        codes = [d.code for d in result.departments]
        total += 1
        top1 += codes[0] == row.department
        top3 += row.department in codes
        if codes[0] != row.department:
            mistakes[(row.department, codes[0])] += 1
        if row.category_code is not None:
            category_rows += 1
            category_hits += (
                result.category is not None and result.category.code == row.category_code
            )
        if row.urgent is not None:
            urgent_rows += 1
            predicted_urgent += result.urgent
            actual_urgent += row.urgent
            true_positive += result.urgent and row.urgent
    return EvaluationReport(
        rows=total,
        top1=top1 / total if total else 0.0,
        top3=top3 / total if total else 0.0,
        category_rows=category_rows,
        category_accuracy=category_hits / category_rows if category_rows else None,
        urgent_rows=urgent_rows,
        urgent_precision=true_positive / predicted_urgent if predicted_urgent else None,
        urgent_recall=true_positive / actual_urgent if actual_urgent else None,
        confusions=[(want, got, n) for (want, got), n in mistakes.most_common(confusions)],
    )


# TipDM 2020 C's seven level-1 classes, as the departments map to them (docs/CLASSIFICATION.md).
# Its 城乡建设 also holds housing, demolition and planning, and 交通运输 taxis and freight,
# which a city-management line transfers to 12345; the four classes of other lines cannot be
# told apart by departments at all, so they are scored together as "转12345".
TIPDM_OTHER = "转12345"
TIPDM_CLASSES = {
    "城乡建设": "城乡建设",
    "环境保护": "环境保护",
    "交通运输": "交通运输",
    "劳动和社会保障": TIPDM_OTHER,
    "教育文体": TIPDM_OTHER,
    "卫生计生": TIPDM_OTHER,
    "商贸旅游": TIPDM_OTHER,
}
DEPARTMENT_TO_TIPDM = {
    "SANITATION": "城乡建设",
    "ENFORCEMENT": "城乡建设",
    "MUNICIPAL": "城乡建设",
    "LANDSCAPE": "城乡建设",
    "WATER": "城乡建设",
    "GAS": "城乡建设",
    "POWER": "城乡建设",
    "TELECOM": "城乡建设",
    "WATER_AFFAIRS": "城乡建设",
    "ECOLOGY": "环境保护",
    "TRAFFIC": "交通运输",
    "TRANSFER_12345": TIPDM_OTHER,
}


@dataclass(frozen=True)
class CoarseReport:
    rows: int
    accuracy: float
    # class → (rows, share right)
    per_class: dict[str, tuple[int, float]]
    confusions: list[tuple[str, str, int]]

    def lines(self) -> list[str]:
        out = [f"rows: {self.rows}", f"accuracy (4 classes): {self.accuracy:.1%}"]
        out += [f"  {name}: {share:.1%} of {n}" for name, (n, share) in self.per_class.items()]
        out.append("most common confusions (label → department):")
        out += [f"  {want} → {got}: {count}" for want, got, count in self.confusions]
        return out


def read_tipdm(path: Path) -> list[tuple[str, str]]:
    """(title + text, level-1 label) of tipdm2020c_messages_l1.csv."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [
            (f"{row['title']}。{row['text']}", row["label_l1"]) for row in csv.DictReader(handle)
        ]


def evaluate_tipdm(
    classifier: Classifier, rows: Iterable[tuple[str, str]], confusions: int = 10
) -> CoarseReport:
    """Top department mapped to TipDM's classes, against each message's label."""
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    mistakes: Counter[tuple[str, str]] = Counter()
    for text, label in rows:
        want = TIPDM_CLASSES[label]
        department = classifier.classify(text).departments[0].code
        totals[want] += 1
        if DEPARTMENT_TO_TIPDM[department] == want:
            right[want] += 1
        else:
            mistakes[(label, department)] += 1
    count = sum(totals.values())
    return CoarseReport(
        rows=count,
        accuracy=sum(right.values()) / count if count else 0.0,
        per_class={name: (n, right[name] / n) for name, n in totals.most_common()},
        confusions=[(want, got, n) for (want, got), n in mistakes.most_common(confusions)],
    )
