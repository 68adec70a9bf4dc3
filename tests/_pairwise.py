"""All-pairs (pairwise) coverings for parametrised tests, in place of full Cartesian grids.

``pairwise({"a": [...], "b": [...], ...})`` returns rows (dicts, name → value) in which every
value of every parameter meets every value of every other parameter at least once, in far fewer
rows than the product.  The construction is greedy and deterministic: the same arguments give
the same rows, in the same order, in every process (pytest-xdist needs that to collect).

Two options for the interactions that matter beyond pairs:

* ``full=("a", "b")``: every combination of these parameters appears (their product is the
  first rows); the others are chosen to cover all pairs.
* ``allowed=predicate``: called with a partial row (a dict of some names → values); False
  means no case may hold those values together.  Pairs it refuses are not required.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any


def pairwise(
    params: Mapping[str, Sequence[Any]],
    *,
    full: Iterable[str] = (),
    allowed: Callable[[dict[str, Any]], bool] | None = None,
) -> list[dict[str, Any]]:
    """Rows covering every pair of values of every two parameters (see the module)."""
    names = list(params)
    values = [list(params[name]) for name in names]
    if any(not v for v in values):
        raise ValueError("every parameter needs at least one value")
    full_index = [names.index(name) for name in full]
    ok = allowed or (lambda partial: True)

    def fits(row: dict[int, int]) -> bool:
        return ok({names[k]: values[k][v] for k, v in row.items()})

    uncovered = {
        (i, a, j, b)
        for i, j in itertools.combinations(range(len(names)), 2)
        for a in range(len(values[i]))
        for b in range(len(values[j]))
        if fits({i: a, j: b})
    }

    uses = [[0] * len(v) for v in values]

    def gain(row: dict[int, int], k: int, c: int) -> int:
        return sum((min(k, m), row[m] if m < k else c, max(k, m), c if m < k else row[m]) in uncovered
                   for m in row)

    def complete(row: dict[int, int]) -> dict[int, int]:
        for k in range(len(names)):
            if k not in row:
                choices = [c for c in range(len(values[k])) if fits({**row, k: c})]
                if not choices:
                    raise ValueError(f"no value of {names[k]!r} is allowed with {row}")
                # the most new pairs; on a tie the value used least so far, then the first
                row[k] = max(choices, key=lambda c: (gain(row, k, c), -uses[k][c], -c))
        for k, c in row.items():
            uses[k][c] += 1
        uncovered.difference_update(
            (i, row[i], j, row[j]) for i, j in itertools.combinations(range(len(names)), 2)
        )
        return row

    rows = [
        complete(dict(zip(full_index, combination)))
        for combination in itertools.product(*(range(len(values[k])) for k in full_index))
        if fits(dict(zip(full_index, combination)))
    ] if full_index else []
    while uncovered:
        i, a, j, b = min(uncovered)
        rows.append(complete({i: a, j: b}))
    for k, n_values in enumerate(map(len, values)):
        for c in range(n_values):  # one parameter alone, or a value that no pair allows
            if all(row[k] != c for row in rows) and fits({k: c}):
                rows.append(complete({k: c}))
    return [{names[k]: values[k][row[k]] for k in range(len(names))} for row in rows]


def cases(params: Mapping[str, Sequence[Any]], **options: Any) -> list[tuple[Any, ...]]:
    """``pairwise`` as tuples in the order of ``params``, for ``pytest.mark.parametrize``."""
    return [tuple(row.values()) for row in pairwise(params, **options)]
