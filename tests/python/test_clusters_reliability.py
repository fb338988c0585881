"""k-means clusters: same rows in any order give the same tables; too few rows never crash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from health_equity import clusters as C

# The project's features, k range and random state are dbt vars; these tests choose their own.
FEATURES = ("gp_asthma_visits", "saba_canisters", "ocs_prescriptions", "exacerbations", "emergency_admissions")
CFG = C.ClusterConfig(
    features=FEATURES,
    k_min=2,
    k_max=6,
    random_state=42,
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
    rates, ok = C.feature_matrix(C.in_key_order(patients), FEATURES)
    x = C._standardise(rates[ok])
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
    cfg = C.ClusterConfig.from_mapping({"features": "a, b", "k_min": "2", "k_max": "3", "random_state": "7"})
    assert (cfg.features, cfg.k_min, cfg.k_max, cfg.random_state) == (("a", "b"), 2, 3, 7)
