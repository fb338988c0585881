"""The aggregates of macros/engine/exact_aggregates.sql, rendered and run by the real `dbt show`: an
exact sum does not depend on the order of its rows, and an ordered aggregate adds in the order it
states, whatever order the rows arrive in. The values are chosen so that a plain DOUBLE sum gives
a different answer in different orders (1e16 + 1 is 1e16 in a DOUBLE)."""

from __future__ import annotations

import math

import numpy as np

# k, x: in order of k a DOUBLE sum is ((1e16 + 1) - 1e16) + 1 = 1; in reverse it is 0; exactly 2.
ROWS = "(values (3, -1e16::double), (1, 1e16::double), (4, 1.0::double), (2, 1.0::double)) as t (k, x)"


def test_an_exact_sum_and_mean_do_not_depend_on_the_order_of_the_rows(show):
    row = show(f"select {{{{ exact_sum('x') }}}} as total, {{{{ exact_avg('x') }}}} as mean from {ROWS}")[0]
    assert row == {"total": 2.0, "mean": 0.5}


def test_an_ordered_aggregate_adds_in_the_order_it_states(show):
    row = show(
        "select {{ ordered_aggregate('sum', 'x', 'k') }} as by_k,"
        " {{ ordered_aggregate('sum', 'x', 'k desc') }} as by_k_desc,"
        " {{ ordered_aggregate('sum', 'x', 'k', 'k > 4') }} as nothing_passes"
        f" from {ROWS}"
    )[0]
    assert row == {"by_k": 1.0, "by_k_desc": 0.0, "nothing_passes": None}


def test_an_ordered_standard_deviation_is_the_sample_sd_per_group(show):
    values = {"a": [12.5, 14.25, 9.75, 11.0], "b": [0.1, 0.2], "c": [3.0]}
    rows = ", ".join(f"('{g}', {i}, {v}::double)" for g, vs in values.items() for i, v in enumerate(vs))
    out = show(
        "select g, {{ ordered_aggregate('stddev_samp', 'x', 'i') }} as sd,"
        " {{ ordered_aggregate('avg', 'x', 'i', 'i > 0') }} as mean_after_first"
        f" from (values {rows}) as t (g, i, x) group by g order by g"
    )
    for row in out:
        xs = values[row["g"]]
        if len(xs) < 2:
            assert row["sd"] is None and row["mean_after_first"] is None
        else:
            assert math.isclose(row["sd"], float(np.std(xs, ddof=1)), rel_tol=1e-15)
            assert math.isclose(row["mean_after_first"], float(np.mean(xs[1:])), rel_tol=1e-15)
