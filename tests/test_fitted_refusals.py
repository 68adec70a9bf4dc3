"""What ``deltaprop train`` (which fits the estimators) refuses and keeps: bad parameter values
and fractional class labels refused before training, no live callback kept by a resumed
run's record, and the one-unit scaling rule kept off a table of two units."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest

import deltaprop as dp
from deltaprop.command.train import TrainOptions, train
from deltaprop.errors import UserError
from deltaprop.tabular.encode import FeatureEncoder, shared_unit

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _table(tmp_path, n=120, seed=0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame({
        "a": a, "b": b,
        "y": 2 * a + b + rng.normal(0, 0.1, n),
        "band": np.select([a < -0.5, a < 0.5], [0.5, 1.5], 2.5),  # classes written as fractions
    })
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path


def _opts(tmp_path, data, **kw):
    kw.setdefault("hidden", (4,))
    kw.setdefault("epochs", 3)
    return TrainOptions(data=str(data), out=str(tmp_path / "m.dpm"), no_report=True, quiet=True, **kw)


# -- 1. class labels the estimator refuses
def test_fractional_class_labels_are_refused_in_one_line_naming_the_fix(tmp_path):
    """The estimator refuses them (scikit-learn: 'Unknown label type'); the command says so in
    one line that names the column and the fix, and writes nothing."""
    data = _table(tmp_path)
    with pytest.raises(ValueError, match="Unknown label type"):
        dp.MLPClassifier(max_iter=2, random_state=0).fit(np.zeros((3, 1)), [0.5, 1.5, 2.5])
    with pytest.raises(UserError, match="'band' holds fractions.*--task regression") as refused:
        train(_opts(tmp_path, data, targets=("band",), drop=("y",), task="classification"))
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "m.dpm").exists()


# -- 2. option values the estimator's parameter check refused
@pytest.mark.parametrize("option", [{"dropout": math.nan}, {"loss": "huber", "huber_epsilon": math.inf},
                                    {"learning_rate": math.inf}, {"alpha": math.nan}])
def test_non_finite_options_are_refused_before_training(tmp_path, option):
    """--dropout nan trained a model whose parameters the estimator refuses; --huber-epsilon inf
    trained and then crashed writing the file (internal error: inf is not JSON)."""
    data = _table(tmp_path)
    with pytest.raises(UserError):
        train(_opts(tmp_path, data, targets=("y",), drop=("band",), **option))
    assert not (tmp_path / "m.dpm").exists()


# -- 3. the resumed run's model must not carry the run's callback
def test_a_resumed_runs_model_keeps_no_callback_and_pickles(tmp_path):
    data = _table(tmp_path)
    train(_opts(tmp_path, data, targets=("y",), drop=("band",), epochs=3))
    result = train(_opts(tmp_path, data, targets=("y",), drop=("band",), epochs=5, resume=True))
    assert result.model.fitted.params.get("callback") is None
    assert result.model.estimator.callback is None  # was fit_step.<locals>.watch: the old monitor
    # was: Can't pickle local object 'fit_step.<locals>.watch'
    again = pickle.loads(pickle.dumps(result.model))
    assert again.estimator.callback is None and again.fitted.params.get("callback") is None
    assert np.array_equal(again.fitted.network.get_flat(), result.model.fitted.network.get_flat())


# -- 4. the one-unit rule on a table of mixed units
def test_columns_of_different_units_are_not_scaled_as_one():
    """40 amounts in 0..999 and 30 fractions in 0..1: the rule scaled every column by 1/999,
    so the fractions became inputs below 0.001 (validation R² 0.81 -> -0.01 on such a table)."""
    lows, highs = [0.0] * 70, [999.0] * 40 + [1.0] * 30
    assert shared_unit(lows, highs) is None
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(np.hstack([rng.integers(0, 1000, (200, 40)), rng.random((200, 30))]),
                         columns=[f"c{k}" for k in range(70)])
    enc = FeatureEncoder().fit(frame, list(frame.columns))
    assert np.abs(enc.transform(frame)[:, 40:]).max() > 0.5
