"""``deltaprop.explain``: the seed's derivation for any weight of any trained network.

    >>> ex = deltaprop.explain(net, "3:2,1", X, D)     # w_21^(3)
    >>> ex.value, ex.backprop, ex.numerical, ex.relative_error
    >>> print(ex.to_text()); ex.to_latex(); ex.to_html()

``core`` computes (the Explanation, its paths and layer reports), ``formula`` writes the
formulas as text, LaTeX and MathML, ``diagram`` draws the network as SVG, ``page`` assembles
the HTML page and ``command`` is the ``deltaprop explain`` command.
"""

from deltaprop.explain.core import Explanation, LayerReport, Path, TransposeCheck, as_network, explain

__all__ = ["explain", "Explanation", "Path", "LayerReport", "TransposeCheck", "as_network"]
