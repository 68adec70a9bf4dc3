"""Robust regression losses under gross target outliers, and dropout's train–test gap.

    .venv/bin/python benchmarks/robust_and_dropout.py [--seeds 3]

(a) ``make_friedman1`` (10 inputs, 5 informative, noise 1.0), 1000 training and 1000 test
rows.  In 5 % of the *training* rows the target gets a gross error: ± (30 … 60), about ten
times the target's standard deviation.  ``MLPRegressor(hidden_layer_sizes=(64, 64))``,
Adam, 150 epochs, inputs standardised on the training rows, the same ``random_state``
for each loss: squared_error, huber (huber_epsilon = 1.35 on the target's own scale) and
absolute_error.  Reported: MAE on the clean test set, mean ± std over the seeds.

(b) scikit-learn's digits (8×8, scaled to [0, 1]), a stratified 50/50 split.
``MLPClassifier(hidden_layer_sizes=(512, 512))``, Adam, 60 epochs, alpha = 1e-4, without and
with ``dropout=0.5``.  Reported: train and test accuracy and their gap.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def robust(seed: int) -> dict[str, float]:
    from sklearn.datasets import make_friedman1
    from sklearn.metrics import mean_absolute_error
    from sklearn.preprocessing import StandardScaler

    from deltaprop import MLPRegressor

    X, y = make_friedman1(n_samples=2000, n_features=10, noise=1.0, random_state=seed)
    X_tr, X_te, y_tr, y_te = X[:1000], X[1000:], y[:1000].copy(), y[1000:]
    rng = np.random.default_rng(seed)
    bad = rng.choice(len(y_tr), size=len(y_tr) // 20, replace=False)  # 5 %
    y_tr[bad] += rng.choice([-1.0, 1.0], size=len(bad)) * rng.uniform(30, 60, size=len(bad))
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    out = {}
    for loss in ("squared_error", "huber", "absolute_error"):
        est = MLPRegressor(hidden_layer_sizes=(64, 64), loss=loss, max_iter=150, random_state=seed)
        est.fit(X_tr, y_tr)
        out[loss] = mean_absolute_error(y_te, est.predict(X_te))
    return out


def dropout(seed: int) -> dict[str, tuple[float, float]]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from deltaprop import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X / 16.0, y, test_size=0.5, stratify=y, random_state=seed)
    out = {}
    for rate in (0.0, 0.5):
        est = MLPClassifier(hidden_layer_sizes=(512, 512), dropout=rate, max_iter=60, random_state=seed)
        est.fit(X_tr, y_tr)
        out[f"dropout={rate:g}"] = (est.score(X_tr, y_tr), est.score(X_te, y_te))
    return out


def main() -> None:
    from sklearn.exceptions import ConvergenceWarning

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    seeds = range(parser.parse_args().seeds)
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()

    maes = [robust(s) for s in seeds]
    print("(a) make_friedman1, 5 % gross outliers in the training targets: clean test MAE")
    print("| loss | test MAE (mean ± std) |\n|---|---|")
    for loss in maes[0]:
        v = np.array([m[loss] for m in maes])
        print(f"| {loss} | {v.mean():.3f} ± {v.std():.3f} |")

    accs = [dropout(s) for s in seeds]
    print("\n(b) digits, (512, 512) network: accuracy")
    print("| | train | test | gap |\n|---|---|---|---|")
    for name in accs[0]:
        tr = np.array([a[name][0] for a in accs])
        te = np.array([a[name][1] for a in accs])
        print(f"| {name} | {tr.mean():.4f} | {te.mean():.4f} | {(tr - te).mean():.4f} |")
    print(f"\n{len(seeds)} seed(s), {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
