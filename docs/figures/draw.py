"""Draw the figures of docs/derivation.md with deltaprop's own diagram code.

    .venv/bin/python docs/figures/draw.py      # writes docs/figures/*.svg

The network is the derivation's: 4 inputs, 5 hidden units, 3 outputs (the +1 bias unit
drawn in each non-output layer).  Each figure highlights one weight and the links its
gradient runs through.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def figures() -> dict[str, str]:
    """{file name: SVG text} of every figure."""
    from deltaprop.core.network import Network
    from deltaprop.explanation.diagram import Highlight, Layout, network_svg

    net = Network([4, 5, 3], activation="tanh", random_state=0)
    layout = Layout(net, {})
    outputs = {(3, k) for k in (1, 2, 3)}
    return {
        "network.svg": network_svg(net, layout, Highlight(), title="the 4-5-3 network"),
        "output-weight.svg": network_svg(
            net,
            layout,
            Highlight(units={(2, 1), (3, 2)}, focus={(3, 2, 1)}, loss=True),
            title="w₂₁⁽³⁾: from hidden unit 1 to output 2",
        ),
        "hidden-weight.svg": network_svg(
            net,
            layout,
            Highlight(
                units={(1, 1), (2, 2)} | outputs,
                links={(3, k, 2) for k in (1, 2, 3)},
                focus={(2, 2, 1)},
                loss=True,
            ),
            title="w₂₁⁽²⁾: from input 1 to hidden unit 2, and on through every output k",
        ),
    }


def main() -> None:
    from deltaprop.explanation.diagram import CSS

    for name, svg in figures().items():
        # the diagram's classes are styled by the explain page's CSS: the figure carries it
        styled = svg.replace(">", f"><style>{CSS}</style>", 1)
        (HERE / name).write_text(styled + "\n", encoding="utf-8")
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
