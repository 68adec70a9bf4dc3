"""The network drawn as in the derivation's figures, as hand-written SVG: each unit a card with
its name and the walked sample's numbers, links from a card's right edge to the next card's left
(no link crosses a label), coloured by sign and as wide as |w|.  Every label is :data:`FONT` user
units and the SVG is never drawn below :data:`MIN_SCALE` (it scrolls), so a label is ≥ 10.6 px."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

from deltaprop.explanation.formula import Sym, w
from deltaprop.explanation.words import say

if TYPE_CHECKING:
    from deltaprop.core.network import Network
    from deltaprop.explanation.core import Explanation

#: a layer wider than this is drawn as its relevant units plus ellipses
MAX_SHOWN = 12
#: a column or class name longer than this is cut short on its card (the tables give it whole)
NAME_CHARS = 14

#: label type and line pitch (user units), the smallest scale the SVG is drawn at
FONT, LINE, MIN_SCALE = 12.5, 15.0, 0.85
#: horizontal run of the links between two layers, space between cards, the header's height
GAP, VGAP, TOP, PAD = 34, 7, 40, 5
POSITIVE, NEGATIVE, FOCUS, HL_FILL = "#2563eb", "#ea580c", "#dc2626", "#fee2e2"


#: widths of characters in DejaVu Sans, in ems (others 0.64; CJK full-width, 1)
_EMS = {**dict.fromkeys("₀₁₂₃₄₅₆₇₈₉⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾ⁱʲᵏⱼᵢₖ", 0.42), **dict.fromkeys(" .,:()′|", 0.36),
        **dict.fromkeys("−+=×mMwW—–", 0.86)}


def text_width(text: str, size: float = FONT) -> float:
    """A generous estimate of the width of ``text`` in DejaVu Sans (CJK in a full-width font)."""
    return size * sum(1.0 if unicodedata.east_asian_width(c) in "WF" else _EMS.get(c, 0.64) for c in text)


@dataclass
class Highlight:
    """What one diagram highlights: units (layer, unit) — unit 0 is the +1 unit, "E" the loss
    — links (l, j, i) meaning w_ji^(l), and the focus links (the weight in question)."""

    units: set = field(default_factory=set)
    links: set = field(default_factory=set)
    focus: set = field(default_factory=set)
    loss: bool = False
    label: tuple | None = None
    note: str = ""  # said below the network instead of the labelled weight's value


def shown_units(n: int, relevant: Iterable[int], limit: int = MAX_SHOWN) -> list[int | tuple[str, int]]:
    """The slots of a layer of n units: unit numbers (1 … n) and ("gap", count) ellipses."""
    if n <= limit:
        return list(range(1, n + 1))
    keep = sorted({u for u in relevant if 1 <= u <= n} | {1, n})
    keep = sorted(set(keep[: limit - 1]) | {n})  # the last unit is always drawn
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


def unit_name(net: Network, layer: int, unit: int) -> str:
    """x_i, z_j^(l) or y_k as a card's name, "+1" for a bias unit."""
    if unit == 0:
        return "+1"
    if layer == 1 or layer == net.L:
        return Sym("x" if layer == 1 else "y", str(unit)).text()
    return Sym("z", str(unit), f"({layer})").text()


