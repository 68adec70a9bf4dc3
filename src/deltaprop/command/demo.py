"""``make demo``: the worked example's network learns, and its two formulas meet backpropagation.

The network is the worked example's of docs/derivation.md: 4 inputs, one hidden layer (tanh),
3 outputs, identity output, squared error.  The data is a smooth regression task with 4 inputs
and 3 targets, made here from a fixed seed, so the demo runs offline in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop.core.network import Network
from deltaprop.core.optim import gradient_descent
from deltaprop.explanation.core import explain

if TYPE_CHECKING:
    from deltaprop.explanation.core import Explanation

#: the worked example's two derivatives: the output-layer weight w_21^(3) and the hidden-layer weight w_21^(2)
WORKED_WEIGHTS = ((3, 2, 1), (2, 2, 1))


def worked_task(n_samples: int = 200, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A regression task with 4 inputs and 3 targets: X uniform in [-1, 1]^4."""
    X = np.random.RandomState(random_state).uniform(-1, 1, size=(n_samples, 4))
    first = np.sin(np.pi * X[:, 0]) * 0.5 + 0.3 * X[:, 1]
    return X, np.column_stack([first, X[:, 1] * X[:, 2], 0.5 * np.cos(X[:, 3] * 2) - 0.2 * X[:, 0]])


def train_and_check(n_hidden: int = 5, n_epochs: int = 2000,
                    learning_rate: float = 0.2) -> tuple[Network, list[Explanation]]:
    """Train the worked example's network by gradient descent and print its two formulas with
    numbers.  Returns the network and the Explanations of w_21^(3) and w_21^(2) on the first sample."""
    X, D = worked_task()
    net = Network([4, n_hidden, 3], activation="tanh", random_state=0)
    print(f"The worked network of the derivation in docs/derivation.md: {net}")
    print(f"Training by gradient descent (full batch of {len(X)} samples, η = {learning_rate}):")
    history = gradient_descent(net, X, D, learning_rate=learning_rate, n_epochs=n_epochs)
    for epoch in sorted({e for e in (0, 10, 100, 500, 1000) if e < n_epochs} | {n_epochs}):
        print(f"  epoch {epoch:5d}   loss {history[epoch]:.6f}")
    if not history[-1] < history[0] / 2:
        raise SystemExit("the loss did not fall: something is wrong")

    x, d = X[:1], D[:1]
    xs, ds = np.array2string(x[0], precision=3), np.array2string(d[0], precision=3)
    print(f"\nOne sample, n = 1:  x = {xs}  d = {ds}")
    # each Explanation holds the element-wise derivation, backprop and the central difference
    out, hid = (explain(net, weight, x, d) for weight in WORKED_WEIGHTS)

    s = out.walked  # the output-layer weight w_21^(3): (y_2 - d_2) z_1^(2)
    y2, d2, z1 = s.z[3][1], s.d[1], s.z[2][0]
    print("\n∂Eₙ/∂w₂₁⁽³⁾ = (y₂ − d₂) z₁⁽²⁾")
    print(f"           = ({y2:.6f} − {d2:.6f}) × {z1:.6f} = {(y2 - d2) * z1:.9f}")

    s = hid.walked  # the hidden-layer weight w_21^(2): f'(u_2^(2)) Σ_k w_k2^(3) (u_k^(3) - d_k) z_1^(1)
    fp, x1 = s.fprime[2][1], s.z[1][0]
    terms = [(net.W[3][k, 1], s.u[3][k], s.d[k]) for k in range(3)]
    total = sum(w * (u - dk) for w, u, dk in terms)
    print("\n∂Eₙ/∂w₂₁⁽²⁾ = f′(u₂⁽²⁾) Σₖ wₖ₂⁽³⁾ (uₖ⁽³⁾ − dₖ) z₁⁽¹⁾")
    inner = "".join(
        (f"{w:.4f}" if k == 0 else f" {'−' if w < 0 else '+'} {abs(w):.4f}") + f"×({u:.4f} − {dk:.4f})"
        for k, (w, u, dk) in enumerate(terms)
    )
    print(f"           = {fp:.6f} × [{inner}] × {x1:.6f}")
    print(f"           = {fp:.6f} × {total:.6f} × {x1:.6f} = {fp * total * x1:.9f}")

    print(f"\n{'weight':<10}{'element-wise':>18}{'backprop':>18}{'finite diff.':>18}{'rel. error':>12}")
    for name, ex in (("w₂₁⁽³⁾", out), ("w₂₁⁽²⁾", hid)):
        numbers = f"{ex.value:>18.12f}{ex.backprop:>18.12f}{ex.numerical:>18.12f}"
        print(f"{name:<10}{numbers}{ex.relative_error:>12.1e}")
    if not max(out.relative_error, hid.relative_error) < 1e-5:  # the explain page's "agree"
        raise SystemExit("the derivation's formulas, backpropagation and finite differences disagree")
    print("\nThe derivation's formulas, backpropagation and finite differences agree.")
    return net, [out, hid]


def write_explain_page(explanations: list[Explanation],
                       path: str | os.PathLike[str] = "explain.html") -> Path:
    """The explain page of the worked example's two derivatives (``train_and_check``'s) at ``path``."""
    from deltaprop.explanation.page import render_pages

    intro = (
        "<p>The 4-5-3 network of the worked derivation (docs/derivation.md) after the demo's training, "
        "on its first sample: the derivation's two derivatives, the output-layer weight "
        "w<sub>21</sub><sup>(3)</sup> and the hidden-layer weight w<sub>21</sub><sup>(2)</sup>, derived "
        "step by step as the derivation does.</p>"
    )
    out = Path(path)
    out.write_text(render_pages(explanations, "The worked derivation, on a trained network", intro), "utf-8")
    return out.resolve()


def main(*args: Any, **kwargs: Any) -> Network:
    """Train and check, then write the explain page of both derivatives and print its path."""
    net, explanations = train_and_check(*args, **kwargs)
    path = write_explain_page(explanations)
    print(f"\nThe derivation, step by step with diagrams, on this network: {path}")
    return net


if __name__ == "__main__":
    main()
