"""SII/RII (PHE method) against hand-computed answers and an independent statsmodels WLS fit."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from health_equity.stats.inequality import quintile_measure, ridit_scores, sii_by_outcome, sii_rii


def test_ridit_scores_are_cumulative_midpoints():
    assert np.allclose(ridit_scores([1, 1, 1, 1, 1]), [0.1, 0.3, 0.5, 0.7, 0.9])
    assert np.allclose(ridit_scores([2, 1, 1]), [0.25, 0.625, 0.875])


def test_a_perfect_line_gives_its_slope_and_ratio():
    # y = 11 - 10 b at b = 0.1 ... 0.9: SII = -10, RII = (11 - 10) / 11.
    out = sii_rii([10, 8, 6, 4, 2], [100] * 5)
    assert out["sii"] == pytest.approx(-10, abs=1e-12)
    assert out["rii"] == pytest.approx(1 / 11, abs=1e-12)


def test_matches_statsmodels_wls_with_unequal_populations():
    y = np.array([82.0, 61.5, 60.2, 51.0, 43.3])
    n = np.array([2681.0, 2338, 1919, 1667, 1395])
    b = ridit_scores(n)
    fit = sm.WLS(y, sm.add_constant(b), weights=n / n.sum()).fit()
    out = sii_rii(y, n)
    assert out["sii"] == pytest.approx(fit.params[1], abs=1e-9)
    assert out["rii"] == pytest.approx((fit.params[0] + fit.params[1]) / fit.params[0], abs=1e-9)


def test_monte_carlo_intervals_cover_the_estimate_shrink_with_se_and_repeat():
    y, n = np.array([80.0, 70, 60, 55, 45]), np.full(5, 1000.0)
    wide = sii_rii(y, n, np.full(5, 5.0), reps=20_000)
    narrow = sii_rii(y, n, np.full(5, 0.5), reps=20_000)
    assert wide["sii_lower"] < wide["sii"] < wide["sii_upper"]
    assert wide["rii_lower"] < wide["rii"] < wide["rii_upper"]
    assert (narrow["sii_upper"] - narrow["sii_lower"]) < (wide["sii_upper"] - wide["sii_lower"]) / 5
    assert sii_rii(y, n, np.full(5, 5.0), reps=20_000) == wide
    # With known sampling SE the slope's MC SD approaches the analytic WLS SE.
    b = ridit_scores(n)
    analytic = 5.0 / np.sqrt(np.sum((b - b.mean()) ** 2))  # equal weights: se / sqrt(sum (b - mean)^2)
    mc_half = (wide["sii_upper"] - wide["sii_lower"]) / (2 * 1.96)
    assert mc_half == pytest.approx(analytic, rel=0.03)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        sii_rii([1, 2, 3], [1, 2])
    with pytest.raises(ValueError):
        sii_rii([1, np.nan], [1, 2])
    with pytest.raises(KeyError, match="denominator"):
        sii_by_outcome(
            pd.DataFrame(
                {
                    "dimension": [],
                    "group_value": [],
                    "outcome": [],
                    "measure_type": [],
                    "indicator_unit": [],
                    "indicator_value": [],
                    "indicator_standard_error": [],
                }
            )
        )


COLS = [
    "dimension",
    "group_value",
    "outcome",
    "measure_type",
    "indicator_unit",
    "indicator_value",
    "indicator_standard_error",
    "denominator",
]


def test_by_outcome_orders_quintiles_and_flags_missing_values():
    rows = []
    for q, v in zip(range(1, 6), [50.0, 40, 30, 20, 10]):
        rows.append(("imd_quintile", str(q), "a", "rate per 1,000 person-years", "per 1,000", v, 1.0, 100.0))
        rows.append(
            (
                "imd_quintile",
                str(q),
                "b",
                "rate per 1,000 person-years",
                "per 1,000",
                np.nan if q == 3 else v,
                1.0,
                100.0,
            )
        )
    df = pd.DataFrame(rows, columns=COLS).sample(frac=1, random_state=0)
    out = sii_by_outcome(df, reps=1000).set_index("outcome")
    assert out.loc["a", "sii"] == pytest.approx(-50)  # 10 per quintile over ridit steps of 0.2
    assert np.isnan(out.loc["b", "sii"]) and "not calculated" in out.loc["b", "note"]


def test_patients_without_a_quintile_are_left_off_the_scale_and_an_outcome_without_any_says_so():
    # An OMOP input without area data: its patients form a group of their own in the IMD dimension.
    away = "not available: no deprivation for the area"
    rows = [
        ("imd_quintile", str(q), "a", "rate", "per 1,000", v, 1.0, 100.0)
        for q, v in zip(range(1, 6), [50.0, 40, 30, 20, 10])
    ]
    rows += [("imd_quintile", away, "a", "rate", "per 1,000", 999.0, 1.0, 100.0)]
    rows += [
        ("imd_quintile", away, "b", "%", "%", 5.0, 1.0, 100.0),
        ("all_patients", "All patients", "b", "%", "%", 5.0, 1.0, 100.0),
    ]
    out = sii_by_outcome(pd.DataFrame(rows, columns=COLS), reps=1000).set_index("outcome")
    assert list(out.index) == ["a", "b"]
    assert out.loc["a", "sii"] == pytest.approx(-50) and out.loc["a", "quantiles"] == 5  # 999 is not on the scale
    assert out.loc["b", "quantiles"] == 0 and np.isnan(out.loc["b", "sii"])
    assert out.loc["b", "note"].startswith("not available: no patient has a deprivation quintile")
    assert out.loc["b", "measure_type"] == "%"


def test_orientation_is_stated_in_words_beside_the_phe_sign():
    # Equal groups sit at ridits 0.1..0.9; the line through (0.1, 50)...(0.9, 10) has slope -50,
    # fitted(0) = 55 (most deprived end) and fitted(1) = 5 (least deprived end).
    rows = [
        ("imd_quintile", str(q), "p", "percentage of index discharges", "%", v, 0.5, 200.0)
        for q, v in zip(range(1, 6), [50.0, 40, 30, 20, 10])
    ]
    out = sii_by_outcome(pd.DataFrame(rows, columns=COLS), reps=2000).iloc[0]
    assert out.sii == pytest.approx(-50) and out.most_deprived_fitted == pytest.approx(55)
    assert out.least_deprived_fitted == pytest.approx(5)
    assert out.most_to_least_deprived_ratio == pytest.approx(11)  # 55 / 5
    assert out.most_to_least_deprived_ratio_lower < 11 < out.most_to_least_deprived_ratio_upper
    assert out.sii_ci_excludes_zero
    # The same gap without a sign convention: most minus least deprived, positive = higher there.
    assert out.most_minus_least_deprived == pytest.approx(50)
    assert (out.most_minus_least_deprived_lower, out.most_minus_least_deprived_upper) == pytest.approx(
        (-out.sii_upper, -out.sii_lower)
    )
    assert out.interpretation.startswith(
        "most deprived vs least deprived: 11.00 times as high in the most deprived as in the least deprived (95% CI "
    )
    assert (
        "; 50.0 percentage points higher in the most deprived than in the least deprived (95% CI " in out.interpretation
    )
    assert out.interpretation.endswith("; a statistically significant difference")
    assert "SII" not in out.interpretation and "PHE convention" not in out.interpretation


def test_a_gap_is_worded_by_direction_not_by_sign():
    from health_equity.stats.inequality import gap_in_words

    assert gap_in_words(122.0, 99.8, 1444.4, "per 1,000 person-years, age-standardised (ESP 2013)") == (
        "122 per 1,000 person-years higher in the most deprived than in the least deprived "
        "(95% CI 99.8 to 1,440 higher)"
    )
    assert gap_in_words(-2.44, -5.79, 0.881, "%") == (
        "2.44 percentage points lower in the most deprived than in the least deprived (95% CI 5.79 lower to "
        "0.881 higher)"
    )


def test_three_significant_figures_never_in_exponent_form():
    from health_equity.stats.inequality import sig3

    cases = {0.881: "0.881", 99.84: "99.8", 144.0: "144", 1234.5: "1,230", 0.0123456: "0.0123", 9.999: "10.0"}
    for value, text in cases.items():
        assert sig3(value) == text and sig3(-value) == text


def test_no_ratio_from_a_fitted_end_at_zero_and_no_ratio_interval_when_the_rii_interval_reaches_zero():
    zero = [("imd_quintile", str(q), "z", "percentage of index discharges", "%", 0.0, 0.0, 10.0) for q in range(1, 6)]
    wide = [
        ("imd_quintile", str(q), "w", "rate per 1,000 person-years", "per 1,000", v, 40.0, 20.0)
        for q, v in zip(range(1, 6), [60.0, 55, 90, 70, 15])
    ]
    out = sii_by_outcome(pd.DataFrame(zero + wide, columns=COLS), reps=2000).set_index("outcome")
    z = out.loc["z"]  # no events anywhere: SII 0, RII 0 / 0
    assert z.sii == 0 and pd.isna(z.rii) and pd.isna(z.most_to_least_deprived_ratio)
    assert z.note.startswith("RII not calculated") and "nan" not in z.interpretation
    w = out.loc["w"]  # few events, large SEs: simulated most-deprived ends reach 0
    assert w.rii_lower <= 0 < w.rii < w.rii_upper
    assert w.most_to_least_deprived_ratio == pytest.approx(1 / w.rii)
    assert pd.isna(w.most_to_least_deprived_ratio_lower) and pd.isna(w.most_to_least_deprived_ratio_upper)
    assert "no interval for the most-to-least deprived ratio" in w.note and "times" not in w.interpretation


def test_an_outcome_with_a_suppressed_or_unpublished_quintile_is_withheld():
    rows = [
        ("imd_quintile", str(q), o, "rate per 1,000 person-years", "per 1,000", 60.0 - 10 * q, 1.0, 100.0)
        for o in ("a", "b", "c")
        for q in range(1, 6)
    ]
    rates = pd.DataFrame(rows, columns=COLS)
    published = rates[["dimension", "group_value", "outcome"]].assign(is_suppressed=False)
    published.loc[(published.outcome == "b") & (published.group_value == "4"), "is_suppressed"] = True
    published = published[~((published.outcome == "c") & (published.group_value == "2"))]  # not published at all
    out = sii_by_outcome(rates, reps=1000, published=published).set_index("outcome")
    assert out.loc["a", "sii"] == pytest.approx(-50) and pd.isna(out.loc["a", "note"])
    for outcome, quintile in (("b", "4"), ("c", "2")):
        assert out.loc[outcome, ["sii", "sii_lower", "rii", "most_to_least_deprived_ratio"]].isna().all()
        note = out.loc[outcome, "note"]
        assert note.startswith(f"withheld under the disclosure policy: deprivation quintile(s) {quintile} ")
    # Without the published flags (the package used on its own), every outcome is estimated.
    assert sii_by_outcome(rates, reps=1000).sii.notna().all()


def _published(rows):
    return pd.DataFrame(rows, columns=["dimension", "group_value", "deprivation_measure"])


def test_the_quintile_measure_is_the_label_of_the_groups_with_a_quintile():
    acs = "ACS 5-year 2016-2020 median household income quintile of the ZIP (as ZCTA)"
    published = _published(
        [
            ("imd_quintile", "1", acs),
            ("imd_quintile", "5", acs),
            ("imd_quintile", "not available: no area code", "not available: no area code"),
            ("sex", "Female", None),
        ]
    )
    assert quintile_measure(published) == acs


def test_without_any_quintile_the_measure_is_the_not_available_groups_reason():
    reason = "not available: no location data"
    assert quintile_measure(_published([("imd_quintile", reason, reason), ("sex", "Male", None)])) == reason
    assert quintile_measure(_published([("sex", "Male", None)])) is None


def test_two_measures_in_one_build_are_an_error_naming_both():
    published = _published([("imd_quintile", "1", "IMD 2019 quintile"), ("imd_quintile", "2", "lookup quintile")])
    with pytest.raises(ValueError, match="more than one measure.*IMD 2019 quintile.*lookup quintile"):
        quintile_measure(published)
