"""k-means clusters: same rows in any order give the same tables; too few rows never crash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from health_equity.stats import clusters as C

# The project's features, k range and random state are dbt vars; these tests choose their own.
FEATURES = ("gp_asthma_visits", "saba_canisters", "ocs_prescriptions", "exacerbations", "emergency_admissions")
CFG = C.ClusterConfig(
    features=FEATURES,
    k_min=2,
    k_max=6,
    random_state=42,
    min_baseline_years=0.25,
    silhouette_sample=300,
    fit_sample=400,
    stability_bootstraps=3,
    stability_sample=300,
)


def utilisation(n: int, seed: int = 0) -> pd.DataFrame:
    """Three planted utilisation groups, as asthma_patients columns."""
    rng = np.random.default_rng(seed)
    group = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    frame = {"patient_key": [f"{h:016x}" for h in rng.integers(0, 2**63, n)], "baseline_person_years": np.full(n, 2.0)}
    for j, stem in enumerate(FEATURES):
        frame[f"baseline_{stem}"] = rng.poisson(np.array([0.5, 3.0, 9.0])[group] * (1 + 0.1 * j))
    frame["baseline_person_years"][:5] = 0.1  # not clusterable
    return pd.DataFrame(frame)


def test_row_order_does_not_change_selection_or_clusters():
    patients = utilisation(700)
    shuffled = patients.sample(frac=1, random_state=3).reset_index(drop=True)
    sel_a, sel_b = C.cluster_selection(patients, CFG), C.cluster_selection(shuffled, CFG)
    # Bit for bit: silhouette, inertia and stability included.
    pd.testing.assert_frame_equal(sel_a, sel_b, check_exact=True)
    assert C.chosen_k(sel_a) is not None and sel_a["silhouette"].notna().all()
    a, b = C.patient_clusters(patients, sel_a), C.patient_clusters(shuffled, sel_b)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert list(a["patient_key"]) == sorted(patients["patient_key"])
    assert (~a["is_clustered"]).sum() == 5


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_too_few_patients_to_fit_leave_everyone_unclustered_instead_of_crashing(n):
    patients = utilisation(10).head(n).assign(baseline_person_years=2.0)
    sel = C.cluster_selection(patients, CFG)
    assert list(sel["k"]) == list(range(CFG.k_min, CFG.k_max + 1))
    # k-means needs k rows and the silhouette one more: only k < n can be fitted.
    assert sel.loc[sel["k"] >= n, "silhouette"].isna().all()
    k = C.chosen_k(sel)
    assert (k is None) == (n <= CFG.k_min)
    out = C.patient_clusters(patients, sel)
    assert len(out) == n
    if k is None:
        assert out["cluster_id"].isna().all() and not out["is_clustered"].any()
        assert (out["cluster_label"] == C.TOO_FEW).all()


def test_the_assignment_is_the_chosen_fit_and_needs_no_refit():
    patients = utilisation(700)
    sel = C.cluster_selection(patients, CFG)
    k = C.chosen_k(sel)
    chosen = sel[sel["is_chosen"]].iloc[0]
    assert chosen["features"] == ",".join(FEATURES)
    assert len(chosen["centroids"]) == k and len(chosen["cluster_labels"]) == k
    # Every fitted k records its centroids; the assignment is sklearn's own for the chosen fit.
    assert sel["centroids"].notna().all()
    rates, ok = C.feature_matrix(C.in_key_order(patients), FEATURES, CFG.min_baseline_years)
    x = C._standardise(rates[ok])[0]
    fit = C._fit(x[C._sample(len(x), CFG.fit_sample, CFG.random_state)], k, CFG, CFG.random_state)
    centroids, labels = C.numbered_centroids(fit, FEATURES)
    np.testing.assert_array_equal(np.array(chosen["centroids"]), centroids)
    order = np.argsort(fit.cluster_centers_.mean(axis=1), kind="stable")
    renumber = np.empty(k, dtype=int)
    renumber[order] = np.arange(1, k + 1)
    out = C.patient_clusters(patients, sel)
    np.testing.assert_array_equal(out.loc[out["is_clustered"], "cluster_id"].to_numpy(), renumber[fit.predict(x)])
    assert set(out.loc[out["is_clustered"], "cluster_label"]) <= set(labels)


def test_a_selection_made_on_other_patients_is_refused():
    sel = C.cluster_selection(utilisation(700), CFG)
    with pytest.raises(ValueError, match="cluster selection was made on"):
        C.patient_clusters(utilisation(300, seed=1), sel)


def test_the_project_settings_have_no_defaults_in_the_package():
    with pytest.raises(TypeError):
        C.ClusterConfig()
    with pytest.raises(TypeError, match="min_baseline_years"):
        C.ClusterConfig.from_mapping({"features": "a, b", "k_min": "2", "k_max": "3", "random_state": "7"})
    cfg = C.ClusterConfig.from_mapping(
        {"features": "a, b", "k_min": "2", "k_max": "3", "random_state": "7", "min_baseline_years": "0.5"}
    )
    assert (cfg.features, cfg.k_min, cfg.k_max, cfg.random_state, cfg.min_baseline_years) == (("a", "b"), 2, 3, 7, 0.5)


def sample_tables(patients: pd.DataFrame, size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What int_asthma_cluster_sample and int_asthma_cluster_population hold, built in pandas
    (the order here is by key; the project's SQL orders by a hash of the key)."""
    ok = patients["baseline_person_years"] >= CFG.min_baseline_years
    sample = patients[ok].sort_values("patient_key").head(size)
    population = pd.DataFrame(
        {
            "clusterable_patients": [int(ok.sum())],
            "not_clusterable_patients": [int((~ok).sum())],
            "cluster_sample_size": [size],
        }
    )
    return sample, population


