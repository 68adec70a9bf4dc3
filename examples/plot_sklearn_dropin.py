"""
A drop-in for scikit-learn's MLP
================================

Change one import: ``deltaprop.MLPClassifier`` takes scikit-learn's parameters, draws the same
random numbers and exposes the same fitted attributes, and its ``network_`` is a deltaprop
:class:`~deltaprop.Network` that every tool here works on.  Both learn the digits below, from
the same initial weights, visiting the samples in the same order.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP

from deltaprop import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)
params = dict(hidden_layer_sizes=(32,), max_iter=20, random_state=0)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    ours = MLPClassifier(**params).fit(X_train, y_train)
    theirs = SklearnMLP(**params).fit(X_train, y_train)

print(f"deltaprop accuracy:    {ours.score(X_test, y_test):.3f}")
print(f"scikit-learn accuracy: {theirs.score(X_test, y_test):.3f}")
print("network:", ours.network_)

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(ours.loss_curve_, label="deltaprop", lw=3, alpha=0.6)
ax.plot(theirs.loss_curve_, "--", label="scikit-learn")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
plt.show()
