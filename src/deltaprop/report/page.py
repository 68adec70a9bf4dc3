"""The training report of a ``deltaprop train`` model: one self-contained HTML file (inline CSS,
inline SVG from :mod:`deltaprop.report.chart`, no scripts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from deltaprop.core.units import SATURATED_SHARE
from deltaprop.core.units import unit_activity as _layer_activity
from deltaprop.report.chart import CSS as CHART_CSS
from deltaprop.report.chart import bar_chart, line_chart

if TYPE_CHECKING:
    from deltaprop.core.network import Network

__all__ = ["render_report", "unit_activity", "gradient_warnings"]

#: a gradient norm below this is "vanished"; above EXPLODE it has "exploded"
VANISH, EXPLODE = 1e-7, 1e3
MAX_ROWS = 2000
#: an inputs table longer than FOLD rows is summarised, SHOWN rows at each end left in sight
FOLD, SHOWN = 20, 5
COLOURS = ("#2563eb", "#ea580c", "#16a34a", "#7c3aed", "#0891b2", "#be185d", "#854d0e", "#4b5563")


def unit_activity(net: Network, X: np.ndarray) -> dict[int, tuple[int, int, int]]:
    """Per hidden layer l: (n units, dead units, saturated units) on the rows of X, as
    :mod:`deltaprop.core.units` defines them."""
    fwd = net.forward(np.asarray(X, dtype=net.dtype)[:MAX_ROWS])
    return {l: _layer_activity(net.f(l), fwd.u[l], fwd.z[l])[:3] for l in range(2, net.L)}


def gradient_warnings(norms: list[dict[int, float]]) -> list[str]:
    """Warnings about vanishing or exploding gradients from a list of {l: ‖∂E/∂W^(l)‖} per epoch."""
    warnings: list[str] = []
    for l in sorted({l for g in norms for l in g}):
        series = np.array([g.get(l, np.nan) for g in norms], dtype=np.float64)
        finite = series[np.isfinite(series)]
        if finite.size == 0:
            warnings.append(f"layer {l}: the gradient norm is never finite")
        elif finite[-1] < VANISH:
            warnings.append(f"layer {l}: the gradient has vanished (‖∂E/∂W⁽{l}⁾‖ = {finite[-1]:.2g} at the "
                            f"end); its weights no longer learn — try another activation or fewer layers")
        elif finite.max() > EXPLODE:
            warnings.append(f"layer {l}: the gradient exploded (‖∂E/∂W⁽{l}⁾‖ > {EXPLODE:g} from epoch "
                            f"{int(np.argmax(series > EXPLODE)) + 1}); lower --learning-rate")
    return warnings


def _epochs(n: int, total: int | None = None) -> np.ndarray:
    """Epochs 1 … n, or the last n of ``total``."""
    return np.arange(1, n + 1) + ((total or n) - n)


def _loss_plot(history: dict[str, Any]) -> str | None:
    train = np.asarray(history.get("loss_curve", []), dtype=float)
    val = np.asarray(history.get("validation_loss_curve", []), dtype=float)
    if train.size == 0:
        return None
    lines = [("training loss (with L2 term)", _epochs(train.size), train, COLOURS[0])]
    if val.size:
        lines.append(("validation loss", _epochs(val.size, train.size), val, COLOURS[1]))
    best = history.get("best_epoch")
    positive = np.concatenate([train, val])
    positive = positive[np.isfinite(positive) & (positive > 0)]
    return line_chart(lines, title="loss per epoch", ylabel="loss (mean E_n)",
                      log=bool(positive.size and positive.max() / positive.min() > 50),
                      vline=(best, f"best epoch ({best})", COLOURS[2]) if best else None)


def _score_plot(history: dict[str, Any], task: str) -> str | None:
    score = np.asarray(history.get("validation_score_curve", []), dtype=float)
    if score.size == 0:
        return None
    ylim = None
    if task == "classification":
        ylim = (min(0.0, float(np.nanmin(score))) if np.isfinite(score).any() else 0.0, 1.0)
    label = "validation R²" if task == "regression" else "validation accuracy"
    epochs = _epochs(score.size, len(history.get("loss_curve", [])))
    return line_chart([(label, epochs, score, COLOURS[3])], title=label, ylabel=label, ylim=ylim)


def _gradient_plot(norms: list[dict[int, float]]) -> tuple[str, bool] | None:
    """The gradient norms per layer on a log axis, the vanished (and exploded) band shaded;
    (SVG, whether the exploded band is drawn)."""
    if not norms:
        return None
    lines = [(f"‖∂E/∂W⁽{l}⁾‖ (layer {l})", _epochs(len(norms)),
              np.array([g.get(l, np.nan) for g in norms], dtype=float), COLOURS[n % len(COLOURS)])
             for n, l in enumerate(sorted({l for g in norms for l in g}))]
    finite = np.array([v for g in norms for v in g.values() if np.isfinite(v) and v > 0])
    lo, hi = (finite.min() / 3, finite.max() * 3) if finite.size else (VANISH, EXPLODE)
    # the axis always reaches below VANISH, so the vanished band is always in sight
    lo, hi = min(lo, VANISH / 10), max(hi, 10.0)
    bands = [(lo, VANISH, "#fecaca", f"vanished (< {VANISH:g})")]
    if hi > EXPLODE:
        bands.append((EXPLODE, hi, "#fecaca", ""))
    return line_chart(lines, title="gradient norms", ylabel="gradient norm (last mini-batch)", log=True,
                      ylim=(lo, hi), bands=bands), hi > EXPLODE


def _activity_plot(activity: dict[int, tuple[int, int, int]]) -> str | None:
    if not activity:
        return None
    shares = np.array([[dead / n, sat / n] for n, dead, sat in activity.values()]).reshape(-1, 2)
    return bar_chart([f"layer {l}" for l in activity],
                     [("dead", shares[:, 0], "#dc2626"), ("saturated", shares[:, 1], "#f59e0b")],
                     title="dead and saturated units", xlabel="share of the layer's units")


def _row(cells: Iterable[Any], numbers: Iterable[Any] = (), head: str = "td") -> str:
    """A table row: ``cells`` as text (the first a ``head`` cell), then ``numbers`` right-aligned."""
    cells = list(cells)
    first = f"<{head}>{cells[0]}</{head}>" if cells else ""
    return ("<tr>" + first + "".join(f"<td>{c}</td>" for c in cells[1:])
            + "".join(f'<td class="num">{v}</td>' for v in numbers) + "</tr>")


def _table(heads: Sequence[str], rows: Iterable[str], attrs: str = "") -> str:
    heads_row = "".join(f"<th>{h}</th>" for h in heads)
    return f"<table{attrs}><tr>{heads_row}</tr>" + "".join(rows) + "</table>"


def _diagram(model: Any) -> tuple[str, str]:
    """The trained network drawn as explain draws it, its inputs and outputs named."""
    from deltaprop.explanation.core import unit_names
    from deltaprop.explanation.diagram import CSS, Highlight, Layout, network_svg

    net = model.network_
    inputs, outputs = unit_names(model, net)
    names = {(1, k): [name] for k, name in enumerate(inputs or [], 1)}
    names.update({(net.L, k): [name] for k, name in enumerate(outputs or [], 1)})
    return network_svg(net, Layout(net, {}, names), Highlight(), title="the trained network"), CSS


def _confusion_table(history: dict[str, Any]) -> str:
    """The confusion matrix of the validation (or training) rows as a table."""
    confusion = history.get("confusion")
    if not confusion:
        return ""
    classes = [escape(str(c)) for c in confusion["classes"]]
    rows = (_row([c], row, head="th") for c, row in zip(classes, confusion["matrix"]))
    return (f"<h3>Confusion matrix ({escape(confusion['rows'])} rows)</h3>"
            + _table(["true ↓ / predicted →", *classes], rows, ' class="confusion" id="confusion"'))


def _metrics_table(metrics: dict[str, dict[str, float]]) -> str:
    from deltaprop.report.numbers import format_metric

    if not metrics:
        return "<p>No metrics.</p>"
    names = dict.fromkeys(n for s in metrics for n in metrics[s])
    rows = (_row([escape(n)], (escape(format_metric(m.get(n, float("nan")))) for m in metrics.values()))
            for n in names)
    return _table(["metric", *map(escape, metrics)], rows, ' class="metrics"')


def _features_table(model: Any) -> str:
    """The preprocessing of every input column; over :data:`FOLD` columns, summarised per
    encoding, the first and last :data:`SHOWN` shown and the rest in a ``<details>``."""
    from collections import Counter

    from deltaprop.report.numbers import preprocessing

    features = getattr(model, "features", None)
    if features is None:
        return ""
    columns = list(features.columns)
    encodings = [preprocessing(c) for c in columns]
    rows = [_row([escape(c.name), e, escape(how)]) for c, (e, how) in zip(columns, encodings)]
    head = ["column", "encoding", "preprocessing"]
    if len(columns) <= FOLD:
        shown = _table(head, rows)
    else:
        # columns scaled together share their divisor: count them as one encoding
        counts = Counter(e if e != "scaled" else f"{e}: {how}" for e, how in encodings)
        more = len(columns) - 2 * SHOWN
        fold = f'<tr><td colspan="3">… {more} more, below …</td></tr>'
        shown = (_table(["encoding", "columns"], (_row([escape(e)], [n]) for e, n in counts.items()),
                        ' class="encodings"')
                 + _table(head, [*rows[:SHOWN], fold, *rows[-SHOWN:]])
                 + f"<details><summary>The other {more} columns</summary>{_table(head, rows[SHOWN:-SHOWN])}"
                 + "</details>")
    impute = "imputed (median / no category)" if features.impute else "refused"
    return (f'<h2>Inputs</h2><div id="inputs"><p>{len(columns)} column(s) → {features.n_inputs} network '
            f"inputs; missing values {impute}.</p>{shown}</div>")


CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #111; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { padding: 0.25em 0.8em; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure.plot { margin: 1em 0; } figure.plot svg { display: block; width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
#diagram svg { width: 100%; height: auto; }
.warn { background: #fef3c7; border-left: 4px solid #f59e0b; padding: 0.4em 0.8em; margin: 0.4em 0; }
.ok { color: #15803d; } .meta { color: #555; }
"""


