"""
Explaining one gradient
=======================

:func:`deltaprop.explain` redoes the derivation for one weight of a network with your numbers:
the chain rule step by step, the value from the element-wise formula, from backpropagation and
from central differences, and every path from the weight to the loss.  Here: w_21^(2) of the
derivation's 4-5-3 network, on one sample.
"""

import html

import numpy as np

import deltaprop as dp

rng = np.random.default_rng(1)
X = rng.normal(size=(1, 4))
D = rng.normal(size=(1, 3))
net = dp.Network([4, 5, 3], activation="tanh", random_state=0)

ex = dp.explain(net, "2:2,1", X, D)
print(f"element-wise: {ex.value:.12g}")
print(f"backprop:     {ex.backprop:.12g}")
print(f"numerical:    {ex.numerical:.12g}   (relative error {ex.relative_error:.1e})")

# %%
# As text
# -------
print(ex.to_text())


# %%
# As a page
# ---------
# The HTML page that ``ex.to_html()`` writes (and ``deltaprop explain --out w21.html``): MathML,
# inline SVG diagrams, no JavaScript.
class Page:
    """Shows a full HTML page inside the documentation, in a frame of its own."""

    def __init__(self, page):
        self.page = page

    def _repr_html_(self):
        return (
            f'<iframe srcdoc="{html.escape(self.page, quote=True)}" '
            f'style="width:100%;height:900px;border:1px solid #ccc"></iframe>'
        )


Page(ex.to_html())


# %%
# Every weight on one page
# ------------------------
# ``weight="all"`` derives every weight and bias of a small network (up to 300): the network is
# drawn once, each link is a link to its weight's folded derivation, and a table lists every
# gradient with the largest marked.
every = dp.explain(net, "all", X, D)
print(f"{len(every)} weights; the largest |dE/dw| is w{every.largest.weight}")
Page(every.to_html())
