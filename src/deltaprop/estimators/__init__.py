"""Drop-in replacements for scikit-learn's ``MLPRegressor`` and ``MLPClassifier``.

The estimator classes load on first use (they import scikit-learn); the package's
scikit-learn-free part, :mod:`deltaprop.estimators.fitted`, imports without it.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deltaprop.estimators.mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from deltaprop.estimators import mlp

        return getattr(mlp, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