def _summary(model: Any, history: dict[str, Any], title: str) -> str:
    from deltaprop import __version__

    net, run = model.network_, history.get("run", {})
    hidden = ", ".join(dict.fromkeys(net.activation)) or "no hidden layer"
    meta = [f"{model.task} of {', '.join(model.target_names_)}",
            f" on {run.get('data')} ({run.get('rows')} rows)" if run.get("data") else "",
            f"; network {' → '.join(map(str, net.sizes))} ({hidden}), {net.n_parameters:,} parameters; "
            f"{len(history.get('loss_curve', []))} epochs",
            f", best epoch {history['best_epoch']}" if history.get("best_epoch") else "",
            " (stopped early)" if history.get("stopped_early") else "", f"; deltaprop {__version__}."]
    reason = history.get("stop_reason")
    stopped = f'<p class="meta">Stopped: {escape(reason)}.</p>' if reason else ""
    return f'<h1>{escape(title)}</h1><p class="meta">{escape("".join(meta))}</p>{stopped}'


def _warnings(norms: list[dict[int, float]], activity: dict[int, tuple[int, int, int]]) -> str:
    warnings = gradient_warnings(norms) + [
        f"layer {l}: {dead} of {n} units are dead (no gradient on any training row); try a lower "
        f"--learning-rate or --activation tanh" for l, (n, dead, _) in activity.items() if dead / n >= 0.5]
    if not warnings:
        return ('<h2>Warnings</h2><p class="ok">None: gradients neither vanished nor exploded, and no '
                "layer is mostly dead.</p>")
    return "<h2>Warnings</h2>" + "".join(f'<p class="warn">{escape(w)}</p>' for w in warnings)


