"""The registry of the fast paths' own forms of the core's formulas.

Each table lists, keyed by the core's name (``docs/architecture.md``: which module owns which
formula), a path's own form (an in-place numpy form of a canonical pair, a numba kernel), or
None where the path uses the definition on purpose.  :data:`RESTATEMENTS` is keyed by formula:
the compiled functions that restate it, each under a ``# restates: <formula>`` marker.
``tests/test_registry.py`` holds each form equal to its definition on every path and dtype,
and fails on a name a table lacks, a marker missing here, or an entry without its marker.
"""

from __future__ import annotations

from deltaprop.core.losses import CANONICAL_IN_PLACE
from deltaprop.speed.fused import BACKWARD_KERNELS, FORWARD_KERNELS, STEP_KERNELS

__all__ = [
    "EPOCH_HIDDEN", "EPOCH_OUTPUT", "EPOCH_STEPS", "FORWARD_KERNELS", "BACKWARD_KERNELS",
    "STEP_KERNELS", "CANONICAL_IN_PLACE", "RESTATEMENTS",
]

#: hidden activation → the compiled epoch's code for it (the branches of
#: ``deltaprop.speed.epoch.hidden_f`` and ``hidden_df``)
EPOCH_HIDDEN: dict[str, int | None] = {
    "identity": 0, "tanh": 1, "logistic": 2, "relu": 3, "leaky_relu": 4, "softplus": 5,
}

#: (loss, output) → the compiled epoch's code for it (the branches of
#: ``deltaprop.speed.epoch.output``); only canonical pairs, δ^(L) = y - d
EPOCH_OUTPUT: dict[tuple[str, str], int] = {
    ("squared_error", "identity"): 0,
    ("log_loss", "softmax"): 1,
    ("binary_log_loss", "logistic"): 2,
    ("poisson", "exp"): 3,
}

#: optimiser rule → the compiled epoch's code for it (SGD's three forms share sgd_step)
EPOCH_STEPS = {"sgd": 0, "momentum": 1, "nesterov": 2, "adam": 3}

#: formula of the core (``module.name``, a loss's in brackets) → the compiled functions
#: (``module.function`` of :mod:`deltaprop.speed`) that restate it, each under a ``# restates:``
#: marker
RESTATEMENTS: dict[str, tuple[str, ...]] = {
    "core.activations.Identity.f": ("kernels.add_bias",),
    "core.activations.Tanh.f": ("epoch.tanh",),
    "core.activations.Logistic.f": ("epoch.hidden_f",),
    "core.activations.Relu.f": ("kernels.add_bias_relu", "epoch.hidden_f"),
    "core.activations.LeakyRelu.f": ("kernels.add_bias_leaky_relu", "epoch.hidden_f"),
    "core.activations.Softplus.f": ("epoch.logaddexp0",),
    "core.activations.Tanh.derivative": ("kernels.tanh_df", "epoch.hidden_df"),
    "core.activations.Logistic.derivative": ("kernels.logistic_df", "epoch.hidden_df"),
    "core.activations.Relu.derivative": ("kernels.relu_df", "epoch.hidden_df"),
    "core.activations.LeakyRelu.derivative": ("kernels.relu_df", "epoch.hidden_df"),
    "core.activations.Softplus.derivative": ("epoch.hidden_df",),
    **{f"core.losses.{part}[{loss}]": ("epoch.output",)
       for loss in ("squared_error", "log_loss", "binary_log_loss", "poisson")
       for part in ("per_sample", "output_delta")},
    "core.losses.l2_penalty": ("epoch.batch_loss",),
    "core.losses.l2_gradient": ("kernels.add_scaled", "epoch.layer_gradient", "epoch.epoch",
                                "fused.add_l2_gradient"),
    "core.losses.total_weight": ("epoch.batch_weight",),
    "core.network.Network.forward": ("epoch.affine",),
    "core.network.Network.backprop": ("epoch.scale_output_delta", "epoch.delta_below",
                                      "epoch.layer_gradient"),
    "core.optim.sgd_step": ("kernels.sgd_step",),
    "core.optim.adam_step": ("kernels.adam_step",),
}
