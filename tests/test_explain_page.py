"""The explain page in a real browser (headless Chromium): formulas and diagrams are drawn."""

from __future__ import annotations

import re

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.explanation.page import render_pages

pytestmark = pytest.mark.browser


def _seed_page():
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    rng = np.random.default_rng(0)
    x, d = rng.normal(size=(1, 4)), rng.normal(size=(1, 3))
    return render_pages([dp.explain(net, (3, 2, 1), x, d), dp.explain(net, (2, 2, 1), x, d)])


def test_page_renders_mathml_and_svg_with_highlights(browser, artifacts_dir):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.set_content(_seed_page())
        sizes = page.evaluate(
            """() => ['math', 'svg.net'].map(sel => Array.from(document.querySelectorAll(sel))
                 .map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; }))"""
        )
        maths, svgs = sizes
        assert len(maths) > 20 and len(svgs) == 13  # 5 steps for the output weight, 8 for the hidden one
        assert all(w > 0 and h > 0 for w, h in maths), "a <math> element has no rendered size"
        assert all(w > 100 and h > 100 for w, h in svgs), "a diagram has no rendered size"
        # MathML is laid out as mathematics: a fraction's numerator sits above its denominator
        stacked = page.evaluate(
            """() => Array.from(document.querySelectorAll('mfrac')).slice(0, 20).every(f => {
                 const a = f.children[0].getBoundingClientRect(), b = f.children[1].getBoundingClientRect();
                 return a.bottom <= b.top + 1; })"""
        )
        assert stacked
        # every diagram highlights its weight: the red halo of w_21 is drawn, and highlighted units exist
        focus = page.locator("svg.net .halo.hl.focus")
        assert focus.count() >= 13
        box = focus.first.bounding_box()
        assert box and box["width"] > 10
        assert page.locator('svg.net g.unit.hl[data-layer="3"][data-unit="2"]').count() >= 1
        assert page.locator("svg.net line.link.hl").count() > 10
        page.screenshot(path=str(artifacts_dir / "explain_seed_page.png"), full_page=True)
    finally:
        page.close()


def test_wide_network_page_renders(browser, artifacts_dir):
    net = dp.Network([784, 512, 512, 10], activation="relu", loss="log_loss", random_state=0)
    rng = np.random.default_rng(1)
    ex = dp.explain(net, (2, 7, 300), rng.normal(size=(2, 784)), np.eye(10)[[1, 4]])
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.set_content(ex.to_html())
        svg = page.locator("svg.net").first
        box = svg.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 200
        assert page.locator('svg.net g.unit.hl[data-layer="1"][data-unit="300"]').count() >= 1
        svg.screenshot(path=str(artifacts_dir / "explain_wide_diagram.png"))
    finally:
        page.close()


# ---------------------------------------------------------------------- every page type, two widths
CLIPPED = """() => {
  const W = document.documentElement.clientWidth, bad = [];
  for (let e of document.querySelectorAll('math, table, .math, .fig, figure, svg, h2, h3, p, td')) {
    // a diagram too wide for a phone keeps its labels' size and scrolls within its figure,
    // which itself must fit
    if (e.matches('.fig svg.net')) e = e.closest('.fig');
    if (e.matches('figure.picture svg.grid')) e = e.closest('figure');
    const r = e.getBoundingClientRect();
    if (!r.width) continue;
    if (e.matches('.fig, figure.picture') && getComputedStyle(e).overflowX === 'auto') {
      if (r.left < -1 || r.right > W + 1) bad.push('outside figure');
      continue;
    }
    if (e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0) bad.push('scroll ' + e.tagName);
    if (r.left < -1 || r.right > W + 1) bad.push('outside ' + e.tagName + ' ' + e.textContent.slice(0, 30));
  }
  for (const m of document.querySelectorAll('math')) {
    const R = m.getBoundingClientRect();
    for (const e of m.querySelectorAll('mtd, mtext, mn, mi')) {
      const r = e.getBoundingClientRect();
      if (r.width && (r.left < R.left - 1 || r.right > R.right + 1)) {
        bad.push('in math ' + e.textContent);
        break;
      }
    }
  }
  return bad.slice(0, 5);
}"""


@pytest.fixture(scope="module")
def page_types():
    """One Explanation of each kind of page (made once for the module's tests)."""
    rng = np.random.default_rng(4)
    seed = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    X, D = rng.normal(size=(30, 4)), rng.normal(size=(30, 3))
    deep = dp.Network([10, 32, 32, 32, 3], activation="relu", random_state=1)
    return {
        "output": dp.explain(seed, (3, 2, 1), X[:1], D[:1]),
        "bias_batch": dp.explain(seed, (2, 3, 0), X, D, alpha=0.1, sample=7),
        "deep": dp.explain(deep, (2, 5, 3), rng.normal(size=(3, 10)), rng.normal(size=(3, 3))),
        "ja": dp.explain(seed, (2, 2, 1), X[:3], D[:3], lang="ja"),
    }