def _training(history: dict[str, Any], task: str, norms: list[dict[int, float]], activity: dict) -> str:
    """The plots of the run, each with its caption, and the unit counts."""
    gradients = _gradient_plot(norms)
    shading = f"shaded: below {VANISH:g}, the gradient has vanished"
    if gradients is not None and gradients[1]:
        shading += f"; above {EXPLODE:g}, it has exploded"
    plots = [
        ("loss", _loss_plot(history),
         "Loss per epoch: training (mean over mini-batches, with the L2 term) and validation."),
        ("score", _score_plot(history, task), "Validation score per epoch."),
        ("gradients", gradients and gradients[0],
         f"‖∂E/∂W⁽ˡ⁾‖ per layer, last mini-batch of each epoch ({shading})."),
        ("units", _activity_plot(activity),
         "Dead units (f′(u) ≈ 0 on every training row) and saturated ones (flat on at least "
         f"{SATURATED_SHARE:.0%} of rows; only an activation that saturates, such as tanh or the "
         "logistic, can be), per hidden layer."),
    ]
    parts = ["<h2>Training</h2>"] + [f'<figure class="plot" id="plot-{name}">{svg}'
                                     f"<figcaption>{escape(caption)}</figcaption></figure>"
                                     for name, svg, caption in plots if svg]
    if activity:
        parts.append(_table(["hidden layer", "units", "dead", "saturated"],
                            (_row([f"layer {l}"], counts) for l, counts in activity.items())))
    return "".join(parts)


def render_report(model: Any, X_train: np.ndarray | None = None,
                  title: str = "deltaprop training report") -> str:
    """The report of a trained TabularModel as one HTML string.

    ``X_train``: the network inputs of (some of) the training rows, shape (n, n_inputs), for
    the dead/saturated unit counts (left out when None).
    """
    net = model.network_
    history = getattr(model, "history", {}) or {}
    norms = [{int(k): float(v) for k, v in g.items()} for g in history.get("gradient_norms", [])]
    activity = unit_activity(net, X_train) if X_train is not None and net.L > 2 else {}
    diagram, diagram_css = _diagram(model)
    parts = [_summary(model, history, title), "<h2>Metrics</h2>" + _metrics_table(history.get("metrics", {})),
             '<p class="meta">RMSE, R² and MAE in the target\'s own units; the losses below are in '
             "standardised units.</p>" if model.task == "regression" else "",
             _confusion_table(history), _warnings(norms, activity),
             _training(history, model.task, norms, activity),
             "<h2>Network</h2><p>Links coloured by the trained weights (blue positive, orange negative), "
             "width growing with |w| within each layer; inputs and outputs named after the columns "
             f'and classes they stand for.</p><div class="plot" id="diagram">{diagram}</div>',
             _features_table(model)]
    body = "\n".join(p for p in parts if p)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{CSS}{CHART_CSS}{diagram_css}</style></head><body>\n{body}\n</body></html>\n")