def test_a_sample_holding_everyone_gives_the_full_fit_bit_for_bit():
    patients = utilisation(700)
    full = C.cluster_selection(patients, CFG)
    sample, population = sample_tables(patients, 10_000)
    pd.testing.assert_frame_equal(C.sampled_selection(sample, population, CFG), full, check_exact=True)
    assert full["n_sampled"].iloc[0] == full["n_clustered"].iloc[0] == 695


def test_a_fit_on_a_sample_assigns_everyone_with_the_recorded_standardisation():
    patients = utilisation(2000)
    sample, population = sample_tables(patients, 600)
    sel = C.sampled_selection(sample, population, CFG)
    assert (
        (sel["n_sampled"] == 600).all() and (sel["n_clustered"] == 1995).all() and (sel["n_not_clustered"] == 5).all()
    )
    chosen = sel[sel["is_chosen"]].iloc[0]
    # The recorded standardisation is the sample's, not the register's.
    rates, ok = C.feature_matrix(C.in_key_order(sample), FEATURES, CFG.min_baseline_years)
    np.testing.assert_array_equal(chosen["feature_means"], np.log1p(rates.to_numpy()).mean(axis=0))
    assert chosen["z_clip"] == C.Z_CLIP and chosen["min_baseline_years"] == 0.25
    out = C.patient_clusters(patients, sel)
    assert len(out) == 2000 and out["is_clustered"].sum() == 1995
    assert (out.loc[~out["is_clustered"], "cluster_label"] == "not clustered: under 0.25 baseline person-years").all()
    # Against the full fit: the same planted groups.
    full = C.patient_clusters(patients, C.cluster_selection(patients, CFG))
    both = out["is_clustered"]
    assert adjusted_rand_score(full.loc[both, "cluster_id"], out.loc[both, "cluster_id"]) >= 0.9


def test_a_sample_that_does_not_match_the_counts_is_refused():
    patients = utilisation(700)
    sample, population = sample_tables(patients, 300)
    with pytest.raises(ValueError, match="the cluster sample has 299 rows"):
        C.sampled_selection(sample.head(299), population, CFG)
    unclusterable = patients[patients["baseline_person_years"] < 1].head(1)
    with pytest.raises(ValueError, match="299 clusterable"):
        C.sampled_selection(pd.concat([sample.head(299), unclusterable]), population, CFG)


def test_chosen_centroids_in_long_form_are_the_recorded_fit():
    sel = C.cluster_selection(utilisation(700), CFG)
    k = C.chosen_k(sel)
    chosen = sel[sel["is_chosen"]].iloc[0]
    long = C.chosen_centroids(sel)
    assert len(long) == k * len(FEATURES)
    wide = long.pivot(index="cluster_id", columns="feature_position", values="centroid")
    np.testing.assert_array_equal(wide.to_numpy(), np.array(chosen["centroids"]))
    assert list(long.groupby("cluster_id").cluster_label.first()) == list(chosen["cluster_labels"])
    first = long[long.cluster_id == 1]
    assert list(first.feature) == list(FEATURES)
    np.testing.assert_array_equal(first.feature_scale, chosen["feature_scales"])
    # No chosen k: no rows, typed columns.
    none = C.chosen_centroids(C.cluster_selection(utilisation(10).head(2).assign(baseline_person_years=2.0), CFG))
    assert none.empty and str(none.cluster_label.dtype) == "string" and none.centroid.dtype == float


def test_the_fits_run_on_one_thread_and_give_the_same_bits_whatever_the_callers_thread_pools(monkeypatch):
    """scikit-learn's k-means sums each OpenMP thread's share in the order the threads finish, so
    the selection caps its fits at one thread: the caller's pools (two threads, one) change
    nothing, and no fit ever sees more than one OpenMP or BLAS thread."""
    from threadpoolctl import threadpool_info, threadpool_limits

    seen: list[int] = []
    fit = C.KMeans.fit

    def watched_fit(self, *args, **kwargs):
        seen.extend(pool["num_threads"] for pool in threadpool_info())
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(C.KMeans, "fit", watched_fit)
    # Enough rows for several of k-means' 256-row chunks, so two threads would split the sums.
    cfg = C.ClusterConfig(**{**CFG.__dict__, "fit_sample": 3000, "silhouette_sample": 500})
    patients = utilisation(3000, seed=5)
    with threadpool_limits(limits=2):
        two = C.cluster_selection(patients, cfg)
    with threadpool_limits(limits=1):
        one = C.cluster_selection(patients, cfg)
    assert seen and set(seen) == {1}
    pd.testing.assert_frame_equal(two, one, check_exact=True)