class Layout:
    """Positions and sizes of every drawn card, given the units that matter per layer and the
    lines written on each card (``numbers``: (layer, unit) → lines).  In a layer drawn with an
    ellipsis only the units that matter keep their lines (``self.wide`` lists such layers)."""

    def __init__(self, net, relevant, numbers: dict[tuple[int, int], list[str]] | None = None):
        self.net = net
        self.slots: dict[int, list[int | tuple[str, int]]] = {}
        self.wide: list[int] = []
        self.lines: dict[tuple[int, int], list[str]] = {}
        for layer in range(1, net.L + 1):
            slots = shown_units(net.sizes[layer - 1], relevant.get(layer, ()))
            if len(slots) < net.sizes[layer - 1]:
                self.wide.append(layer)
            self.slots[layer] = [0, *slots] if layer < net.L else slots  # 0: the +1 bias unit
            mattering = relevant.get(layer) or self.units(layer)
            for unit in self.units(layer):
                if layer not in self.wide or unit in mattering:
                    self.lines[(layer, unit)] = list((numbers or {}).get((layer, unit), []))
        self.half = {layer: self._half(layer) for layer in self.slots}  # half a card's width
        self.box = {  # a card's height
            (layer, u): 30.0 if u == 0 else 12 + LINE * (1 + len(self.lines.get((layer, u), [])))
            for layer in self.slots
            for u in self.units(layer)
        }
        heights = {layer: self._height(layer) for layer in self.slots}
        tall = max(heights.values())
        self.pos: dict[tuple[int, int], tuple[float, float]] = {}
        self.gaps: list[tuple[float, float, int]] = []
        x = 8.0
        for layer in self.slots:
            x += self.half[layer]
            self._column(layer, x, TOP + (tall - heights[layer]) / 2)
            x += self.half[layer] + GAP
        self.loss_pos = (x - GAP + 34, TOP + tall / 2)
        self.width = x - GAP + 34 + 28
        self.bottom = TOP + tall  # where the notes below the network start
        self.height = self.bottom + 12

    def _half(self, layer: int) -> float:
        texts = [unit_name(self.net, layer, u) for u in self.units(layer)]
        texts += [t for u in self.units(layer) for t in self.lines.get((layer, u), [])]
        texts += [f"⋮ {s[1]} more" for s in self.slots[layer] if isinstance(s, tuple)]
        return max(17.0, max(text_width(t) for t in texts) / 2 + PAD)

    def _height(self, layer: int) -> float:
        slots = self.slots[layer]
        cards = sum(self.box[(layer, s)] if not isinstance(s, tuple) else 24 for s in slots)
        return cards + VGAP * (len(slots) - 1)

    def _column(self, layer: int, x: float, y: float) -> None:
        for s in self.slots[layer]:
            if isinstance(s, tuple):
                self.gaps.append((x, y + 12, s[1]))
                y += 24 + VGAP
            else:
                h = self.box[(layer, s)]
                self.pos[(layer, s)] = (x, y + h / 2)
                y += h + VGAP

    def units(self, layer):
        return [s for s in self.slots[layer] if not isinstance(s, tuple)]

    def left(self, layer: int, unit: int) -> tuple[float, float]:
        x, y = self.pos[(layer, unit)]
        return x - self.half[layer], y

    def right(self, layer: int, unit: int) -> tuple[float, float]:
        x, y = self.pos[(layer, unit)]
        return x + self.half[layer], y


def links(net: Network, layout: Layout) -> Iterator[tuple[tuple[int, int, int], float, float, tuple, tuple]]:
    """Every drawn link: (l, j, i), its weight w_ji^(l), |w| relative to the largest of its layer,
    and its two ends (a card's right edge, the next card's left edge).  The SVG and TikZ draw these."""
    for l in net.layers:
        W, b = net.W[l], net.b[l]
        scale = max(float(abs(W).max()), float(abs(b).max()), 1e-12)
        # the "+1" bias unit of layer l only sends links, so j runs over real units (j ≥ 1)
        for j in (j for j in layout.units(l) if j != 0):
            for i in layout.units(l - 1):
                wv = float(b[j - 1] if i == 0 else W[j - 1, i - 1])
                yield (l, j, i), wv, abs(wv) / scale, layout.right(l - 1, i), layout.left(l, j)


def _links(net: Network, layout: Layout, hl: Highlight, anchors: dict | None) -> tuple[list, list, list]:
    """The links as SVG lines: faded, highlighted, and the focus (drawn last, on top).  With
    ``anchors`` ((l, j, i) → tooltip), each link is a link to ``#w-l-j-i`` with a wider hit line."""
    faded: list[str] = []
    bright: list[str] = []
    focus: list[str] = []
    for key, wv, size, (x1, y1), (x2, y2) in links(net, layout):
        l, j, i = key
        width = 0.6 + 3.4 * size
        cls = "link hl" if key in hl.links or key in hl.focus else "link"
        ends = f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
        line = (
            f'<line class="{cls}" data-l="{l}" data-j="{j}" data-i="{i}" data-w="{wv:.6g}" '
            f'{ends} stroke="{POSITIVE if wv >= 0 else NEGATIVE}" stroke-width="{width:.2f}"/>'
        )
        if anchors is not None:
            line = (
                f'<a href="#w-{l}-{j}-{i}"><title>{escape(anchors.get(key, ""))}</title>'
                f'<line class="hit" {ends}/>{line}</a>'
            )
        if key in hl.focus:
            focus.append(
                f'<line class="halo hl focus" data-l="{l}" data-j="{j}" data-i="{i}" {ends} '
                f'stroke="{FOCUS}" stroke-width="{width + 5:.2f}"/>' + line
            )
        else:
            (bright if "hl" in cls else faded).append(line)
    return faded, bright, focus


