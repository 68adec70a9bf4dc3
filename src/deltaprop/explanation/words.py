"""The words of the explain pages, in English (the default) and Japanese.

Every sentence of the derivation is a template here, keyed by name; ``{name}`` marks a slot
that :func:`prose` fills with a formula node (rendered as MathML, LaTeX or Unicode text) or a
plain value.  The Japanese uses the terms of the textbook the derivation follows
(誤差逆伝播法, 出力層, 中間層, 入力層, 活性化関数, 重み, バイアス, 誤差関数).
"""

from __future__ import annotations

from string import Formatter
from typing import Any

__all__ = ["LANGUAGES", "check_lang", "say", "prose", "term"]

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
    "note.n": ", n = {n}",
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
    "outer.prose": "Steps 1–{k} found one entry. The same steps for every j and i fill a table with one "
    "entry per weight: {W} with its bias column in front, {n}×{m}. Entry (j, i) is {gen}, the product of "
    "row j of the column {dl} and column i of the row {zT} (column 0 is the +1 unit, so it holds the "
    "biases' gradients). A column times a row is exactly such a table of products: the transpose only "
    "turns the column {zl} into a row, so that the product has one entry per weight. ",
    "outer.lit": "The lit cell is this weight's gradient:",
    "outer.lit_batch": "The first grid is the batch: each cell the weighted mean Σₙ sₙ δⱼ zᵢ / Σₙ sₙ "
    "over the {N} samples, the "
    "lit cell this weight's gradient (before any L2 term); the second is {sample} alone, whose "
    "numbers the steps walk:",
    "tr.shapes": "The shapes: δ{l} is {n}×1 and (z{lp})ᵀ is 1×{m}, so the product is {n}×{m}, the shape "
    "of W{l}. With the +1 unit as z₀{lp}, 1×{m1} → {n}×{m1}: the grid below, bias column included.",
    "tr.without": "Without the transpose: δ{l} z{lp} is ({n}×1)({m}×1); the inner sizes 1 and {m} "
    "differ, so the product is not defined (and δᵀ z, even where the sizes agree, adds the products up "
    "into one number, not one per weight).",
    "tr.faces": "One rule, two faces: for u{l} = W{l} z{lp} + b{l}, ∂uⱼ/∂wⱼᵢ = zᵢ and ∂uⱼ/∂zᵢ = wⱼᵢ. "
    "Differentiating by W gives δ zᵀ ({n}×1 · 1×{m} → {n}×{m}, the shape of W); by z gives Wᵀ δ ({m}×{n} "
    "· {n}×1 → {m}×1, the shape of z), the sum over j that carries δ back one layer. Each transpose is "
    "the one that makes the shapes match (the shape-matching rule of CS231n's backpropagation notes).",
    "tr.batch": "The batch, one sample per column: Δ{l} is {n}×{N}, Z{lp} is {m1}×{N} (with its row of "
    "+1s), and Δ Zᵀ / N ({n}×{N} · {N}×{m1} → {n}×{m1}) sums δⱼ zᵢ over the samples: Nielsen's BP4 in "
    "matrix form over a mini-batch. Entry (j, i):",
    "tr.batch_weighted": "The batch, one sample per column, weighted by sₙ: Δ{l} is {n}×{N}, Z{lp} "
    "{m1}×{N}, and Δ S Zᵀ / Σₙ sₙ (S = diag(s)) sums sₙ δⱼ zᵢ over the samples. Entry (j, i):",
    "tr.rows": "One sample per row, as scikit-learn and PyTorch store it: X = (Z{lp})ᵀ, {X}, is N×{m} and "
    "Δ = (Δ{l})ᵀ is N×{n}. scikit-learn's coefs_[{c}] is (W{l})ᵀ, {m}×{n}, and its gradient is "
    "Xᵀ Δ / N ({m}×N · N×{n} → {m}×{n}): the same numbers, transposed. PyTorch's "
    "Linear.weight is W{l} itself, {n}×{m}, with gradient Δᵀ X / N.",
    "tr.x_input": "the input table",
    "tr.x_hidden": "the activations of layer {layer} (the input table only when l = 2)",
    "grid.batch": "The batch, N = {N} (Σₙ sₙ): each cell is the mean of δⱼ zᵢ over the samples; the "
    "lit cell is this weight's gradient (before any L2 term).",
    "grid.sample": "The walked sample alone ({sample}): δ zᵀ of this sample, the numbers the steps walk.",
    "outer.batch_elementwise": "weighted mean of δⱼ zᵢ over the samples",
    "column.caption": "Column {j} of {Wn} holds the links leaving unit {j}; laid beside {dn} row by row "
    "it gives the products wₖⱼ δₖ, and their sum is row {j} of {WT}: the transpose turns column {j} into "
    "row {j}.",
    # the per-sample table of a batch
    "col.n": "n",
    "col.row": "row",
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
    "tag.sample": "({sample})",
    "sample.n": "sample n = {n}",
    "all.title": "deltaprop explain: every weight of a {net} network ({n})",
    "all.prose": "All {n} weights and biases, derived on {sample}. Each link of the network below is a "
    "link to its weight's derivation; the table lists every gradient, the largest marked.",
    "all.weight": "weight",
    "all.largest": "largest |∂E/∂w|",
    "tag.raw": "(table: {value})",
    "col.raw_input": "in the table",
    "col.raw_target": "target in the table",
    "page.raw": "The network sees standardised values: each numeric column and target as (value − mean) / "
    "scale of the training data, each category as a 0/1 unit. The table's own values stand beside them.",
    "sample.row": "row {row} of the table",
    # the text rendering's frame
    "text.header": "{dEdw} in a {net} network, on {samples}",
    "samples.one": "1 sample",
    "samples.many": "{N} samples",
    "text.paths": "Paths from {wt} to the loss ({n} in all{pruned}), batch-mean contribution:",
    "l2_term": "L2 term (α/N) w",
    "sum": "sum",
    "other_paths": "other {n} paths",
    "text.layers": "Where gradients go, on these samples:",
    "col.units": "units",
    "col.dead_saturated": "dead / saturated units",
    "dead_saturated": "{dead}% dead, {saturated}% saturated",
    "notation": "In the derivation's notation:",
    # the page
    "page.title": "deltaprop explain: {dEdw} in a {net} network",
    "page.heading": "{dEdw} in a {net} network",
    "page.network": "{hidden} hidden layers, {output} output, {loss}",
    "page.network_plain": "{output} output, {loss}",
    "page.model": "Model: {source}; {samples}{alpha}. The derivation is walked through on {sample}, "
    "step by step, one diagram per step: the red link is the weight, red units and bright links are the "
    "ones the step is about, and beside each unit stand its u, z (y at the output), f′(u) and δ on that "
    "sample.",
    "page.model_only": "Model: {source}; {samples}{alpha}.",
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
    "forward.title": "Every number of {sample}: the forward and the backward pass",
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
    "pass almost none of it back: dead (f′(u) below {flat} of its largest value on every sample) or "
    "saturated (a logistic, tanh or softplus unit flat on at least {share} of the samples but not all; "
    "relu cannot saturate).",
    "col.layer_l": "layer l",
    "diagram.wide": "Layers of {sizes} units: the units on the paths carry numbers, ⋮ stands for the rest.",
}

