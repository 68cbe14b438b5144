"""Classification of complaints: department, directory category and urgency suggestions."""

from nlp.classifier import Category, Classification, Classifier, DepartmentScore, classify_lines

__all__ = ["Category", "Classification", "Classifier", "DepartmentScore", "classify_lines"]