@pytest.fixture(scope="module")
def measured(browser, artifacts_dir, page_types, diagram_pages):
    """Every page of ``page_types`` and ``diagram_pages`` loaded once at 1280 and at 420 px, and
    measured there: what is clipped, the labels of the diagrams, the alignment of the derivations
    and the counts the tests below assert on.  {(kind, name, width): measurements}."""
    found = {}
    pages = [("type", k, ex.to_html()) for k, ex in page_types.items()]
    pages += [("diagram", k, html) for k, html in diagram_pages.items()]
    for kind, name, html in pages:
        for width in (1280, 420):
            page = browser.new_page(viewport={"width": width, "height": 900})
            try:
                page.set_content(html)
                found[kind, name, width] = {
                    "html": html,
                    "alignment": page.evaluate(ALIGNMENT),
                    "clipped": page.evaluate(CLIPPED) if kind == "type" else None,
                    "labels": page.evaluate(LABELS) if kind == "diagram" else None,
                    "scroll_width": page.evaluate("() => document.documentElement.scrollWidth"),
                    "mtables": page.locator("math mtable[displaystyle=true]").count(),
                    "open_summaries": page.locator("details[open] > summary").count(),
                    "step_diagrams": page.locator("section.step svg.net").count(),
                    "steps": page.locator("section.step").count(),
                }
                if kind == "diagram":
                    shot = artifacts_dir / f"diagram_{name}_{width}.png"
                    page.locator("svg.net").last.screenshot(path=str(shot))
                elif width == 420 and name in ("bias_batch", "ja"):
                    page.screenshot(path=str(artifacts_dir / f"explain_{name}_420.png"), full_page=True)
            finally:
                page.close()
    return found


def test_every_page_type_reads_at_1280_and_420_px_without_clipping(measured):
    pages = {key: m for key, m in measured.items() if key[0] == "type"}
    assert len(pages) == 8
    for (_, name, width), m in pages.items():
        html = m["html"]
        assert "<script" not in html.lower() and 'name="viewport"' in html
        assert not re.search(r"(src|href)=\"(https?:)?//", html) and "url(" not in html
        assert m["clipped"] == [], (name, width)
        assert m["scroll_width"] <= width
        assert m["mtables"] >= 5
        assert m["open_summaries"] >= 6
        # each step's diagram is inside the step it belongs to
        assert m["step_diagrams"] == m["steps"]


def test_japanese_page_speaks_the_textbooks_terms(browser, page_types):
    ex = page_types["ja"]
    html = ex.to_html()
    assert '<html lang="ja">' in html
    for term in ("誤差逆伝播法", "出力層", "中間層", "入力層", "活性化関数", "重み", "バイアス", "誤差関数"):
        assert term in html, term
    english = ex.to_html(lang="en")
    assert '<html lang="en">' in english and "出力層" not in english and "backpropagation" in english
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    try:
        page.set_content(html)
        assert "中間層" in page.locator("article h2").inner_text()
        assert page.locator("svg.net text.col", has_text="出力層").count() >= 1
        assert page.locator("math").count() > 20
    finally:
        page.close()


def test_print_keeps_each_step_whole(browser, page_types):
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    try:
        page.set_content(page_types["output"].to_html())
        page.emulate_media(media="print")
        breaks = page.evaluate(
            "() => Array.from(document.querySelectorAll('section.step, figure.picture'))"
            ".map(e => getComputedStyle(e).breakInside)"
        )
        assert breaks and set(breaks) == {"avoid"}
        assert page.locator("section.step details[open]").count() == page.locator("section.step").count()
    finally:
        page.close()


