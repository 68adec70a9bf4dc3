"""The pairwise covering that stands in for full grids (tests/_pairwise.py) covers every pair."""

import itertools

import numpy as np
import pytest

from _pairwise import cases, pairwise

GRIDS = {
    "small": {"a": [1, 2], "b": [True, False]},
    "mixed": {"a": [1, 2, 3], "b": list("xyz"), "c": [0, 1], "d": [5, 6, 7, 8]},
    "unhashable": {"opt": [dict(solver="sgd"), dict(solver="adam")], "dtype": [np.float64, np.float32],
                   "sizes": [[3, 2], [4, 5, 3]], "alpha": [0.0, 0.01, 0.1]},
    "many binary": {f"p{k}": [False, True] for k in range(8)},
}


def _covered(rows, params, allowed=lambda row: True):
    """The pairs of values (by position) that the rows hold, and those that they should hold."""
    pairs = list(itertools.combinations(enumerate(params), 2))
    held = {(i, params[n].index(row[n]), j, params[m].index(row[m]))
            for row in rows for (i, n), (j, m) in pairs}
    wanted = {(i, a, j, b)
              for (i, n), (j, m) in pairs
              for a, b in itertools.product(range(len(params[n])), range(len(params[m])))
              if allowed({n: params[n][a], m: params[m][b]})}
    return held, wanted


@pytest.mark.parametrize("grid", list(GRIDS))
def test_every_pair_of_values_of_every_two_parameters_is_covered(grid):
    params = GRIDS[grid]
    rows = pairwise(params)
    held, wanted = _covered(rows, params)
    assert wanted <= held
    assert all(list(row) == list(params) for row in rows)
    # near the lower bound, the product of the two largest value counts (4, 12, 6, 4), far
    # under the full grid (4, 72, 24, 256)
    assert len(rows) <= {"small": 4, "mixed": 14, "unhashable": 8, "many binary": 10}[grid]


def test_the_full_parameters_appear_in_every_combination_and_the_rest_pairwise():
    params = {"activation": list("abcdef"), "pair": list("uvwxyz"), "depth": [1, 2, 3, 4], "k": [1, 3]}
    rows = pairwise(params, full=("activation", "pair"))
    held, wanted = _covered(rows, params)
    assert wanted <= held
    combos = [(row["activation"], row["pair"]) for row in rows]
    assert set(combos) == set(itertools.product("abcdef", "uvwxyz"))
    assert len(rows) == 36  # the product holds room for every other pair


def test_refused_combinations_never_appear_and_are_not_required():
    def allowed(row):
        return not (row.get("pair") == "softmax" and row.get("k") == 1)

    params = {"activation": ["relu", "tanh"], "pair": ["identity", "softmax"], "depth": [1, 2, 3],
              "k": [1, 3]}
    rows = pairwise(params, full=("activation", "pair"), allowed=allowed)
    held, wanted = _covered(rows, params, allowed)
    assert wanted <= held
    assert all(allowed(row) for row in rows)
    assert {(row["activation"], row["pair"]) for row in rows} == set(
        itertools.product(["relu", "tanh"], ["identity", "softmax"]))


def test_the_covering_is_deterministic_and_cases_are_its_rows_as_tuples():
    params = GRIDS["mixed"]
    assert pairwise(params) == pairwise(dict(params))
    assert cases(params) == [tuple(row.values()) for row in pairwise(params)]


def test_one_parameter_gives_each_value_and_an_empty_one_is_refused():
    assert pairwise({"a": [1, 2, 3]}) == [{"a": 1}, {"a": 2}, {"a": 3}]
    with pytest.raises(ValueError, match="at least one value"):
        pairwise({"a": [1], "b": []})
