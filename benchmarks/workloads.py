"""The benchmark's workloads: what each trains, on what data, and who runs it in which dtype.

Every workload is run by deltaprop's estimator, scikit-learn's MLP and an eager PyTorch loop
with the same architecture, optimiser, batch size, learning rate, epochs and shuffling.
A workload has one or more *rows*: the dtype deltaprop runs in, and the peers (tool, dtype)
it is compared with in that row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Row:
    dtype: str
    peers: tuple  # ((tool, dtype), …)
    note: str = ""


@dataclass(frozen=True)
class Workload:
    name: str
    sizes: tuple
    activation: str
    task: str  # "regression", "classification" or "predict"
    solver: str  # "sgd", "adam", "lbfgs"
    n_samples: int
    epochs: int  # epochs (L-BFGS: iterations) timed
    batch_size: int = 200
    momentum: float = 0.0
    learning_rate: float = 0.001
    rows: tuple = field(default_factory=tuple)
    description: str = ""

    @property
    def n_weights(self):
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))


F64, F32 = "float64", "float32"

WORKLOADS = {
    w.name: w
    for w in [
        Workload(
            "seed", (4, 16, 3), "tanh", "regression", "sgd", 20_000, epochs=10, batch_size=32,
            momentum=0.0, learning_rate=0.01,
            rows=(Row(F64, (("sklearn", F64), ("torch", F64))),),
            description="4-16-3 regression, tanh, plain SGD, batch 32, 20,000 samples",
        ),
        Workload(
            "online", (4, 16, 3), "tanh", "regression", "sgd", 2_000, epochs=3, batch_size=1,
            momentum=0.0, learning_rate=0.01,
            rows=(Row(F64, (("sklearn", F64),)),),
            description="the seed's network online: plain SGD, batch 1, 2,000 samples",
        ),
        Workload(
            "tabular", (20, 128, 128, 1), "relu", "regression", "adam", 50_000, epochs=8,
            batch_size=200, learning_rate=0.001,
            rows=(Row(F64, (("sklearn", F64),)), Row(F32, (("torch", F32),))),
            description="20-128-128-1 regression, relu, Adam, batch 200, 50,000 samples",
        ),
        Workload(
            "wide", (784, 512, 512, 10), "relu", "classification", "sgd", 20_000, epochs=4,
            batch_size=128, momentum=0.9, learning_rate=0.01,
            rows=(Row(F32, (("sklearn", F64), ("torch", F32)), "scikit-learn at its default float64"),),
            description="784-512-512-10 classification, relu, SGD momentum 0.9, batch 128, 20,000 samples",
        ),
        Workload(
            "lbfgs", (10, 50, 1), "tanh", "regression", "lbfgs", 2_000, epochs=200,
            rows=(Row(F64, (("sklearn", F64), ("torch", F64))),),
            description="10-50-1 regression, tanh, L-BFGS, 2,000 samples (time per iteration)",
        ),
        Workload(
            "predict", (20, 128, 128, 1), "relu", "predict", "adam", 1_000_000, epochs=1,
            rows=(Row(F64, (("sklearn", F64), ("torch", F64))),),
            description="predict 1,000,000 rows with the tabular network (rows per second)",
        ),
    ]
}

QUICK = {"seed": 2_000, "online": 500, "tabular": 5_000, "wide": 2_000, "lbfgs": 500, "predict": 100_000}


def make_data(workload, dtype, n_samples=None, seed=0):
    """(X, y) for a workload, X drawn directly in ``dtype`` (no float64 copy left behind).

    Regression targets come from a fixed random tanh "teacher" network; classification
    labels are the argmax of a random linear map.
    """
    n = workload.n_samples if n_samples is None else n_samples
    rng = np.random.default_rng(seed)
    n_in, n_out = workload.sizes[0], workload.sizes[-1]
    X = rng.standard_normal((n, n_in), dtype=np.dtype(dtype).type)
    teacher = np.random.default_rng(seed + 1)
    # a Python float: a numpy float64 scalar would make A, and X @ A, float64
    A = teacher.standard_normal((n_in, 8)).astype(dtype) / math.sqrt(n_in)
    if workload.task == "classification":
        B = teacher.standard_normal((8, n_out)).astype(dtype)
        y = np.argmax(np.tanh(X @ A) @ B, axis=1)
    else:
        B = teacher.standard_normal((8, n_out)).astype(dtype)
        y = np.tanh(X @ A) @ B
        y = y.ravel() if n_out == 1 else y
    return X, y
