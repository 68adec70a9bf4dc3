"""``deltaprop.explanation``: the seed's derivation for any weight of any trained network.

    >>> ex = deltaprop.explain(net, "3:2,1", X, D)     # w_21^(3)
    >>> ex.value, ex.backprop, ex.numerical, ex.relative_error
    >>> print(ex.to_text()); ex.to_latex(); ex.to_html()

``core`` computes (the Explanation, its paths and layer reports) with ``elementwise`` (the
derivation's formulas, every sample at once); ``steps`` writes the derivation as one function
per step, in the words of ``words`` (English or Japanese), with the formula nodes of
``formula``; ``pictures`` draws the two transposes with numbers and ``diagram`` the network;
``text``, ``latex`` and ``page`` render the steps for a terminal, pdflatex and the browser.
The ``deltaprop explain`` command is ``deltaprop.command.explain``.
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
