"""Confidence limits, funnel limits and directly standardised rates, as PHE/OHID compute them.

The warehouse computes these in SQL (macros/asthma/measures.sql, int_asthma_inequality_rates);
this module is the same arithmetic in Python, written from the published methods, so the
tests can recompute every published figure independently and check the formulas themselves
against known answers.

* Byars' approximation to exact Poisson limits of a count (Breslow & Day 1987;
  PHEindicatormethods R/utils.R ``byars_lower``/``byars_upper``).
* Wilson score interval of a proportion (Wilson 1927; Newcombe & Altman 2000;
  PHEindicatormethods ``wilson_lower``/``wilson_upper``).
* Funnel-plot control limits for a proportion around an average: the observed proportion at
  which the Wilson limit reaches the average (PHEindicatormethods ``sigma_adjustment`` used
  by ``calculate_funnel_limits``), at 95% and 99.8%.
* Directly standardised rate with Dobson/Byars limits, and the variance for non-independent
  events (PHEindicatormethods R/DSR.R ``calculate_dsr(independent_events = FALSE)``): the
  data are counts of persons by age band and number of events per person (event frequency
  f); the variance is sum over f of f^2 times the DSR variance of the person counts, so a
  person with several events widens the interval more than the same number of events spread
  over several persons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(confidence + (1 - confidence) / 2))


def byars(observed, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits of an observed count (lower is 0 when the count is 0)."""
    o = np.asarray(observed, dtype=float)
    z = _z(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(o > 0, o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3, 0.0)
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    return lower, upper


def poisson_exact(observed, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson limits of an observed count: chi-square quantiles / 2."""
    o = np.asarray(observed, dtype=float)
    alpha = 1 - confidence
    lower = np.where(o > 0, stats.chi2.ppf(alpha / 2, 2 * np.maximum(o, 1)) / 2, 0.0)
    return lower, stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2


def crude_rate_limits(observed, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """A crude rate's count limits as PHE publishes them (PHEindicatormethods phe_rate): exact
    Poisson below 10 events, Byars' approximation from 10."""
    o = np.asarray(observed, dtype=float)
    exact, approx = poisson_exact(o, confidence), byars(o, confidence)
    return tuple(np.where(o < 10, e, b) for e, b in zip(exact, approx, strict=True))


def wilson(x, n, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score limits of the proportion x / n, as fractions."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(x < 0) or np.any(x > n):
        raise ValueError("need 0 <= x <= n for a Wilson interval")
    z = _z(confidence)
    root = z * np.sqrt(z**2 + 4 * x * (1 - x / n))
    return (2 * x + z**2 - root) / (2 * (n + z**2)), (2 * x + z**2 + root) / (2 * (n + z**2))


def funnel_limits(average, n, confidence: float = 0.95, z: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Funnel-plot limits (fractions, clipped to [0, 1]) for proportions with denominator n; ``z``
    (the warehouse's normal quantile, vars z_95 / z_99_8) overrides the one from ``confidence``."""
    p = np.asarray(average, dtype=float)
    n = np.asarray(n, dtype=float)
    z = _z(confidence) if z is None else float(z)
    base = p * (n / z**2 + 1)
    last = 1 / z**2 + 1 / n
    adj = np.sqrt((-8 * base) ** 2 - 64 * last * p * (n * (p * (n / z**2 + 2) - 1) + z**2 * (p - 1)))
    lower = (base - adj / 8) / last / n
    upper = (base + adj / 8) / last / n
    return np.clip(lower, 0, 1), np.clip(upper, 0, 1)


def dsr(
    events_per_person: pd.DataFrame,
    person_time: pd.Series,
    standard: pd.Series,
    *,
    multiplier: float = 1000,
    confidence: float = 0.95,
    independent_events: bool = False,
) -> dict[str, float]:
    """Directly standardised rate of one group.

    ``events_per_person``: one row per person x age band with columns ``band`` and ``events``
    (persons with no events may be left out). ``person_time``: person-time per band (bands
    without person-time may be left out: they contribute zero). ``standard``: the standard
    population weight of every band of the standard (ESP 2013: 19 bands); the rate is divided
    by the sum of all of them, never renormalised to the bands present.
    """
    total_weight = float(standard.sum())
    n = person_time[person_time > 0]
    w = standard.reindex(n.index)
    if w.isna().any():
        raise KeyError(f"age band(s) not in the standard: {', '.join(map(str, w[w.isna()].index))}")
    e = events_per_person[events_per_person["events"] > 0]
    if not set(e["band"]) <= set(n.index):
        raise ValueError("events in an age band without person-time")
    observed_by_band = e.groupby("band")["events"].sum().reindex(n.index, fill_value=0)
    value = float((w * observed_by_band / n).sum() / total_weight * multiplier)
    if independent_events:
        variance = float((w**2 * observed_by_band / n**2).sum() / total_weight**2 * multiplier**2)
    else:
        # PHE structure: persons counted by band and event frequency f; variance summed over f.
        freq = e.groupby(["events", "band"]).size().rename("persons").reset_index()
        variance = 0.0
        for f, rows in freq.groupby("events"):
            x = rows.set_index("band")["persons"]
            var_f = float((x * (w[x.index] / n[x.index]) ** 2).sum() / total_weight**2 * multiplier**2)
            variance += f**2 * var_f
    observed = float(observed_by_band.sum())
    out = {"dsr": value, "variance": variance, "standard_error": float(np.sqrt(variance)), "events": observed}
    if observed > 0:
        lo, hi = byars(observed, confidence)
        scale = np.sqrt(variance / observed)
        out["lower"] = float(value + scale * (lo - observed))
        out["upper"] = float(value + scale * (hi - observed))
    else:
        out["lower"] = out["upper"] = float("nan")
    return out
