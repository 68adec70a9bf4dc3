"""The words of the explain pages, in English (the default) and Japanese.

Every sentence of the derivation is a template here, keyed by name; ``{name}`` marks a slot
that :func:`prose` fills with a formula node (rendered as MathML, LaTeX or Unicode text) or a
plain value.  The Japanese uses the terms of the textbook the derivation follows
(誤差逆伝播法, 出力層, 中間層, 入力層, 活性化関数, 重み, バイアス, 誤差関数).
"""

from __future__ import annotations

from string import Formatter
from typing import Any

__all__ = ["LANGUAGES", "check_lang", "say", "prose"]

EN: dict[str, str] = {
    # step 1: the chain rule at u_j
    "weight.title": "The weight {wt} and the chain rule",
    "weight.prose": "The weight {wt} is the link from unit {src} of layer {lp} to unit {j} of layer {l}. "
    "It reaches the loss only through {uj}, the input of that unit, so the chain rule has one term:",
    "bias_unit": "+1 (the bias unit)",
    # step 2: ∂u_j/∂w_ji = z_i
    "input.title": "{dudw}: only one term of the sum remains",
    "input.prose": "The input {uj} is the sum of every link into unit {j} times the output at its far "
    "end. Every other term of the sum does not involve {wt}, so its derivative is 0 and only {zi} "
    "remains.",
    "input.prose_bias": "The input {uj} is the sum of every link into unit {j} times the output at its "
    "far end, plus the bias {wt}, whose far end is the +1 unit. Every other term does not involve "
    "{wt}, so only the 1 of the +1 unit remains.",
    # step 3 (output weight): δ_j^(L)
    "delta_out.title": "{dj} at the output layer",
    "delta_out.canonical": "At the output layer the loss and f are a canonical pair: ",
    "delta_out.softmax": "The output is softmax but the loss is {loss}, not its canonical partner, so δ is "
    "the general chain rule through every y_k (softmax's Jacobian is not diagonal).",
    "delta_out.general": "The output f is {out} and the loss {loss}: not a canonical pair, so δ keeps the "
    "general factor f′(u) ∂Eₙ/∂y.",
    "reason.squared_error": "Eₙ = ½ Σₖ (yₖ − dₖ)² and yₖ = uₖ (identity output): only the term k = j "
    "involves uⱼ, and its derivative is yⱼ − dⱼ.",
    "reason.log_loss": "Eₙ = −Σₖ dₖ log yₖ with softmax yₖ: Σₖ (−dₖ / yₖ) yₖ (1[k=j] − yⱼ) = yⱼ − dⱼ, "
    "because each sample's targets sum to 1.",
    "reason.binary_log_loss": "Eₙ = −Σₖ [dₖ log yₖ + (1 − dₖ) log(1 − yₖ)] with logistic yₖ: "
    "∂Eₙ/∂yⱼ = (yⱼ − dⱼ) / (yⱼ (1 − yⱼ)) and f′(uⱼ) = yⱼ (1 − yⱼ) cancel.",
    "reason.poisson": "Eₙ = Σₖ [dₖ log(dₖ / yₖ) − dₖ + yₖ] with yₖ = exp(uₖ): (1 − dⱼ / yⱼ) yⱼ = yⱼ − dⱼ.",
    # steps 3–6 (hidden weight)
    "fanout.title": "{dj}: {uj} reaches every unit of layer {l1}",
    "fanout.prose": "Through f and the links {wkj} (k = 1 … {n}), {uj} is part of the input of every "
    "unit of layer {l1}, and Eₙ is a function of those inputs. The chain rule sums over them:",
    "link.title": "{dukduj} = {wf}",
    "link.prose": "Expanding the input of unit k, only the term j′ = {j} involves {uj}:",
    "delta_hidden.title": "{dj} = {formula}, and the transpose",
    "delta_hidden.prose": "Putting the two together. In matrix form this is {matrix}: row {j} of the "
    "transposed product is exactly the sum over k, because column {j} of {Wn} holds the links {wkj} "
    "leaving unit {j}. The transpose is the sum over k, written as a matrix product:",
    "note.matrix_row": "(matrix product, row {j}{n})",
    "note.elementwise": "(element-wise sum over k = 1 … {n})",
    "largest_difference": "largest |matrix row − element-wise sum| over the samples",
    "col.product": "product",
    "col.product_mean": "product, batch mean",
    "delta_next.title": "{dk} … {dL}: back from the output",
    "delta_next.output": "At the output layer, as for an output weight: ",
    "delta_next.output_general": "At the output layer ({out} with {loss}, not a canonical pair) δ keeps "
    "the general factor.",
    "delta_next.deeper": "Each {dk} is found the same way, one layer further on, down to the output layer "
    "where {rule}.",
    "rule.canonical": "δ = y − d (the canonical pair)",
    "rule.general": "δ = f′(u) ⊙ ∂Eₙ/∂y",
    # the transpose of the gradient's matrix form, for every weight
    "outer.title": "The whole layer at once: {dEdW} = {outer}, and why the transpose",
    "outer.prose": "Steps 1–{k} found one entry. The same steps for every j and i fill a table of the "
    "shape of {W}: entry (j, i) is {dj} times {zi}, the product of row j of the column {dl} and column i "
    "of the row {zT} (column 0 is the +1 unit, so it holds the biases' gradients). A column times a row "
    "is exactly such a table of products: the transpose only turns the column {zl} into a row, so that "
    "the product has one entry per weight. The lit cell is the weight of this page, sample n = {n}:",
    "outer.batch": "entry (j, i) of the batch's Σₙ sₙ δ⁽ˡ⁾(z⁽ˡ⁻¹⁾)ᵀ / Σₙ sₙ",
    "outer.batch_elementwise": "weighted mean of δⱼ zᵢ over the samples",
    "column.caption": "Column {j} of {Wn} holds the links leaving unit {j}; laid beside {dn} row by row "
    "it gives the products wₖⱼ δₖ, and their sum is row {j} of {WT}: the transpose turns column {j} into "
    "row {j}.",
    # the per-sample table of a batch
    "col.n": "n",
    "col.s": "sₙ",
    "batch.mean": "Σₙ sₙ δⱼ zᵢ / Σₙ sₙ",
    "batch.l2": "+ (α / Σₙ sₙ) w",
    "batch.total": "= ∂E/∂w",
    # the last step
    "total.title": "All together: the derivation's formula, with the numbers",
    "total.prose_one": "On one sample the gradient is this sample's ∂Eₙ/∂w:",
    "total.prose": "The batch gradient is the (sample-weighted) mean over the {N} samples:",
    "total.l2": " plus the L2 term (α = {alpha}).",
    "check.elementwise": "element-wise derivation",
    "check.backprop": "backpropagation",
    "check.numerical": "central difference (h = {h})",
    "check.relative_error": "relative error",
    "tag.sample": "(sample n = {n})",
    # the text rendering's frame
    "text.header": "{dEdw} in a {net} network, on {samples}",
    "samples.one": "1 sample",
    "samples.many": "{N} samples",
    "alpha": "α = {alpha}",
    "text.paths": "Paths from {wt} to the loss ({n} in all{pruned}), batch-mean contribution:",
    "text.pruned": "; the largest found",
    "l2_term": "L2 term (α/N) w",
    "sum": "sum",
    "other_paths": "other {n} paths",
    "text.layers": "Where gradients go, on these samples:",
    "col.layer": "layer",
    "col.units": "units",
    "col.dead_saturated": "dead / saturated units",
    "dead_saturated": "{dead}% dead, {saturated}% saturated",
    "notation": "In the derivation's notation:",
    # the page
    "page.title": "deltaprop explain: {dEdw} in a {net} network",
    "page.heading": "{dEdw} in a {net} network",
    "page.network": "{hidden} hidden layers, {output} output, {loss}",
    "page.network_plain": "{output} output, {loss}",
    "page.model": "Model: {source}; {samples}{alpha}. The derivation is walked through on sample n = {n}, "
    "step by step, one diagram per step: the red link is the weight, red units and bright links are the "
    "ones the step is about, and beside each unit stand its u, z (y at the output), f′(u) and δ on that "
    "sample.",
    "page.alpha": "; L2 strength α = {alpha}",
    "key.positive": "w > 0",
    "key.negative": "w < 0",
    "key.width": "line width ∝ |w|",
    "checks.elementwise": "element-wise derivation (the derivation's formulas)",
    "checks.backprop": "backpropagation (the matrix recursion)",
    "checks.numerical": "central difference, h = {h}",
    "checks.verdict": "Relative error {error}: the three {verdict}.",
    "checks.agree": "agree",
    "checks.disagree": "DISAGREE",
    "convention": "This model is a scikit-learn regressor with {k} outputs. scikit-learn reports its "
    "squared loss as ½ · the mean over samples and outputs, while the gradient it trains with sums over "
    "the outputs (scikit-learn issue #8349). The numbers here are the gradient of Eₙ = ½ Σₖ (yₖ − dₖ)², "
    "summed over the outputs as the derivation writes it: the gradient scikit-learn's optimiser uses, "
    "{k} times the derivative of the loss scikit-learn reports.",
    "forward.title": "Every number of sample n = {n}: the forward and the backward pass",
    "forward.layer": "Layer {l}: {kind}, {n} units, f = {f}",
    "forward.layer_input": "Layer 1: input layer, {n} units (z⁽¹⁾ = x)",
    "kind.hidden": "hidden layer",
    "kind.output": "output layer",
    "col.unit": "unit",
    "paths.title": "Paths to the loss",
    "paths.prose": "Every path from the weight to the loss, with its contribution z · Π f′(u) w · δ "
    "(batch mean); {n} in all{pruned}. They add up to the gradient.",
    "paths.pruned": ", the largest found by following the largest flows",
    "col.path": "path",
    "col.contribution": "contribution",
    "layers.title": "Where gradients go",
    "layers.prose": "Per layer, the size of the gradient on these samples and the share of units that "
    "pass almost none of it back: dead (f′(u) below 1% of its largest value on every sample) or "
    "saturated (a logistic, tanh or softplus unit flat on at least 90% of the samples but not all; relu "
    "cannot saturate).",
    "col.layer_l": "layer l",
}