#: Japanese; a phrase written as in English (a formula, a column's symbol) is left to ``EN``
JA: dict[str, str] = {
    "weight.title": "重み {wt} と連鎖律（chain rule）",
    "weight.prose": "重み {wt} は第{lp}層のユニット {src} から第{l}層のユニット {j} へのリンクの重みです。"
    "誤差関数に至る経路はそのユニットの入力 {uj} を通るものだけなので、連鎖律の項は一つです：",
    "bias_unit": "+1（バイアスのユニット）",
    "input.title": "{dudw}：総和のうち一つの項だけが残る",
    "input.prose": "入力 {uj} は、ユニット {j} に入るすべてのリンクについての、重みとリンクの入力側のユニ"
    "ットの出力との積の総和です。{wt} を含まない項は微分すると 0 になるので、{zi} だけが残ります。",
    "input.prose_bias": "入力 {uj} は、ユニット {j} に入るすべてのリンクについての、重みとリンクの入力側"
    "のユニットの出力との積の総和に、+1 のユニットからのバイアス {wt} を加えたものです。{wt} を含まない項"
    "は 0 になり、+1 のユニットの 1 だけが残ります。",
    "delta_out.title": "出力層の {dj}",
    "delta_out.canonical": "出力層では誤差関数と活性化関数 f が対応する組み合わせです：",
    "delta_out.softmax": "出力層の活性化関数は softmax ですが誤差関数は {loss} で、対応する組み合わせでは"
    "ありません。δ はすべての y_k を通る一般の連鎖律になります（softmax のヤコビ行列は対角ではありません"
    "）。",
    "delta_out.general": "出力層の活性化関数は {out}、誤差関数は {loss} で、対応する組み合わせではないの"
    "で、δ は一般の因子 f′(u) ∂Eₙ/∂y を残します。",
    "reason.squared_error": "Eₙ = ½ Σₖ (yₖ − dₖ)²（自乗誤差）で yₖ = uₖ（出力層の活性化関数は恒等写像）："
    "uⱼ を含むのは k = j の項だけで、その微分は yⱼ − dⱼ です。",
    "reason.log_loss": "Eₙ = −Σₖ dₖ log yₖ（交差エントロピー）で yₖ は softmax："
    "Σₖ (−dₖ / yₖ) yₖ (1[k=j] − yⱼ) = yⱼ − dⱼ（各サンプルの正解の和は 1）。",
    "reason.binary_log_loss": "Eₙ = −Σₖ [dₖ log yₖ + (1 − dₖ) log(1 − yₖ)] で yₖ はロジスティック関数："
    "∂Eₙ/∂yⱼ = (yⱼ − dⱼ) / (yⱼ (1 − yⱼ)) と f′(uⱼ) = yⱼ (1 − yⱼ) が打ち消し合います。",
    "reason.poisson": "Eₙ = Σₖ [dₖ log(dₖ / yₖ) − dₖ + yₖ] で yₖ = exp(uₖ)：(1 − dⱼ / yⱼ) yⱼ = yⱼ − dⱼ。",
    "fanout.title": "{dj}：{uj} は第{l1}層のすべてのユニットに届く",
    "fanout.prose": "活性化関数 f とリンク {wkj}（k = 1 … {n}）を通じて、{uj} は第{l1}層のすべてのユニット"
    "の"
    "入力の一部となり、Eₙ はそれらの入力の関数です。連鎖律によりそれらについて和をとります：",
    "link.prose": "ユニット k の入力を展開すると、{uj} を含むのは j′ = {j} の項だけです：",
    "delta_hidden.title": "{dj} = {formula}、そして転置",
    "delta_hidden.prose": "二つをまとめます。行列で書くと {matrix} です。転置した積の第{j}行はちょうど k に"
    "ついての和です。"
    "{Wn} の第{j}列には、ユニット {j} から出るリンクの重み {wkj} が並んでいるからです。"
    "転置とは、k についての和を行列の積として書いたものです：",
    "note.matrix_row": "（行列の積、第{j}行{n}）",
    "note.elementwise": "（要素ごとの和、k = 1 … {n}）",
    "note.n": "、n = {n}",
    "largest_difference": "全サンプルでの |行列の行 − 要素ごとの和| の最大値",
    "col.product": "積",
    "col.product_mean": "積のバッチ平均",
    "delta_next.title": "{dk} … {dL}：出力層から逆にたどる",
    "delta_next.output": "出力層では、出力層の重みのときと同じく：",
    "delta_next.output_general": ""
    "出力層（{out} と {loss}、対応する組み合わせではない）では δ は一般の因子を残します。",
    "delta_next.deeper": "各 {dk} も一つ先の層で同じように求まり、出力層まで続きます。出力層では {rule}。",
    "rule.canonical": "δ = y − d（対応する組み合わせ）",
    "outer.title": "層全体を一度に：{dEdW} = {outer}、なぜ転置が出てくるのか",
    "outer.prose": "ステップ 1–{k} で一つの成分を求めました。すべての j と i について同じことをすると、重"
    "み一つにつき一つの成分を持つ表ができます：バイアスの列を先頭に加えた {W}（{n}×{m}）です。成分 (j, i)"
    " は {gen} で、縦ベクトル {dl} の第 j 行と横ベクトル {zT} の第 i 列の積です（第 0 列は +1 のユニット"
    "で、バイアスの勾配が入ります）。縦ベクトルと横ベクトルの積は、ちょうどこのような積の表です。転置は縦"
    "ベクトル {zl} を横ベクトルにするだけで、それで積が重み一つにつき一つの成分を持ちます。",
    "outer.lit": "強調したマスがこの重みの勾配です：",
    "outer.lit_batch": "一つ目の表はバッチ全体で、各マスは {N} 個のサンプルについての δⱼ zᵢ の重み付き平均"
    " Σₙ sₙ δⱼ zᵢ / Σₙ sₙ、強調"
    "したマスがこの重みの勾配（L2 の項を除く）です。二つ目は{sample}だけの表で、"
    "各ステップはこの数値をたどります：",
    "grid.batch": "バッチ（N = {N}、Σₙ sₙ）：各マスは δⱼ zᵢ のサンプルについての平均です。"
    "強調したマスがこの重みの勾配（L2 の項を除く）です。",
    "grid.sample": "{sample}だけ：このサンプルの δ zᵀ で、各ステップがたどる数値です。",
    "tr.shapes": "形：δ{l} は {n}×1、(z{lp})ᵀ は 1×{m} なので、積は {n}×{m} で W{l} と同じ形です。+1 のユ"
    "ニットを z₀{lp} として加えると 1×{m1} → {n}×{m1} となり、下の表（バイアスの列を含む）になります。",
    "tr.without": "転置しないと：δ{l} z{lp} は ({n}×1)({m}×1) で、内側の大きさ 1 と {m} が違うので積は定義"
    "されません（δᵀ z は大きさが合う場合でも積を足し合わせた一つの数になり、重みごとの値にはなりません）。",
    "tr.faces": "一つの規則の二つの面：u{l} = W{l} z{lp} + b{l} では ∂uⱼ/∂wⱼᵢ = zᵢ、∂uⱼ/∂zᵢ = wⱼᵢ です。"
    "W で微分すると δ zᵀ（{n}×1 · 1×{m} → {n}×{m}、W の形）、z で微分すると Wᵀ δ（{m}×{n} · {n}×1 → {m}×1、"
    "z の形）になり、後者は j について和をとって δ を一つ前の層へ伝えます。どちらの転置も形を合わせるための"
    "ものです（CS231n の講義ノートでいう形合わせの規則）。",
    "tr.batch": "バッチ（サンプルを列に並べる）：Δ{l} は {n}×{N}、Z{lp} は（+1 の行を含めて）{m1}×{N} で"
    "、Δ Zᵀ / N（{n}×{N} · {N}×{m1} → {n}×{m1}）は δⱼ zᵢ をサンプルについて足し合わせます（Nielsen の BP4"
    " をミニバッチについて行列で書いたもの）。成分 (j, i)：",
    "tr.batch_weighted": "バッチ（サンプルを列に並べ、重み sₙ をつける）：Δ{l} は {n}×{N}、Z{lp} は {m1}×"
    "{N} で、Δ S Zᵀ / Σₙ sₙ（S = diag(s)）は sₙ δⱼ zᵢ をサンプルについて足し合わせます。成分 (j, i)：",
    "tr.rows": "サンプルを行に並べる形（scikit-learn と PyTorch の格納の仕方）：X = (Z{lp})ᵀ（{X}）は N×{m}、"
    "Δ = (Δ{l})ᵀ は N×{n} です。scikit-learn の coefs_[{c}] は (W{l})ᵀ で {m}×{n}、その勾配は Xᵀ Δ / N"
    "（{m}×N · N×{n} → {m}×{n}）で、同じ数値を転置したものです。PyTorch の Linear.weight は W{l} そのもの"
    "（{n}×{m}）で、勾配は Δᵀ X / N です。",
    "tr.x_input": "入力の表",
    "tr.x_hidden": "第{layer}層の出力。入力の表になるのは l = 2 のときだけ",
    "outer.batch_elementwise": "δⱼ zᵢ のサンプルについての重み付き平均",
    "column.caption": "{Wn} の第{j}列はユニット {j} から出るリンクの重みです。{dn} と行ごとに並べると"
    "積 wₖⱼ δₖ ができ、その和が {WT} の第{j}行です：転置は第{j}列を第{j}行にします。",
    "col.row": "行",
    "total.title": "まとめ：式と数値",
    "total.prose_one": "サンプル一つでは、勾配はそのサンプルの ∂Eₙ/∂w です：",
    "total.prose": "バッチの勾配は {N} 個のサンプルについての（重み付き）平均です：",
    "total.l2": "、それに L2 の項（α = {alpha}）を加えます。",
    "check.elementwise": "要素ごとの導出",
    "check.backprop": "誤差逆伝播法",
    "check.numerical": "中心差分（h = {h}）",
    "check.relative_error": "相対誤差",
    "tag.sample": "（{sample}）",
    "sample.n": "サンプル n = {n}",
    "all.title": "deltaprop explain：{net} のネットワークのすべての重み（{n} 個）",
    "all.prose": "{n} 個の重みとバイアスすべてを{sample}で導出します。下のネットワークの各リンクはその重"
    "みの導出へのリンクです。表はすべての勾配を示し、最大のものに印をつけています。",
    "all.weight": "重み",
    "all.largest": "|∂E/∂w| が最大",
    "tag.raw": "（表の値：{value}）",
    "col.raw_input": "表の値",
    "col.raw_target": "表の正解",
    "page.raw": "ネットワークが見るのは標準化した値です：数値の列と正解は学習データの（値 − 平均）/ 尺度、"
    "カテゴリは 0/1 のユニットです。表そのものの値を横に示します。",
    "sample.row": "表の {row} 行目",
    "text.header": "{net} のネットワークの {dEdw}（{samples}）",
    "samples.one": "サンプル 1 個",
    "samples.many": "サンプル {N} 個",
    "text.paths": "{wt} から誤差関数への経路（全 {n} 本{pruned}）、バッチ平均の寄与：",
    "l2_term": "L2 の項 (α/N) w",
    "sum": "合計",
    "other_paths": "その他 {n} 本",
    "text.layers": "層ごとの勾配の大きさ（このサンプルで）：",
    "col.units": "ユニット数",
    "col.dead_saturated": "不活性 / 飽和したユニット",
    "dead_saturated": "不活性 {dead}%、飽和 {saturated}%",
    "notation": "導出の記法で：",
    "page.title": "deltaprop explain：{net} のネットワークの {dEdw}",
    "page.heading": "{net} のネットワークの {dEdw}",
    "page.network": "中間層 {hidden}、出力層 {output}、誤差関数 {loss}",
    "page.network_plain": "出力層 {output}、誤差関数 {loss}",
    "page.model": "モデル：{source}、{samples}{alpha}。{sample}の数値で、誤差逆伝播法の導出を"
    "一ステップずつ、ステップごとに一つの図でたどります：赤いリンクがこの重み、赤いユニットと明るいリンクが"
    "そのステップで注目する部分です。"
    "各ユニットの横には、そのサンプルでの u、z（出力層では y）、f′(u)、δ を書いています。",
    "page.model_only": "モデル：{source}、{samples}{alpha}。",
    "page.alpha": "、L2 の強さ α = {alpha}",
    "key.positive": "重み w > 0",
    "key.negative": "重み w < 0",
    "key.width": "線の太さ ∝ |w|",
    "checks.elementwise": "要素ごとの導出（導出の式そのもの）",
    "checks.backprop": "誤差逆伝播法（行列の漸化式）",
    "checks.numerical": "中心差分、h = {h}",
    "checks.verdict": "相対誤差 {error}：三つは{verdict}。",
    "checks.agree": "一致します",
    "checks.disagree": "一致しません",
    "convention": "このモデルは出力が {k} 個の scikit-learn の回帰モデルです。scikit-learn は自乗誤差を"
    "サンプルと出力の両方についての平均の ½ として報告しますが、学習に使う勾配は出力について和をとります"
    "（scikit-learn issue #8349）。ここでの数値は、導出のとおり出力について和をとった誤差関数 "
    "Eₙ = ½ Σₖ (yₖ − dₖ)² の勾配で、scikit-learn の最適化が使う勾配と同じであり、"
    "scikit-learn が報告する誤差の微分の {k} 倍です。",
    "forward.title": "{sample}のすべての数値：順伝播と逆伝播",
    "forward.layer": "第{l}層：{kind}、ユニット {n} 個、活性化関数 f = {f}",
    "forward.layer_input": "第1層：入力層、ユニット {n} 個（z⁽¹⁾ = x）",
    "kind.hidden": "中間層",
    "kind.output": "出力層",
    "col.unit": "ユニット",
    "paths.title": "誤差関数への経路",
    "paths.prose": "重みから誤差関数へのすべての経路と、その寄与 z · Π f′(u) w · δ（バッチ平均）；全 {n} 本"
    "{pruned}。"
    "合計すると勾配になります。",
    "paths.pruned": "、大きい流れをたどって見つかったもの",
    "col.path": "経路",
    "col.contribution": "寄与",
    "layers.title": "層ごとの勾配の大きさ",
    "layers.prose": "層ごとの、このサンプルでの勾配の大きさと、勾配をほとんど逆に伝えないユニットの割合："
    "不活性なユニット（すべてのサンプルで f′(u) が最大値の {flat} 未満）と"
    "飽和したユニット（ロジスティック関数・tanh・softplus のユニットで、"
    "{share} 以上のサンプルで f′(u) がほぼ 0、ただし全部ではない；relu は飽和しません）。",
    "col.layer_l": "層 l",
    "diagram.wide": "{sizes} ユニットの層：経路上のユニットにだけ数値を記し、残りは ⋮ で省略しています。",
}

LANGUAGES: dict[str, dict[str, str]] = {"en": EN, "ja": JA}


#: the Japanese textbook's names of the activation functions and losses (English: the code's names)
TERMS_JA = {
    "identity": "恒等写像",
    "squared_error": "自乗誤差",
    "log_loss": "交差エントロピー",
    "binary_log_loss": "二値交差エントロピー",
    "logistic": "ロジスティック関数",
    "softmax": "ソフトマックス関数",
    "absolute_error": "絶対誤差",
}


def term(lang: str, name: str) -> str:
    """An activation's or a loss's name as ``lang`` writes it."""
    return TERMS_JA.get(name, name) if lang == "ja" else name


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