# ---------------------------------------------------------------------- legible diagrams
LABELS = """() => {
  const bad = [], sizes = [];
  const inside = (r, x, y) => x > r.left + 1 && x < r.right - 1 && y > r.top + 1 && y < r.bottom - 1;
  const crosses = (r, a, b) => {  // does segment a-b pass through the rectangle r?
    // no point of the segment is inside r when their bounding boxes do not meet
    if (Math.max(a.x, b.x) < r.left || Math.min(a.x, b.x) > r.right) return false;
    if (Math.max(a.y, b.y) < r.top || Math.min(a.y, b.y) > r.bottom) return false;
    for (let t = 0; t <= 1; t += 0.02) {
      if (inside(r, a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t)) return true;
    }
    return false;
  };
  for (const svg of document.querySelectorAll('svg.net')) {
    const texts = Array.from(svg.querySelectorAll('text')).map(t => [t, t.getBoundingClientRect()]);
    const frame = svg.getBoundingClientRect();
    for (const [t, r] of texts) {
      if (r.left < frame.left - 0.5 || r.right > frame.right + 0.5 || r.bottom > frame.bottom + 0.5) {
        bad.push('cut ' + t.textContent);
      }
      sizes.push(r.height);
      if (r.height < 12) bad.push('small ' + t.textContent + ' ' + r.height.toFixed(1));
    }
    for (let a = 0; a < texts.length; a++) for (let b = a + 1; b < texts.length; b++) {
      const [ta, p] = texts[a], [tb, q] = texts[b];
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 0.5 && h > 0.5) bad.push('overlap ' + ta.textContent + ' / ' + tb.textContent);
    }
    for (const line of svg.querySelectorAll('line')) {
      const m = line.getScreenCTM(), pt = svg.createSVGPoint();
      const at = (x, y) => { pt.x = x; pt.y = y; return pt.matrixTransform(m); };
      const a = at(line.x1.baseVal.value, line.y1.baseVal.value);
      const b = at(line.x2.baseVal.value, line.y2.baseVal.value);
      for (const [t, r] of texts) {
        if (crosses(r, a, b)) bad.push('link ' + line.getAttribute('class') + ' crosses ' + t.textContent);
      }
    }
  }
  for (const svg of document.querySelectorAll('svg.grid')) {  // the transposes' pictures too
    // a folded derivation's pictures are not drawn, and the other version (wide or narrow) is hidden
    if (svg.closest('details:not([open])') || !svg.getBoundingClientRect().width) continue;
    const texts = Array.from(svg.querySelectorAll('text')).map(t => [t, t.getBoundingClientRect()]);
    for (const [t, r] of texts) {
      sizes.push(r.height);
      if (r.height < 12) bad.push('small grid ' + t.textContent + ' ' + r.height.toFixed(1));
      const cell = t.parentNode.matches('g.cell') && t.parentNode.querySelector('rect');
      if (cell && t.getBBox().width > cell.getBBox().width - 1) bad.push('spills ' + t.textContent);
    }
    for (let a = 0; a < texts.length; a++) for (let b = a + 1; b < texts.length; b++) {
      const p = texts[a][1], q = texts[b][1];
      const w = Math.min(p.right, q.right) - Math.max(p.left, q.left);
      const h = Math.min(p.bottom, q.bottom) - Math.max(p.top, q.top);
      if (w > 0.5 && h > 0.5) bad.push('grid overlap ' + texts[a][0].textContent);
    }
  }
  return {bad: bad.slice(0, 8), n: bad.length, smallest: Math.min(...sizes), count: sizes.length};
}"""


@pytest.fixture(scope="module")
def diagram_pages():
    """Pages whose diagrams the legibility tests read: small, deep, wide and Japanese networks."""
    rng = np.random.default_rng(5)
    seed = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    deep = dp.Network([4, 5, 4, 3], activation="tanh", random_state=2)
    wide = dp.Network([784, 16, 10], activation="relu", loss="log_loss", random_state=0)
    mnist = dp.Network([784, 512, 512, 10], activation="relu", loss="log_loss", random_state=0)
    X, D = rng.normal(size=(3, 4)), rng.normal(size=(3, 3))
    return {
        "4-5-3": render_pages([dp.explain(seed, (3, 2, 1), X[:1], D[:1]), dp.explain(seed, (2, 2, 1), X, D)]),
        "4-5-4-3": dp.explain(deep, (2, 3, 2), X, D).to_html(),
        "784": dp.explain(wide, (2, 7, 300), rng.normal(size=(2, 784)), np.eye(10)[[1, 4]]).to_html(),
        "784-512-512-10": dp.explain(
            mnist, (3, 9, 7), rng.normal(size=(2, 784)), np.eye(10)[[1, 4]]
        ).to_html(),
        "ja": dp.explain(seed, (2, 2, 0), X, D, lang="ja").to_html(),
    }


def test_diagram_labels_are_legible_apart_and_off_the_links(measured):
    """Every label of every diagram: ≥ 12 px tall at 1280 and 420 px, no two overlapping, and no
    link (highlighted or not) running through one."""
    pages = {key: m["labels"] for key, m in measured.items() if key[0] == "diagram"}
    assert len(pages) == 10
    for (_, name, width), found in pages.items():
        assert found["n"] == 0, (name, width, found["bad"])
        assert found["count"] > 40 and found["smallest"] >= 12, (name, width, found)


