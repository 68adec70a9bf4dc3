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
  for (const e of document.querySelectorAll('math, table, .math, .fig, figure, svg, h2, h3, p, td')) {
    const r = e.getBoundingClientRect();
    if (!r.width) continue;
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


def _page_types():
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


def test_every_page_type_reads_at_1280_and_420_px_without_clipping(browser, artifacts_dir):
    for name, ex in _page_types().items():
        html = ex.to_html()
        assert "<script" not in html.lower() and 'name="viewport"' in html
        assert not re.search(r"(src|href)=\"(https?:)?//", html) and "url(" not in html
        for width in (1280, 420):
            page = browser.new_page(viewport={"width": width, "height": 900})
            try:
                page.set_content(html)
                assert page.evaluate(CLIPPED) == [], (name, width)
                assert page.evaluate("() => document.documentElement.scrollWidth") <= width
                assert page.locator("math mtable[displaystyle=true]").count() >= 5
                assert page.locator("details[open] > summary").count() >= 6
                # each step's diagram is inside the step it belongs to
                assert page.locator("section.step svg.net").count() == page.locator("section.step").count()
                if width == 420 and name in ("bias_batch", "ja"):
                    page.screenshot(path=str(artifacts_dir / f"explain_{name}_420.png"), full_page=True)
            finally:
                page.close()


def test_japanese_page_speaks_the_textbooks_terms(browser):
    ex = _page_types()["ja"]
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


def test_print_keeps_each_step_whole(browser):
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    try:
        page.set_content(_page_types()["output"].to_html())
        page.emulate_media(media="print")
        breaks = page.evaluate(
            "() => Array.from(document.querySelectorAll('section.step, figure.picture'))"
            ".map(e => getComputedStyle(e).breakInside)"
        )
        assert breaks and set(breaks) == {"avoid"}
        assert page.locator("section.step details[open]").count() == page.locator("section.step").count()
    finally:
        page.close()
