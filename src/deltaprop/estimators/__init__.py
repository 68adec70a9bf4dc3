"""Drop-in replacements for scikit-learn's ``MLPRegressor`` and ``MLPClassifier``."""

from deltaprop.estimators.mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
