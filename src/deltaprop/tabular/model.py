"""The command's model: preprocessing and a fitted estimator, predicting from DataFrames.

A :class:`TabularModel` bundles what ``deltaprop train`` trains: a
:class:`~deltaprop.tabular.encode.FeatureEncoder`, a
:class:`~deltaprop.tabular.encode.TargetEncoder` and a fitted estimator.
``deltaprop.save`` / ``deltaprop.load`` store all of it without pickle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from deltaprop.errors import UserError
from deltaprop.tabular.encode import FeatureEncoder, TargetEncoder, json_label
from deltaprop.tabular.read import read_table

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from deltaprop.core.network import Network

__all__ = ["TabularModel", "FeatureEncoder", "TargetEncoder", "read_table"]


class TabularModel:
    """Preprocessing and a fitted estimator: predictions from DataFrames, in the user's units.

    Parameters
    ----------
    features : FeatureEncoder
    target : TargetEncoder
    estimator : fitted deltaprop.MLPRegressor or deltaprop.MLPClassifier
        Trained on ``features.transform(frame)`` and ``target.encode(y)``.
    history : dict, optional
        The training run: loss curves, validation curves, gradient norms, metrics, options.
    network : Network, optional
        The estimator's fitted network, given with ``build_estimator`` instead of ``estimator``.
    build_estimator : callable, optional
        Makes the estimator (with ``network``) when it is first used; a loaded model predicts
        regression targets through ``network`` alone, so predicting needs no scikit-learn.
    """

    def __init__(
        self,
        features: FeatureEncoder,
        target: TargetEncoder,
        estimator: Any,
        history: dict[str, Any] | None = None,
        *,
        network: Network | None = None,
        build_estimator: Callable[[], Any] | None = None,
    ):
        if estimator is None and (network is None or build_estimator is None):
            raise ValueError("TabularModel needs an estimator, or a network and build_estimator")
        self.features = features
        self.target = target
        self._estimator = estimator
        self._network = network
        self._build_estimator = build_estimator
        self.history = history or {}

    @property
    def estimator(self) -> Any:
        """The fitted deltaprop.MLPRegressor or MLPClassifier (built on first use if loaded)."""
        if self._estimator is None:
            assert self._build_estimator is not None
            self._estimator = self._build_estimator()
        return self._estimator

    @estimator.setter
    def estimator(self, est: Any) -> None:
        self._estimator = est

    # -- what the rest of deltaprop reads
    @property
    def network_(self) -> Network:
        if self._estimator is None and self._network is not None:
            return self._network
        return self.estimator.network_

    def _regression_outputs(self, X: np.ndarray) -> np.ndarray:
        """The network's outputs y for inputs X (n, n_inputs), in the network's units."""
        if self._estimator is None and self._network is not None:
            from deltaprop.speed.backprop import predict

            return predict(self._network, X)
        return self.estimator.predict(X)

    @property
    def task(self) -> str:
        return self.target.task

    @property
    def feature_names_(self) -> list[str]:
        return self.features.feature_names

    @property
    def input_names_(self) -> list[str]:
        return self.features.input_names

    @property
    def target_names_(self) -> list[str]:
        return self.target.names

    @property
    def classes_(self) -> np.ndarray | None:
        return getattr(self.estimator, "classes_", None) if self.task == "classification" else None

    def __repr__(self) -> str:
        sizes = "-".join(str(n) for n in self.network_.sizes)
        return f"TabularModel({self.task}, {sizes}, targets={self.target.names})"

    # -- predictions
    def transform(self, frame: pd.DataFrame, notes: list[str] | None = None) -> np.ndarray:
        """The network input for the rows of ``frame``, shape (n_samples, n_inputs)."""
        return self.features.transform(frame, notes=notes)

    def predict(self, frame: pd.DataFrame, notes: list[str] | None = None) -> np.ndarray:
        """Predictions in the user's units: labels, or values (shape (n,) for one target)."""
        X = self.transform(frame, notes)
        if self.task == "regression":
            Y = self.target.decode(self._regression_outputs(X))
            return Y[:, 0] if Y.shape[1] == 1 else Y
        return self.estimator.predict(X)

    def predict_proba(self, frame: pd.DataFrame, notes: list[str] | None = None) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        if self.task != "classification":
            raise UserError("probabilities exist for classification models only; leave out --proba")
        return self.estimator.predict_proba(self.transform(frame, notes))

    def predict_frame(
        self, frame: pd.DataFrame, proba: bool = False, notes: list[str] | None = None
    ) -> pd.DataFrame:
        """A DataFrame of predictions named after the targets (and ``proba_<class>`` columns)."""
        import pandas as pd

        X = self.transform(frame, notes)
        out = pd.DataFrame(index=range(len(frame)))
        if self.task == "regression":
            Y = self.target.decode(self._regression_outputs(X))
            for k, name in enumerate(self.target.names):
                out[name] = Y[:, k]
        else:
            out[self.target.names[0]] = [json_label(v) for v in self.estimator.predict(X)]
            if proba:
                P = self.estimator.predict_proba(X)
                for k, c in enumerate(self.estimator.classes_):
                    out[f"proba_{json_label(c)}"] = P[:, k]
        return out
