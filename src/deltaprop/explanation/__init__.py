"""``deltaprop.explanation``: the seed's derivation for any weight of any trained network.

    >>> ex = deltaprop.explain(net, "3:2,1", X, D)     # w_21^(3)
    >>> ex.value, ex.backprop, ex.numerical, ex.relative_error
    >>> print(ex.to_text()); ex.to_latex(); ex.to_html()

``core`` computes the Explanation with ``elementwise`` (the derivation's formulas, every sample at
once); ``steps`` writes the derivation step by step in the words of ``words`` (English or Japanese)
with the formula nodes of ``formula``; ``pictures`` draws the two transposes and ``diagram`` the
network; ``text``, ``latex`` and ``page`` render the steps for a terminal, LaTeX and the browser.
"""

from deltaprop.explanation.core import (
    Explanation,
    Explanations,
    LayerReport,
    Path,
    TransposeCheck,
    as_network,
    explain,
)

__all__ = ["explain", "Explanation", "Explanations", "Path", "LayerReport", "TransposeCheck", "as_network"]
