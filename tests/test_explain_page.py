"""The explain page in a real browser (headless Chromium): formulas and diagrams are drawn."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.explain.page import render_pages

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
        assert len(maths) > 20 and len(svgs) == 11  # 4 steps for the output weight, 7 for the hidden one
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
        assert focus.count() >= 11
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
