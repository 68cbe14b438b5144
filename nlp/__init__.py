"""Classification of complaints: department, directory category and urgency suggestions."""

from nlp.classifier import Classifier, classify_lines
from nlp.suggestion import Category, Classification, DepartmentScore

__all__ = ["Category", "Classification", "Classifier", "DepartmentScore", "classify_lines"]