def _card(net: Network, layout: Layout, layer: int, unit: int, cls: str) -> str:
    """One unit: a rounded card with its name and, below, its lines."""
    x, y = layout.pos[(layer, unit)]
    half, h = layout.half[layer], layout.box[(layer, unit)]
    lines, top = layout.lines.get((layer, unit), []), y - h / 2
    name_y = y + 4.5 if not lines else top + 6 + LINE * 0.8
    texts = [("name", name_y, unit_name(net, layer, unit))]
    texts += [("num", name_y + LINE * (n + 1), line) for n, line in enumerate(lines)]
    return (
        f'<g class="{cls}" data-layer="{layer}" data-unit="{unit}"><rect x="{x - half:.1f}" y="{top:.1f}" '
        f'width="{2 * half:.1f}" height="{h:.1f}" rx="{min(15, h / 2):.1f}"/>'
        + "".join(f'<text class="{c}" x="{x:.1f}" y="{ty:.1f}" text-anchor="middle">{escape(t)}</text>'
                  for c, ty, t in texts)
        + "</g>"
    )


def _notes(net: Network, layout: Layout, hl: Highlight, lang: str) -> list[str]:
    """Below the network: the weight in focus, and which units a wide network labels."""
    notes = []
    if hl.note:
        notes.append(("wlabel", hl.note))
    elif hl.label is not None and hl.label in hl.focus:
        l, j, i = hl.label
        value = float(net.b[l][j - 1] if i == 0 else net.W[l][j - 1, i - 1])
        notes.append(("wlabel", f"{w(j, i, l).text()} = {value:.3g}".replace("-", "−")))
    if layout.wide:
        sizes = ", ".join(str(net.sizes[layer - 1]) for layer in layout.wide)
        notes.append(("wide", say(lang, "diagram.wide", sizes=sizes)))
    out, y = [], layout.bottom + 6
    for cls, text in notes:
        for part in _wrap(text, layout.width - 16):
            y += LINE + 2
            out.append(f'<text class="{cls}" x="8" y="{y:.1f}">{escape(part)}</text>')
    layout.height = y + 10
    return out


def _wrap(text: str, width: float) -> list[str]:
    """``text`` in lines no wider than ``width`` (at spaces, or anywhere in CJK text)."""
    lines, line = [], ""
    for token in text.split(" ") if " " in text else list(text):
        joined = f"{line} {token}" if line and " " in text else line + token
        if line and text_width(joined) > width:
            lines.append(line)
            joined = token
        line = joined
    return lines + [line]


def network_svg(net: Network, layout: Layout, hl: Highlight, title: str = "",
                dropped: set | None = None, lang: str = "en", anchors: dict | None = None) -> str:
    """One diagram as an ``<svg>`` string (inline; no external references).

    The cards carry ``layout.lines``; ``dropped`` lists the units (layer, unit) a dropout mask
    zeroes (m_j = 0), drawn grey.
    """
    head, layer_names = [], LAYER_NAMES.get(lang, LAYER_NAMES["en"])
    for layer in range(1, net.L + 1):
        x = layout.pos[(layer, layout.units(layer)[0])][0]
        name = layer_names[0] if layer == 1 else layer_names[2] if layer == net.L else layer_names[1]
        for top, text in ((14, f"l = {layer}"), (29, f"{name} ({net.sizes[layer - 1]})")):
            head.append(f'<text class="col" x="{x:.1f}" y="{top}" text-anchor="middle">{text}</text>')
    faded, bright, focus = _links(net, layout, hl, anchors)
    lx, ly = layout.loss_pos
    for k in layout.units(net.L):
        x, y = layout.right(net.L, k)
        cls = "elink hl" if hl.loss and (net.L, k) in hl.units else "elink"
        faded.append(f'<line class="{cls}" x1="{x:.1f}" y1="{y:.1f}" x2="{lx - 18:.1f}" y2="{ly:.1f}"/>')
    dim = " dim" if (hl.links or hl.focus or hl.units) and anchors is None else ""
    body = [f'<g class="links{dim}">' + "".join(faded) + "</g>"]
    body.append('<g class="links-hl">' + "".join(bright) + "".join(focus) + "</g>")
    for layer, unit in layout.pos:
        cls = "unit" + " hl" * ((layer, unit) in hl.units) + " bias" * (unit == 0)
        body.append(_card(net, layout, layer, unit, cls + " dropped" * ((layer, unit) in (dropped or ()))))
    more = '<g class="gap"><text class="more" x="{:.1f}" y="{:.1f}" text-anchor="middle">⋮ {} more</text></g>'
    body += [more.format(x, y + 4, count) for x, y, count in layout.gaps]
    cls = "unit loss hl" if hl.loss else "unit loss"
    body.append(
        f'<g class="{cls}" data-layer="E" data-unit="E">'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="18"/>'
        f'<text class="name" x="{lx:.1f}" y="{ly + 5:.1f}" text-anchor="middle">E</text></g>'
    )
    body += _notes(net, layout, hl, lang)
    width, height = layout.width, layout.height
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="net" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'style="min-width:{MIN_SCALE * width:.0f}px" role="img" aria-label="{escape(title)}">'
    ]
    if title:
        out.append(f"<title>{escape(title)}</title>")
    return "".join(out + head + body) + "</svg>"


