"""k-means clusters: same rows in any order give the same tables; too few rows never crash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from health_equity import clusters as C

CFG = C.ClusterConfig(silhouette_sample=300, fit_sample=400, stability_bootstraps=3, stability_sample=300)


def utilisation(n: int, seed: int = 0) -> pd.DataFrame:
    """Three planted utilisation groups, as asthma_patients columns."""
    rng = np.random.default_rng(seed)
    group = rng.choice(3, n, p=[0.6, 0.3, 0.1])
    frame = {"patient_key": [f"{h:016x}" for h in rng.integers(0, 2**63, n)], "baseline_person_years": np.full(n, 2.0)}
    for j, stem in enumerate(C.FEATURES):
        frame[f"baseline_{stem}"] = rng.poisson(np.array([0.5, 3.0, 9.0])[group] * (1 + 0.1 * j))
    frame["baseline_person_years"][:5] = 0.1  # not clusterable
    return pd.DataFrame(frame)


def test_row_order_does_not_change_selection_or_clusters():
    patients = utilisation(700)
    shuffled = patients.sample(frac=1, random_state=3).reset_index(drop=True)
    sel_a, sel_b = C.cluster_selection(patients, CFG), C.cluster_selection(shuffled, CFG)
    # Bit for bit: silhouette, inertia and stability included.
    pd.testing.assert_frame_equal(sel_a, sel_b, check_exact=True)
    k = C.chosen_k(sel_a)
    assert k is not None and sel_a["silhouette"].notna().all()
    a, b = C.patient_clusters(patients, k, CFG), C.patient_clusters(shuffled, k, CFG)
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
    out = C.patient_clusters(patients, k, CFG)
    assert len(out) == n
    if k is None:
        assert out["cluster_id"].isna().all() and not out["is_clustered"].any()
        assert (out["cluster_label"] == C.TOO_FEW).all()


def test_a_k_larger_than_the_clusterable_patients_leaves_them_unclustered():
    out = C.patient_clusters(utilisation(10).head(3).assign(baseline_person_years=2.0), 4, CFG)
    assert out["cluster_id"].isna().all() and (out["cluster_label"] == C.TOO_FEW).all()
