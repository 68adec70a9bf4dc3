"""The training report: its numbers (unit activity, gradient warnings) and its page in Chromium."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import deltaprop as dp
from deltaprop.command.train import TrainOptions, train
from deltaprop.report.page import gradient_warnings, render_report, unit_activity


def test_unit_activity_counts_dead_relu_units():
    net = dp.Network([2, 3, 1], activation="relu", random_state=0)
    net.W[2][:] = [[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]
    net.b[2][:] = [10.0, -10.0, 0.0]  # unit 1 always on, unit 2 never, unit 3 at u = 0 (slope 0)
    X = np.random.default_rng(0).uniform(-1, 1, size=(50, 2))
    assert unit_activity(net, X) == {2: (3, 2, 0)}


def test_unit_activity_counts_saturated_tanh_units():
    net = dp.Network([1, 2, 1], activation="tanh", random_state=0)
    net.W[2][:] = [[100.0], [0.1]]
    net.b[2][:] = [0.0, 0.0]
    X = np.linspace(-1, 1, 101).reshape(-1, 1)  # unit 1 is flat except near x = 0
    n, dead, saturated = unit_activity(net, X)[2]
    assert (n, dead, saturated) == (2, 0, 1)


def test_gradient_warnings_name_vanishing_and_exploding_layers():
    norms = [{2: 1e-3, 3: 1.0}, {2: 1e-9, 3: 5e3}]
    warnings = gradient_warnings(norms)
    assert any(w.startswith("layer 2: the gradient has vanished") for w in warnings)
    assert any(w.startswith("layer 3: the gradient exploded") and "epoch 2" in w for w in warnings)
    assert gradient_warnings([{2: 0.5, 3: 0.2}] * 3) == []


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=80), "kind": rng.choice(["a", "b"], 80)})
    frame["y"] = np.where(frame.x > 0, "up", "down")
    frame.to_csv(tmp / "d.csv", index=False)
    result = train(
        TrainOptions(
            data=str(tmp / "d.csv"),
            targets=("y",),
            epochs=30,
            hidden=(6, 5),
            learning_rate=0.01,
            out=str(tmp / "m.dpm"),
            report=str(tmp / "r.html"),
            quiet=True,
        )
    )
    return tmp / "r.html", result


def test_report_is_self_contained(report_page):
    path, result = report_page
    html = path.read_text()
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", html)  # nothing fetched
    assert html.count("<svg") >= 5  # loss, score, gradients, units, network
    # the metrics in the page are the ones the run computed
    assert f"{result.metrics['validation']['accuracy']:.4f}" in html


def test_report_is_the_same_for_the_loaded_model(report_page):
    path, result = report_page
    model = dp.load(path.with_name("m.dpm"))
    assert render_report(model) == render_report(result.model)


@pytest.mark.browser
def test_report_renders_in_chromium(report_page, browser, artifacts_dir):
    path, _ = report_page
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(path.as_uri())
        for plot in ("loss", "score", "gradients", "units"):
            box = page.locator(f"#plot-{plot} svg").bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100, plot
        body = page.evaluate("document.body.clientWidth")
        for plot in ("loss", "score", "gradients", "units"):
            # charts fill the column (they used half of it)
            assert page.locator(f"#plot-{plot} svg").bounding_box()["width"] >= 0.9 * (body - 32), plot
        box = page.locator("#diagram svg").bounding_box()
        assert box["width"] > 100 and box["height"] > 100
        # every weight and bias is drawn: 3 inputs (x, kind=a, kind=b) → 6 → 5 → 1 output
        links = page.locator("#diagram svg line.link")
        assert links.count() == (3 + 1) * 6 + (6 + 1) * 5 + (5 + 1) * 1
        assert page.locator("#plot-loss svg path").count() > 0
        page.screenshot(path=str(artifacts_dir / "training-report.png"), full_page=True)
    finally:
        page.close()


def test_report_names_classes_and_columns_and_formats_numbers(report_page):
    """Outputs were y₁ … instead of class names, inputs x₁ … instead of column names, and the
    preprocessing read '(x − -5.388e-06)'."""
    path, result = report_page
    html = path.read_text()
    diagram = html[html.index('id="diagram"'):]
    for name in ("x", "kind=a", "kind=b"):
        assert '<text class="num"' in diagram and f">{name}</text>" in diagram, name
    assert ">P(up)</text>" in diagram  # a binary classifier's one output: P(second class)
    assert "e-0" not in html[html.index("<h2>Inputs</h2>"):]
    confusion = html[html.index('id="confusion"'):]
    assert ">down</th>" in confusion and ">up</th>" in confusion
    matrix = result.model.history["confusion"]["matrix"]
    assert sum(map(sum, matrix)) == len(result.model.history["run"]["validation_rows"])


def test_numbers_for_people():
    from deltaprop.report.numbers import format_number, standardisation

    assert format_number(0.123456) == "0.1235"
    assert format_number(12345.678) == "12,346"
    assert format_number(2.5) == "2.5"
    assert format_number(-5.388e-06) == "−5.388 × 10⁻⁶"
    assert format_number(3e9) == "3 × 10⁹"
    assert standardisation(-5.388e-06, 2.0) == "(x + 5.388 × 10⁻⁶) / 2"
    assert standardisation(3.2, 1.5) == "(x − 3.2) / 1.5"


def test_the_gradient_plot_shades_what_its_caption_says(report_page):
    from deltaprop.report.page import _gradient_plot

    svg, exploded = _gradient_plot([{2: 0.5, 3: 0.2}] * 3)
    assert not exploded and svg.count("<path") > 0
    _, exploded = _gradient_plot([{2: 0.5, 3: 5e3}] * 3)
    assert exploded
    html = report_page[0].read_text()
    assert "shaded: below 1e-07, the gradient has vanished)" in html  # no exploded band drawn here


@pytest.fixture(scope="module")
def wide_page(tmp_path_factory):
    """A report on 30 numeric columns and one text column: a folded inputs table, and a drawing
    with ellipses in its input and hidden layers."""
    tmp = tmp_path_factory.mktemp("wide")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(60, 30)), columns=[f"c{k:02d}" for k in range(30)])
    frame["kind"] = rng.choice(["a", "b", "c"], 60)
    frame["y"] = frame["c00"] + rng.normal(size=60)
    frame.to_csv(tmp / "w.csv", index=False)
    out, report = str(tmp / "w.dpm"), str(tmp / "w.html")
    data = str(tmp / "w.csv")
    train(TrainOptions(data=data, targets=("y",), epochs=2, hidden=(20,), out=out, report=report, quiet=True))
    return tmp / "w.html"


def test_a_wide_inputs_table_is_folded_into_a_summary(wide_page):
    """784 rows of '(x) / 1' were the MNIST report's inputs table: a table of more than FOLD
    columns counts them by encoding, shows the first and last few, and folds the rest."""
    from deltaprop.report.page import FOLD, SHOWN

    html = wide_page.read_text()
    inputs = html[html.index('<div id="inputs">'):]
    inputs = inputs[: inputs.index("</div>")]
    assert 31 > FOLD
    encodings = dict(re.findall(r'<tr><td>([^<]+)</td><td class="num">(\d+)</td></tr>', inputs))
    assert encodings == {"standardised": "30", "one-hot": "1"}
    shown, folded = inputs.split("<details>")
    names = [f"c{k:02d}" for k in range(30)] + ["kind"]
    row = re.compile(r"<tr><td>([^<]+)</td><td>(?:standardised|scaled|one-hot)</td>")
    assert row.findall(shown) == names[:SHOWN] + names[-SHOWN:]
    assert row.findall(folded) == names[SHOWN:-SHOWN]
    assert f"<summary>The other {31 - 2 * SHOWN} columns</summary>" in folded
    assert "over 3: a, b, c" in shown  # the last rows keep their detail


def _crosses(segment, box) -> bool:
    """Whether the segment (x1, y1, x2, y2) meets the rectangle (x0, y0, x1, y1): Liang–Barsky."""
    x1, y1, x2, y2 = segment
    bx0, by0, bx1, by1 = box
    dx, dy = x2 - x1, y2 - y1
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x1 - bx0), (dx, bx1 - x1), (-dy, y1 - by0), (dy, by1 - y1)):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            lo = max(lo, q / p)
        else:
            hi = min(hi, q / p)
    return lo <= hi


def test_crosses():
    assert _crosses((0, 0, 10, 10), (4, 4, 6, 6))
    assert not _crosses((0, 0, 10, 0), (4, 1, 6, 2))
    assert _crosses((5, -5, 5, 5), (4, -1, 6, 1))
    assert not _crosses((0, 0, 3, 3), (4, 4, 6, 6))


@pytest.mark.browser
def test_no_label_in_the_drawing_is_covered_by_a_link(wide_page, browser):
    """The "62 more" label sat under links.  Every text's box, as Chromium lays it out, is
    clear of every link (each widened by half its stroke)."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        page.goto(wide_page.as_uri())
        texts = page.evaluate(
            """() => [...document.querySelectorAll('#diagram svg text')].map(t => {
                const b = t.getBBox(); return [t.textContent, b.x, b.y, b.x + b.width, b.y + b.height]; })"""
        )
        links = page.evaluate(
            """() => [...document.querySelectorAll('#diagram svg line')].map(l => [
                l.x1.baseVal.value, l.y1.baseVal.value, l.x2.baseVal.value, l.y2.baseVal.value,
                parseFloat(getComputedStyle(l).strokeWidth) || 1])"""
        )
    finally:
        page.close()
    assert any("more" in t[0] for t in texts) and len(links) > 5
    for text, *box in texts:
        for *segment, width in links:
            pad = width / 2
            grown = (box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad)
            assert not _crosses(segment, grown), (text, segment)
