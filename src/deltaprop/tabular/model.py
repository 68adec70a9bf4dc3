"""The command's model (:class:`TabularModel`): preprocessing and a fitted estimator, predicting
from DataFrames; ``deltaprop.save`` / ``deltaprop.load`` store all of it without pickle."""

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
    from deltaprop.estimators.fitted import FittedMLP

__all__ = ["TabularModel", "FeatureEncoder", "TargetEncoder", "read_table"]


class TabularModel:
    """Preprocessing and a fitted estimator: predictions from DataFrames, in the user's units.

    Parameters
    ----------
    features : FeatureEncoder
    target : TargetEncoder
    estimator : fitted deltaprop.MLPRegressor or MLPClassifier, or its FittedMLP record
        Trained on ``features.transform(frame)`` and ``target.encode(y)``.  Given the record
        (:class:`~deltaprop.estimators.fitted.FittedMLP`, what ``deltaprop train`` makes and
        a model file holds), the model predicts through it and makes the estimator, which
        imports scikit-learn, only when :attr:`estimator` is asked for.
    history : dict, optional
        The training run: loss curves, validation curves, gradient norms, metrics, options.
    make_estimator : callable, optional
        ``make_estimator(record)`` makes the estimator of a record (default:
        :func:`deltaprop.estimators.mlp.from_record`); a loaded model's turns bad parameters
        into a file error.
    """

    _estimator: Any  # the estimator, once given or made (else None)
    _fitted: FittedMLP | None  # the record the model was made with (None when given the estimator)

    def __init__(self, features: FeatureEncoder, target: TargetEncoder, estimator: Any,
                 history: dict[str, Any] | None = None, *,
                 make_estimator: Callable[[FittedMLP], Any] | None = None):
        self.features = features
        self.target = target
        self.estimator = estimator  # the setter tells a record from an estimator
        self._make_estimator = make_estimator
        self.history = history or {}

    @property
    def estimator(self) -> Any:
        """The fitted deltaprop.MLPRegressor or MLPClassifier (made on first use from the record)."""
        if self._estimator is None:
            assert self._fitted is not None
            from deltaprop.estimators.mlp import from_record

            self._estimator = (self._make_estimator or from_record)(self._fitted)
        return self._estimator

    @estimator.setter
    def estimator(self, est: Any) -> None:
        from deltaprop.estimators.fitted import FittedMLP

        record = isinstance(est, FittedMLP)
        self._estimator, self._fitted = (None, est) if record else (est, None)

    @property
    def fitted(self) -> FittedMLP:
        """The fitted estimator as a record: the estimator's own, once it exists (it may have
        been trained further), else the record the model was made with."""
        if self._estimator is not None:
            from deltaprop.estimators.fitted import FittedMLP

            return FittedMLP.from_estimator(self._estimator)
        assert self._fitted is not None
        return self._fitted

    # -- what the rest of deltaprop reads
    @property
    def network_(self) -> Network:
        # the estimator's own network once it exists (no record built just to read it)
        if self._estimator is not None:
            return self._estimator.network_
        assert self._fitted is not None
        return self._fitted.network

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
        return self.fitted.attributes.get("classes_") if self.task == "classification" else None

    def __repr__(self) -> str:
        sizes = "-".join(str(n) for n in self.network_.sizes)
        return f"TabularModel({self.task}, {sizes}, targets={self.target.names})"

    # -- predictions
    def transform(self, frame: pd.DataFrame, notes: list[str] | None = None) -> np.ndarray:
        """The network input for the rows of ``frame``, shape (n_samples, n_inputs)."""
        return self.features.transform(frame, notes=notes)

    def outputs(self, frame: pd.DataFrame, notes: list[str] | None = None) -> np.ndarray:
        """The network's outputs y for the rows of ``frame``, (n_samples, n_outputs); a regression's
        in the user's units.  Refuses rows whose outputs are not finite numbers."""
        import numpy as np

        X = self.transform(frame, notes)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below, in words
            Y = self.fitted.outputs(X)
            if self.task == "regression":
                Y = self.target.decode(Y)
        finite_outputs(Y, self.network_)
        return Y

    def predict(self, frame: pd.DataFrame, notes: list[str] | None = None) -> np.ndarray:
        """Predictions in the user's units: labels, or values (shape (n,) for one target)."""
        Y = self.outputs(frame, notes)
        if self.task != "regression":
            return self._labels(Y)
        return Y[:, 0] if Y.shape[1] == 1 else Y

    def predict_proba(self, frame: pd.DataFrame, notes: list[str] | None = None) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        from deltaprop.core import classes

        if self.task != "classification":
            raise UserError("probabilities exist for classification models only; leave out --proba")
        return classes.probabilities(self.outputs(frame, notes))

    def _labels(self, Y: np.ndarray) -> np.ndarray:
        import numpy as np

        from deltaprop.core import classes

        return np.asarray(self.fitted.attributes["classes_"])[classes.predicted_codes(Y)]

    def predict_frame(
        self, frame: pd.DataFrame, proba: bool = False, notes: list[str] | None = None
    ) -> pd.DataFrame:
        """A DataFrame of predictions named after the targets (and ``proba_<class>`` columns)."""
        import pandas as pd

        from deltaprop.core import classes

        Y = self.outputs(frame, notes)
        if self.task == "regression":
            return pd.DataFrame(Y, columns=self.target.names)
        out = pd.DataFrame({self.target.names[0]: [json_label(v) for v in self._labels(Y)]})
        if proba:
            P = classes.probabilities(Y)
            for k, c in enumerate(self.fitted.attributes["classes_"]):
                out[f"proba_{json_label(c)}"] = P[:, k]
        return out


def finite_outputs(Y: np.ndarray, network: Network) -> np.ndarray:
    """``Y``, once checked: predictions that overflowed (a model whose weights are too large
    for its inputs) are refused in one line."""
    import numpy as np

    bad = ~np.isfinite(Y).reshape(len(Y), -1).all(axis=1)
    if bad.any():
        top = max(float(np.abs(network.W[l]).max(initial=0.0)) for l in network.layers)
        raise UserError(
            f"{int(bad.sum())} of {len(Y)} row(s) predict a number that is not finite (it overflowed): "
            f"the model's weights are too large (up to {top:.3g}); retrain the model, with a smaller "
            f"--learning-rate or a larger --alpha"
        )
    return Y