#: the diagram's CSS, shared by every SVG on the page
CSS = f"""
svg.net {{ display: block; max-width: 100%; height: auto; font-family: 'DejaVu Sans', sans-serif; }}
svg.net text {{ font-size: {FONT}px; fill: #1f2937; }}
svg.net .col {{ fill: #555; }}
svg.net .link {{ opacity: 0.85; }}
svg.net .links.dim .link {{ opacity: 0.14; }}
svg.net .links-hl .link {{ opacity: 1; }}
svg.net .halo {{ opacity: 0.55; }}
svg.net .hit {{ stroke: transparent; stroke-width: 9; }}
svg.net a:hover .link {{ opacity: 1; stroke-width: 4; }}
svg.net .elink {{ stroke: #999; stroke-width: 1; stroke-dasharray: 3 3; }}
svg.net .elink.hl {{ stroke: {FOCUS}; stroke-width: 2; opacity: 1; }}
svg.net .unit rect, svg.net .unit circle {{ fill: #fff; stroke: #444; stroke-width: 1.3; }}
svg.net .unit.bias rect {{ fill: #f3f4f6; }}
svg.net .unit.hl rect, svg.net .unit.hl circle {{ fill: {HL_FILL}; stroke: {FOCUS}; stroke-width: 2.6; }}
svg.net .unit.dropped rect {{ fill: #d1d5db; stroke: #9ca3af; stroke-dasharray: 3 2; }}
svg.net .unit.dropped text {{ fill: #6b7280; }}
svg.net .unit text.name {{ font-size: 13.5px; font-weight: 600; fill: #111; }}
svg.net .gap text {{ fill: #666; }}
svg.net .wlabel {{ fill: {FOCUS}; font-weight: bold; }}
svg.net .wide {{ fill: #555; font-style: italic; }}
.fig {{ overflow-x: auto; }}
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


def step_highlight(ex: Explanation, layout: Layout, key: str) -> Highlight:
    """The Highlight of one derivation step (a key of :func:`deltaprop.explanation.steps.steps`),
    as the derivation's figures draw them; "weight" lights the weight and its two ends."""
    l, j, i, L = ex.l, ex.j, ex.i, ex.L
    hl = Highlight(focus={(l, j, i)}, label=(l, j, i), units={(l - 1, i), (l, j)})

    def real(layer: int) -> list[int]:  # the drawn units without the +1 unit (nothing flows into it)
        return [k for k in layout.units(layer) if k != 0]

    if key == "input":  # u_j = Σ_i' w_ji' z_i' + w_j0: every link into unit j, the +1 unit's included
        hl.links = {(l, j, k) for k in layout.units(l - 1)}
        hl.units = {(l - 1, k) for k in layout.units(l - 1)} | {(l, j)}
    elif key == "delta_out":  # y_j − d_j (every y_k for a softmax output that is not canonical)
        if ex.net.output == "softmax" and not ex.canonical:
            hl.units |= {(L, k) for k in layout.units(L)}
        hl.loss = True
    elif key in ("fanout", "delta_hidden"):  # u_j reaches every u_k of layer l+1: column j of W^(l+1)
        hl.links = {(l + 1, k, j) for k in real(l + 1)}
        hl.units |= {(l + 1, k) for k in real(l + 1)}
        if key == "fanout":
            hl.units.discard((l - 1, i))
    elif key == "link":  # u_k = Σ_j' w_kj' f(u_j'), the links w_kj in focus
        hl.links = {(l + 1, k, jj) for k in real(l + 1) for jj in layout.units(l)}
        hl.units = {(l, jj) for jj in layout.units(l)} | {(l + 1, k) for k in real(l + 1)}
        hl.focus |= {(l + 1, k, j) for k in real(l + 1)}
    elif key == "delta_next":  # the deltas of the layers above, down to y − d
        hl.links = {(m, k, kk) for m in range(l + 2, L + 1) for k in real(m) for kk in real(m - 1)}
        hl.units = {(m, k) for m in range(l + 1, L + 1) for k in real(m)}
        hl.loss = True
    elif key == "outer":  # δ^(l) (z^(l−1))ᵀ: every link into layer l (all of W^(l), biases included)
        hl.links = {(l, jj, ii) for jj in real(l) for ii in layout.units(l - 1)}
        hl.units = {(l, jj) for jj in real(l)} | {(l - 1, ii) for ii in layout.units(l - 1)}
    elif key == "paths":  # every path from the weight to E
        for p in ex.paths:
            hl.links |= {(m, k, prev[1]) for prev, (m, k) in zip(p.units, p.units[1:])}
            hl.units |= set(p.units[1:])
        hl.loss = True
    return hl