def test_diagram_names_every_layer_and_says_when_it_labels_only_the_path(browser, diagram_pages):
    pages = diagram_pages
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_content(pages["4-5-4-3"])
        names = page.locator("svg.net").first.locator("g.unit text.name").all_text_contents()
        assert {"z₁⁽²⁾", "z₅⁽²⁾", "z₁⁽³⁾", "z₄⁽³⁾", "x₁", "y₃"} <= set(names)
        assert not page.locator("svg.net text.wide").count()
        page.set_content(pages["784"])
        svg = page.locator("svg.net").first
        assert "784" in (svg.locator("text.wide").first.text_content() or "")
        # in the 784-wide layer only the units on the path carry numbers
        numbered = svg.locator('g.unit[data-layer="1"]:has(text.num)')
        assert numbered.count() == 1 and numbered.first.get_attribute("data-unit") == "300"
        assert svg.locator('g.unit[data-layer="1"]').count() >= 3
        assert svg.locator('g.unit[data-layer="3"]:has(text.num)').count() == 10  # 10 outputs: all
    finally:
        page.close()


# ---------------------------------------------------------------------- aligned derivations
ALIGNMENT = """() => {
  const bad = [];
  let columns = 0;
  for (const table of document.querySelectorAll('math mtable')) {
    const lefts = [], rights = [];
    const ink = cell => Array.from(cell.children).map(c => c.getBoundingClientRect());
    for (const row of table.querySelectorAll(':scope > mtr')) {
      const [l, r] = row.children;
      if (l && l.textContent.trim()) rights.push(Math.max(...ink(l).map(b => b.right)));
      if (r && r.textContent.trim()) lefts.push(Math.min(...ink(r).map(b => b.left)));
    }
    for (const [xs, side] of [[rights, 'left-hand sides end'], [lefts, 'right-hand sides start']]) {
      if (xs.length < 2) continue;
      columns += 1;
      const spread = Math.max(...xs) - Math.min(...xs);
      if (spread > 1) bad.push(side + ' ' + spread.toFixed(1) + ' px: ' + table.textContent.slice(0, 30));
    }
  }
  return {bad: bad.slice(0, 5), n: bad.length, columns};
}"""


def test_every_derivation_lines_up_in_chromium(measured):
    """The '=' of every row of a derivation starts at one x, and its left-hand sides end at one x
    (Chromium ignores columnalign on <mtd>; the page's CSS aligns the cells)."""
    assert len(measured) == 18  # every page type and every diagram page, at both widths
    for (_, name, width), m in measured.items():
        found = m["alignment"]
        assert found["n"] == 0 and found["columns"] > 10, (name, width, found)


def test_every_weight_page_links_each_link_to_its_folded_derivation(browser, artifacts_dir):
    net = dp.Network([4, 5, 3], activation="tanh", random_state=0)
    rng = np.random.default_rng(8)
    exs = dp.explain(net, "all", rng.normal(size=(3, 4)), rng.normal(size=(3, 3)))
    html = exs.to_html()
    assert "<script" not in html.lower() and len(exs) == 43
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.set_content(html)
        assert page.locator("svg.net").count() == 1  # the network drawn once
        targets = page.evaluate(
            "() => Array.from(document.querySelectorAll('svg.net a')).map(a => a.getAttribute('href'))"
        )
        assert len(targets) == len(set(targets)) == 43
        assert all(page.locator(t).count() == 1 for t in targets)  # each to its weight's derivation
        assert page.locator("details.weight[open]").count() == 0  # folded
        found = page.evaluate(LABELS)
        assert found["n"] == 0 and found["smallest"] >= 12, found
        # following a link opens that weight's derivation
        page.evaluate(
            """() => document.querySelector('svg.net a[href="#w-2-3-1"]')
                 .dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true}))"""
        )
        page.wait_for_timeout(300)
        assert page.evaluate("() => location.hash") == "#w-2-3-1"
        assert page.locator("details.weight:has(#w-2-3-1)").get_attribute("open") is not None
        assert page.locator("tr.largest").count() == 1
        page.locator("svg.net").screenshot(path=str(artifacts_dir / "explain_all_diagram.png"))
        # unfolded, every derivation reads at 1280 and 420 px and lines up
        for width in (1280, 420):
            page.set_viewport_size({"width": width, "height": 900})
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            assert page.evaluate(CLIPPED) == [] and page.evaluate(ALIGNMENT)["n"] == 0, width
            found = page.evaluate(LABELS)  # every derivation's pictures too, now that they are drawn
            assert found["n"] == 0 and found["smallest"] >= 12, (width, found)
    finally:
        page.close()
