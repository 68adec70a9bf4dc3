"""The network drawn as in the seed's figures, as hand-written SVG.

Layers run left to right (l = 1 … L), units are circles labelled x_i, z_j, y_k, each
non-output layer has its "+1" bias unit on top, every link is drawn, and the loss E sits on
the right.  Links are coloured by the sign of their weight (blue +, orange −) and drawn
with a width that grows with |w| (relative to the largest |w| of that layer).  Layers wider
than :data:`MAX_SHOWN` units are drawn as the units that matter plus an ellipsis ("⋮ 508
more"), so a 784-512-512-10 network stays readable and the SVG stays small.

:func:`network_svg` draws one diagram with a highlight: the units and links of one step of
the derivation (class ``hl``, the weight itself also ``focus``); every unit and link carries
``data-layer``/``data-unit`` or ``data-l``/``data-j``/``data-i`` so a test can find it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

from deltaprop.explanation.formula import Sym, w

if TYPE_CHECKING:
    from deltaprop.core.network import Network
    from deltaprop.explanation.core import Explanation

#: a layer wider than this is drawn as its relevant units plus ellipses
MAX_SHOWN = 12

COLUMN, ROW, RADIUS, TOP = 150, 42, 15, 46
POSITIVE, NEGATIVE, FOCUS, HL_FILL = "#2563eb", "#ea580c", "#dc2626", "#fee2e2"


@dataclass
class Highlight:
    """What one diagram highlights: units (layer, unit) — unit 0 is the +1 unit, "E" the loss
    — links (l, j, i) meaning w_ji^(l), and the focus links (the weight in question)."""

    units: set = field(default_factory=set)
    links: set = field(default_factory=set)
    focus: set = field(default_factory=set)
    loss: bool = False
    label: tuple | None = None


def shown_units(n: int, relevant: Iterable[int], limit: int = MAX_SHOWN) -> list[int | tuple[str, int]]:
    """The slots of a layer of n units: unit numbers (1 … n) and ("gap", count) ellipses."""
    if n <= limit:
        return list(range(1, n + 1))
    keep = sorted({u for u in relevant if 1 <= u <= n} | {1, n})
    keep = keep[: limit - 1] + ([n] if n not in keep[: limit - 1] else [])
    keep = sorted(set(keep))
    slots: list[int | tuple[str, int]] = []
    prev = 0
    for u in keep:
        if u - prev > 1:
            slots.append(("gap", u - prev - 1))
        slots.append(u)
        prev = u
    if n - prev > 0:
        slots.append(("gap", n - prev))
    return slots


class Layout:
    """Positions of every drawn unit of a network, given the units that matter per layer."""

    def __init__(self, net, relevant):
        self.net = net
        self.L = net.L
        self.slots: dict[int, list[int | tuple[str, int]]] = {}
        for layer in range(1, net.L + 1):
            slots = shown_units(net.sizes[layer - 1], relevant.get(layer, ()))
            if layer < net.L:
                slots.insert(0, 0)  # the +1 bias unit
            self.slots[layer] = slots
        rows = max(len(s) for s in self.slots.values())
        self.height = TOP + rows * ROW + 20
        self.width = 60 + (net.L - 1) * COLUMN + 130
        self.pos = {}
        self.gaps = []
        for layer, slots in self.slots.items():
            x = 50 + (layer - 1) * COLUMN
            offset = TOP + (rows - len(slots)) * ROW / 2 + ROW / 2
            for n, slot in enumerate(slots):
                y = offset + n * ROW
                if isinstance(slot, tuple):
                    self.gaps.append((x, y, slot[1]))
                else:
                    self.pos[(layer, slot)] = (x, y)
        self.loss_pos = (50 + (net.L - 1) * COLUMN + 100, TOP + rows * ROW / 2)

    def units(self, layer):
        return [s for s in self.slots[layer] if not isinstance(s, tuple)]


def _label(net, layer, unit):
    """x_i, z_j or y_k as a circle's label (the column's header gives the layer), "+1" for a bias."""
    if unit == 0:
        return "+1"
    return Sym("x" if layer == 1 else "y" if layer == net.L else "z", str(unit)).text()


def _links(net: Network, layout: Layout, hl: Highlight) -> tuple[list[str], list[str], list[str]]:
    """The links as SVG lines: faded, highlighted, and the focus (drawn last, on top)."""
    faded: list[str] = []
    bright: list[str] = []
    focus: list[str] = []
    for l in range(2, net.L + 1):
        W, b = net.W[l], net.b[l]
        scale = max(float(abs(W).max()), float(abs(b).max()), 1e-12)
        # the "+1" bias unit of layer l only sends links, so j runs over real units (j ≥ 1)
        for j in (j for j in layout.units(l) if j != 0):
            for i in layout.units(l - 1):
                wv = float(b[j - 1] if i == 0 else W[j - 1, i - 1])
                (x1, y1), (x2, y2) = layout.pos[(l - 1, i)], layout.pos[(l, j)]
                width = 0.6 + 3.4 * abs(wv) / scale
                colour = POSITIVE if wv >= 0 else NEGATIVE
                key = (l, j, i)
                cls = "link hl" if key in hl.links or key in hl.focus else "link"
                line = (
                    f'<line class="{cls}" data-l="{l}" data-j="{j}" data-i="{i}" data-w="{wv:.6g}" '
                    f'x1="{x1 + RADIUS:.1f}" y1="{y1:.1f}" x2="{x2 - RADIUS:.1f}" y2="{y2:.1f}" '
                    f'stroke="{colour}" stroke-width="{width:.2f}"/>'
                )
                if key in hl.focus:
                    focus.append(
                        f'<line class="halo hl focus" data-l="{l}" data-j="{j}" data-i="{i}" '
                        f'x1="{x1 + RADIUS:.1f}" y1="{y1:.1f}" x2="{x2 - RADIUS:.1f}" y2="{y2:.1f}" '
                        f'stroke="{FOCUS}" stroke-width="{width + 5:.2f}"/>' + line
                    )
                    mx, my = (x1 + x2) / 2, (y1 + y2) / 2 - 6
                    if key == hl.label:
                        focus.append(
                            f'<text class="wlabel" x="{mx:.1f}" y="{my:.1f}" text-anchor="middle">'
                            f"{w(j, i, l).text()} = {wv:.3g}</text>"
                        )
                elif "hl" in cls:
                    bright.append(line)
                else:
                    faded.append(line)
    return faded, bright, focus


def network_svg(
    net: Network,
    layout: Layout,
    hl: Highlight,
    title: str = "",
    numbers: dict[tuple[int, int], list[str]] | None = None,
    layer_names: tuple[str, str, str] = ("input", "hidden", "output"),
    dropped: set[tuple[int, int]] | None = None,
) -> str:
    """One diagram as an ``<svg>`` string (inline; no external references).

    ``numbers`` maps a drawn unit (layer, unit) to the lines written beside its circle;
    ``dropped`` lists the units (layer, unit) a dropout mask zeroes (m_j = 0), drawn grey.
    """
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="net" width="{layout.width:.0f}" '
        f'height="{layout.height:.0f}" viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" '
        f'role="img" aria-label="{escape(title)}">'
    ]
    if title:
        out.append(f"<title>{escape(title)}</title>")
    for layer in range(1, net.L + 1):
        x = 50 + (layer - 1) * COLUMN
        name = layer_names[0] if layer == 1 else layer_names[2] if layer == net.L else layer_names[1]
        out.append(
            f'<text class="col" x="{x}" y="16" text-anchor="middle">l = {layer}</text>'
            f'<text class="col" x="{x}" y="31" text-anchor="middle">{name} ({net.sizes[layer - 1]})</text>'
        )
    faded, bright, focus = _links(net, layout, hl)
    lx, ly = layout.loss_pos
    for k in layout.units(net.L):
        x, y = layout.pos[(net.L, k)]
        cls = "elink hl" if hl.loss and (net.L, k) in hl.units else "elink"
        faded.append(
            f'<line class="{cls}" x1="{x + RADIUS:.1f}" y1="{y:.1f}" x2="{lx - RADIUS:.1f}" y2="{ly:.1f}"/>'
        )
    dim = " dim" if (hl.links or hl.focus or hl.units) else ""
    out.append(f'<g class="links{dim}">' + "".join(faded) + "</g>")
    out.append('<g class="links-hl">' + "".join(bright) + "".join(focus) + "</g>")
    for (layer, unit), (x, y) in layout.pos.items():
        cls = "unit hl" if (layer, unit) in hl.units else "unit"
        if unit == 0:
            cls += " bias"
        if (layer, unit) in (dropped or ()):
            cls += " dropped"
        out.append(
            f'<g class="{cls}" data-layer="{layer}" data-unit="{unit}"><circle cx="{x:.1f}" cy="{y:.1f}" '
            f'r="{RADIUS}"/><text x="{x:.1f}" y="{y + 4.5:.1f}" text-anchor="middle">'
            f"{_label(net, layer, unit)}</text></g>"
        )
    for (layer, unit), lines in (numbers or {}).items():
        if (layer, unit) not in layout.pos:
            continue
        x, y = layout.pos[(layer, unit)]
        for n, line in enumerate(lines):
            out.append(
                f'<text class="num" x="{x + RADIUS + 3:.1f}" y="{y - 3 + 10 * n:.1f}">{escape(line)}</text>'
            )
    for x, y, count in layout.gaps:
        out.append(
            f'<g class="gap"><text x="{x:.1f}" y="{y + 2:.1f}" text-anchor="middle">⋮</text>'
            f'<text class="more" x="{x + 19:.1f}" y="{y + 4:.1f}">{count} more</text></g>'
        )
    cls = "unit loss hl" if hl.loss else "unit loss"
    out.append(
        f'<g class="{cls}" data-layer="E" data-unit="E">'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="{RADIUS + 3}"/>'
        f'<text x="{lx:.1f}" y="{ly + 5:.1f}" text-anchor="middle">E</text></g>'
    )
    out.append("</svg>")
    return "".join(out)


#: the diagram's CSS, shared by every SVG on the page
CSS = f"""
svg.net {{ display: block; max-width: 100%; height: auto; font-family: sans-serif; }}
svg.net .col {{ font-size: 11px; fill: #555; }}
svg.net .link {{ opacity: 0.85; }}
svg.net .links.dim .link {{ opacity: 0.14; }}
svg.net .links-hl .link {{ opacity: 1; }}
svg.net .halo {{ opacity: 0.55; }}
svg.net .elink {{ stroke: #999; stroke-width: 1; stroke-dasharray: 3 3; }}
svg.net .elink.hl {{ stroke: {FOCUS}; stroke-width: 2; opacity: 1; }}
svg.net .unit circle {{ fill: #fff; stroke: #444; stroke-width: 1.3; }}
svg.net .unit.bias circle {{ fill: #f3f4f6; }}
svg.net .unit.hl circle {{ fill: {HL_FILL}; stroke: {FOCUS}; stroke-width: 2.6; }}
svg.net .unit.dropped circle {{ fill: #d1d5db; stroke: #9ca3af; stroke-dasharray: 3 2; }}
svg.net .unit.dropped text {{ fill: #6b7280; }}
svg.net .unit text {{ font-size: 12px; fill: #111; }}
svg.net .num {{ font-size: 8.5px; fill: #1f2937; paint-order: stroke; stroke: #fff; stroke-width: 2.5px; }}
svg.net .gap text {{ font-size: 16px; fill: #666; }}
svg.net .gap text.more {{ font-size: 10px; }}
svg.net .wlabel {{ font-size: 11px; fill: {FOCUS}; font-weight: bold; paint-order: stroke; stroke: #fff;
  stroke-width: 3px; }}
"""


# ---------------------------------------------------------------------- per step
def relevant_units(ex: Explanation) -> dict[int, set[int]]:
    """The units that matter for this explanation, per layer: i, j and those on the top paths."""
    rel: dict[int, set[int]] = {layer: set() for layer in range(1, ex.L + 1)}
    if ex.i:
        rel[ex.l - 1].add(ex.i)
    rel[ex.l].add(ex.j)
    for p in ex.paths[:8]:
        for layer, k in p.units:
            rel[layer].add(k)
    return rel


def _real(layout: Layout, layer: int) -> list[int]:
    """The drawn units of a layer without its +1 unit (nothing flows into a bias unit)."""
    return [k for k in layout.units(layer) if k != 0]


def _hl_input(ex: Explanation, layout: Layout, hl: Highlight) -> None:
    """nn6: u_j = Σ_i' w_ji' z_i' + w_j0 — every link into unit j, the +1 unit's included."""
    l, j = ex.l, ex.j
    hl.links = {(l, j, k) for k in layout.units(l - 1)}
    hl.units = {(l - 1, k) for k in layout.units(l - 1)} | {(l, j)}


def _hl_delta_out(ex: Explanation, layout: Layout, hl: Highlight) -> None:
    """nn4: y_j − d_j (every y_k for a softmax output that is not canonical)."""
    hl.units = {(ex.l, ex.j), (ex.l - 1, ex.i)}
    if ex.net.output == "softmax" and not ex.canonical:
        hl.units |= {(ex.L, k) for k in layout.units(ex.L)}
    hl.loss = True


def _hl_fanout(ex: Explanation, layout: Layout, hl: Highlight) -> None:
    """nn2 / nn7: u_j reaches every u_k of layer l+1."""
    l, j = ex.l, ex.j
    hl.links = {(l + 1, k, j) for k in _real(layout, l + 1)}
    hl.units = {(l, j)} | {(l + 1, k) for k in _real(layout, l + 1)}


def _hl_link(ex: Explanation, layout: Layout, hl: Highlight) -> None:
    """nn9 / nn10: u_k = Σ_j' w_kj' f(u_j'), the links w_kj in focus."""
    l, j = ex.l, ex.j
    hl.links = {(l + 1, k, jj) for k in _real(layout, l + 1) for jj in layout.units(l)}
    hl.units = {(l, jj) for jj in layout.units(l)} | {(l + 1, k) for k in _real(layout, l + 1)}
    hl.focus = {(l, j, ex.i)} | {(l + 1, k, j) for k in _real(layout, l + 1)}


def _hl_delta_hidden(ex: Explanation, layout: Layout, hl: Highlight) -> None:
    """Σ_k w_kj δ_k: the links leaving unit j (column j of W^(l+1)) and the units they reach."""
    l, j = ex.l, ex.j
    hl.links = {(l + 1, k, j) for k in _real(layout, l + 1)}
    hl.units = {(l, j), (l - 1, ex.i)} | {(l + 1, k) for k in _real(layout, l + 1)}


def _hl_delta_next(ex: Explanation, layout: Layout, hl: Highlight) -> None:
    """nn8: the deltas of the layers above, down to y − d."""
    for m in range(ex.l + 2, ex.L + 1):
        hl.links |= {(m, k, kk) for k in _real(layout, m) for kk in _real(layout, m - 1)}
    hl.units = {(m, k) for m in range(ex.l + 1, ex.L + 1) for k in _real(layout, m)}
    hl.loss = True


def _hl_outer(ex: Explanation, layout: Layout, hl: Highlight) -> None:
    """δ^(l) (z^(l−1))ᵀ: every link into layer l (all of W^(l), biases included)."""
    l = ex.l
    hl.links = {(l, jj, ii) for jj in _real(layout, l) for ii in layout.units(l - 1)}
    hl.units = {(l, jj) for jj in _real(layout, l)} | {(l - 1, ii) for ii in layout.units(l - 1)}


def _hl_paths(ex: Explanation, layout: Layout, hl: Highlight) -> None:
    """Every path from the weight to E."""
    hl.units = {(ex.l - 1, ex.i), (ex.l, ex.j)}
    for p in ex.paths:
        prev = (ex.l, ex.j)
        for layer, k in p.units[1:]:
            hl.links.add((layer, k, prev[1]))
            hl.units.add((layer, k))
            prev = (layer, k)
    hl.loss = True


_HIGHLIGHTS = {
    "input": _hl_input,
    "delta_out": _hl_delta_out,
    "fanout": _hl_fanout,
    "link": _hl_link,
    "delta_hidden": _hl_delta_hidden,
    "delta_next": _hl_delta_next,
    "outer": _hl_outer,
    "paths": _hl_paths,
}


def step_highlight(ex: Explanation, layout: Layout, key: str) -> Highlight:
    """The Highlight of one derivation step, as the derivation's figures draw them."""
    weight = (ex.l, ex.j, ex.i)
    hl = Highlight(focus={weight}, label=weight)
    hl.units = {(ex.l - 1, ex.i), (ex.l, ex.j)}  # "weight": nn1 / nn5, the weight and its two ends
    if key in _HIGHLIGHTS:
        _HIGHLIGHTS[key](ex, layout, hl)
    return hl


def _v(x: float) -> str:
    return f"{float(x) + 0.0:.3g}".replace("-", "−")


def unit_numbers(ex: Explanation) -> dict[tuple[int, int], list[str]]:
    """u, z, f′(u) and δ of every unit on the walked sample, as the lines beside its circle."""
    s = ex.walked
    assert s is not None
    out: dict[tuple[int, int], list[str]] = {}
    for n, x in enumerate(s.z[1]):
        out[(1, n + 1)] = [_v(x)]
    for layer in ex.net.layers:
        fp = s.fprime[layer]
        for n in range(ex.net.sizes[layer - 1]):
            z_name = "y" if layer == ex.L else "z"
            first = f"u {_v(s.u[layer][n])}  {z_name} {_v(s.z[layer][n])}"
            second = (
                f"f′ {_v(fp[n])}  " if fp is not None and layer < ex.L else ""
            ) + f"δ {_v(s.delta[layer][n])}"
            out[(layer, n + 1)] = [first, second]
    return out


#: the columns' names per language
LAYER_NAMES = {"en": ("input", "hidden", "output"), "ja": ("入力層", "中間層", "出力層")}


def step_svg(ex: Explanation, key: str, title: str = "", lang: str = "en") -> str:
    """The diagram for one step of ``ex`` (a key of :func:`deltaprop.explanation.steps.steps`)."""
    layout = Layout(ex.net, relevant_units(ex))
    hl = step_highlight(ex, layout, key)
    mask = ex.walked.mask if ex.walked is not None else {}
    dropped = {(layer, k + 1) for layer, m in mask.items() for k, v in enumerate(m) if v == 0}
    names = LAYER_NAMES.get(lang, LAYER_NAMES["en"])
    return network_svg(ex.net, layout, hl, title, unit_numbers(ex), names, dropped)