JA: dict[str, str] = {}

LANGUAGES: dict[str, dict[str, str]] = {"en": EN, "ja": JA}


def check_lang(lang: str) -> str:
    """``lang`` if the pages speak it, else ValueError naming the languages there are."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang={lang!r} is not available; choose one of {', '.join(LANGUAGES)}")
    return lang


def say(lang: str, key: str, **values: Any) -> str:
    """The sentence ``key`` in ``lang`` (English where it has no translation), slots filled."""
    template = LANGUAGES[lang].get(key) or EN[key]
    return template.format(**{k: v if isinstance(v, str) else _plain(v) for k, v in values.items()})


def _plain(value: Any) -> str:
    text = getattr(value, "text", None)
    return text() if callable(text) else str(value)


def prose(lang: str, key: str, **values: Any) -> list:
    """The sentence ``key`` as a list of strings and formula nodes (the nodes left as nodes)."""
    template = LANGUAGES[lang].get(key) or EN[key]
    out: list = []
    for literal, name, spec, _ in Formatter().parse(template):
        if literal:
            out.append(literal)
        if name is None:
            continue
        value = values[name]
        if isinstance(value, str):
            out.append(value)
        elif hasattr(value, "mathml"):
            out.append(value)
        else:
            out.append(format(value, spec or ""))
    return out