def _v(x: float) -> str:
    return f"{float(x) + 0.0:.3g}".replace("-", "−")


def unit_numbers(ex: Explanation) -> dict[tuple[int, int], list[str]]:
    """u, z, f′(u) and δ of every unit on the walked sample, one per line of its card."""
    s = ex.walked
    out: dict[tuple[int, int], list[str]] = {}
    for n, x in enumerate(s.z[1]):
        out[(1, n + 1)] = [_v(x)]
    for layer in ex.net.layers:
        fp = s.fprime[layer]
        z_name = "y" if layer == ex.L else "z"
        for n in range(ex.net.sizes[layer - 1]):
            lines = [f"u {_v(s.u[layer][n])}", f"{z_name} {_v(s.z[layer][n])}"]
            if fp is not None and layer < ex.L:
                lines.append(f"f′ {_v(fp[n])}")
            out[(layer, n + 1)] = [*lines, f"δ {_v(s.delta[layer][n])}"]
    for (layer, k), lines in out.items():  # the user's name of an input or output unit on top
        name = ex.unit_name(layer, k)
        if name:
            lines.insert(0, name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…")
    return out


#: the columns' names per language
LAYER_NAMES = {"en": ("input", "hidden", "output"), "ja": ("入力層", "中間層", "出力層")}


def step_layout(ex: Explanation, key: str) -> tuple[Layout, Highlight]:
    """The layout and highlight of the diagram for one step of ``ex`` (the SVG's and TikZ's)."""
    layout = Layout(ex.net, relevant_units(ex), unit_numbers(ex))
    return layout, step_highlight(ex, layout, key)


def step_svg(ex: Explanation, key: str, title: str = "", lang: str = "en") -> str:
    """The diagram for one step of ``ex`` (a key of :func:`deltaprop.explanation.steps.steps`)."""
    dropped = {(layer, k + 1) for layer, m in ex.walked.mask.items() for k, v in enumerate(m) if v == 0}
    return network_svg(ex.net, *step_layout(ex, key), title, dropped, lang)


def linked_svg(ex: Explanation, anchors: dict, focus: tuple[int, int, int], note: str,
               lang: str = "en") -> str:
    """The network once, every link an anchor to its weight's derivation, ``focus`` lit and
    ``note`` said below it."""
    relevant = {layer: set(range(1, n + 1)) for layer, n in enumerate(ex.net.sizes, start=1)}
    layout = Layout(ex.net, relevant, unit_numbers(ex))
    hl = Highlight(focus={focus}, label=focus, note=note)
    return network_svg(ex.net, layout, hl, "every weight", lang=lang, anchors=anchors)
