"""Utilisation clusters: k-means on baseline utilisation per person-year (dbt doc block kmeans_method).

Features are counts per person-year in the baseline window, ``log1p``-transformed then
standardised. k is chosen over a range by the silhouette (on a fixed-size seeded sample), the
model is fitted with ``n_init`` >= 10 and a fixed ``random_state`` (sklearn's defaults are one run
and no seed), on a seeded sample when n is large, and every patient is assigned. Stability is the
mean adjusted Rand index between the reference fit and fits on bootstrap samples with other seeds.
Clusters are numbered from lowest to highest overall utilisation and labelled from their profiles.

Determinism: a table has no row order, and k-means, its samples and the silhouette depend on the
order rows arrive in, so patients are sorted by ``patient_key`` before anything is fitted. Too few
patients to fit a k (fewer than k + 1) leave that k unfitted (NaN silhouette); with none fitted,
no k is chosen and every patient is returned unclustered with the reason, instead of a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

# Column stems in asthma_patients (baseline_<stem> / baseline_person_years). The dbt var
# cluster_features overrides the list.
FEATURES = [
    "gp_asthma_visits",
    "asthma_reviews",
    "outpatient_appointments",
    "prescriptions",
    "saba_canisters",
    "ocs_prescriptions",
    "exacerbations",
    "emergency_admissions",
    "readmissions_30d",
]
# Label of a middle cluster by its most distinctive feature.
DISTINCTIVE_LABEL = {
    "saba_canisters": "reliever-reliant",
    "saba_prescriptions": "reliever-reliant",
    "ocs_prescriptions": "exacerbation-prone",
    "exacerbations": "exacerbation-prone",
    "emergency_admissions": "exacerbation-prone",
    "readmissions_30d": "exacerbation-prone",
    "gp_asthma_visits": "primary-care engaged",
    "gp_acute_asthma_visits": "primary-care engaged",
    "asthma_reviews": "primary-care engaged",
    "outpatient_appointments": "specialist-managed",
    "prescriptions": "medication-heavy",
    "ics_prescriptions": "controller-treated",
}
MIN_BASELINE_YEARS = 0.25
TOO_FEW = "not clustered: too few clusterable patients to fit any k"


@dataclass(frozen=True)
class ClusterConfig:
    features: tuple[str, ...] = tuple(FEATURES)
    k_min: int = 2
    k_max: int = 6
    n_init: int = 10
    random_state: int = 42
    silhouette_sample: int = 10_000
    fit_sample: int = 100_000
    stability_bootstraps: int = 10
    stability_sample: int = 20_000

    def __post_init__(self):
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError(f"need 2 <= k_min <= k_max, got {self.k_min}..{self.k_max}")
        if self.n_init < 10:
            raise ValueError(f"n_init must be at least 10, got {self.n_init}")

    @classmethod
    def from_mapping(cls, values: dict | None) -> ClusterConfig:
        """Build from dbt config values, ignoring unset (None) entries."""
        values = {k: v for k, v in (values or {}).items() if v is not None}
        if "features" in values:
            feats = values["features"]
            # dbt renders YAML config values as text: accept "a,b,c" as well as a list.
            values["features"] = tuple(f.strip() for f in (feats.split(",") if isinstance(feats, str) else feats))
        for key in (
            "k_min",
            "k_max",
            "n_init",
            "random_state",
            "silhouette_sample",
            "fit_sample",
            "stability_bootstraps",
            "stability_sample",
        ):
            if key in values:
                values[key] = int(values[key])
        return cls(**values)


def feature_matrix(patients: pd.DataFrame, features=tuple(FEATURES)) -> tuple[pd.DataFrame, pd.Series]:
    """Baseline rates per person-year for the clustering features, and who is clusterable.

    Patients observed for under ``MIN_BASELINE_YEARS`` in the baseline window have no stable
    rates and are not clustered (they keep a row, with no cluster)."""
    need = ["patient_key", "baseline_person_years"] + [f"baseline_{stem}" for stem in features]
    missing = [c for c in need if c not in patients.columns]
    if missing:
        raise KeyError(f"patients table is missing column(s): {', '.join(missing)}")
    py = patients["baseline_person_years"].astype(float)
    ok = py >= MIN_BASELINE_YEARS
    rates = pd.DataFrame(
        {stem: patients[f"baseline_{stem}"].astype(float) / py.where(ok) for stem in features},
        index=patients.index,
    )
    return rates, ok


def in_key_order(patients: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by patient_key (then every column, should keys repeat), index reset: the one
    order every fit sees, whatever order the database returned the rows in."""
    if "patient_key" not in patients.columns:
        raise KeyError("patients table is missing column(s): patient_key")
    cols = ["patient_key", *[c for c in patients.columns if c != "patient_key"]]
    return patients.sort_values(cols, kind="mergesort").reset_index(drop=True)


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


@dataclass
class ClusterResult:
    k: int
    labels: np.ndarray  # 1..k, for the clusterable rows, in input order
    centroids: pd.DataFrame  # original scale (rates per person-year), index cluster_id
    names: dict[int, str] = field(default_factory=dict)


def _fit(x: np.ndarray, k: int, cfg: ClusterConfig, seed: int) -> KMeans:
    return KMeans(n_clusters=k, n_init=cfg.n_init, random_state=seed).fit(x)


def select_k(x: np.ndarray, cfg: ClusterConfig) -> pd.DataFrame:
    """Silhouette (seeded sample) and inertia for each k; the chosen k has the best silhouette."""
    fit_idx = _sample(len(x), cfg.fit_sample, cfg.random_state)
    sil_idx = _sample(len(x), cfg.silhouette_sample, cfg.random_state + 1)
    rows = []
    for k in range(cfg.k_min, cfg.k_max + 1):
        if len(fit_idx) <= k:  # k-means needs k rows, the silhouette one more
            rows.append({"k": k, "silhouette": np.nan, "inertia": np.nan})
            continue
        km = _fit(x[fit_idx], k, cfg, cfg.random_state)
        labels = km.predict(x[sil_idx])
        n_labels = len(np.unique(labels))
        sil = silhouette_score(x[sil_idx], labels) if 2 <= n_labels < len(sil_idx) else np.nan
        rows.append({"k": k, "silhouette": float(sil), "inertia": float(km.inertia_)})
    out = pd.DataFrame(rows)
    out["is_chosen"] = out["silhouette"].notna() & (out["silhouette"] == out["silhouette"].max())
    # Ties (identical silhouettes) resolve to the smallest k.
    out.loc[out.index[out["is_chosen"]][1:], "is_chosen"] = False
    return out


def stability(x: np.ndarray, k: int, reference: KMeans, cfg: ClusterConfig) -> float:
    """Mean ARI between the reference fit and fits on bootstrap samples with other seeds,
    compared on one fixed evaluation sample."""
    eval_idx = _sample(len(x), cfg.stability_sample, cfg.random_state + 2)
    ref_labels = reference.predict(x[eval_idx])
    rng = np.random.default_rng(cfg.random_state + 3)
    scores = []
    for b in range(cfg.stability_bootstraps):
        boot = rng.choice(len(x), size=min(len(x), cfg.stability_sample), replace=True)
        km = _fit(x[boot], k, cfg, cfg.random_state + 100 + b)
        scores.append(adjusted_rand_score(ref_labels, km.predict(x[eval_idx])))
    return float(np.mean(scores))


def name_clusters(centroids_z: pd.DataFrame) -> dict[int, str]:
    """Human labels from standardised centroids: lowest and highest overall utilisation, and the
    most distinctive feature for the clusters between."""
    overall = centroids_z.mean(axis=1)
    names: dict[int, str] = {}
    lo, hi = overall.idxmin(), overall.idxmax()
    for cid, row in centroids_z.iterrows():
        if cid == lo:
            names[cid] = "low utilisation"
        elif cid == hi:
            names[cid] = "high utilisation"
        else:
            top = (row - overall[cid]).idxmax()
            names[cid] = DISTINCTIVE_LABEL.get(top, f"high {top.replace('_', ' ')}")
    seen: dict[str, int] = {}
    for cid in sorted(names):
        seen[names[cid]] = seen.get(names[cid], 0) + 1
        if seen[names[cid]] > 1:
            names[cid] = f"{names[cid]} ({seen[names[cid]]})"
    return names


Z_CLIP = 3.0


def _standardise(rates: pd.DataFrame) -> tuple[np.ndarray, StandardScaler]:
    """log1p, standardise, then clip at +/- Z_CLIP: a rare event (a readmission) in a handful
    of patients would otherwise sit 10+ SD out and pull whole clusters around itself."""
    scaler = StandardScaler()
    if rates.empty:
        return np.empty((0, rates.shape[1])), scaler
    return np.clip(scaler.fit_transform(np.log1p(rates.to_numpy(dtype=float))), -Z_CLIP, Z_CLIP), scaler


def choose_k(rates: pd.DataFrame, cfg: ClusterConfig = ClusterConfig()) -> pd.DataFrame:
    """One row per k tried: silhouette, inertia, is_chosen, and the chosen k's stability."""
    x, _ = _standardise(rates)
    selection = select_k(x, cfg)
    if not selection["is_chosen"].any():
        selection["stability_ari"] = np.nan
        return selection
    chosen = int(selection.loc[selection["is_chosen"], "k"].iloc[0])
    km = _fit(x[_sample(len(x), cfg.fit_sample, cfg.random_state)], chosen, cfg, cfg.random_state)
    selection["stability_ari"] = np.where(selection["is_chosen"], stability(x, chosen, km, cfg), np.nan)
    return selection


def fit_clusters(rates: pd.DataFrame, k: int, cfg: ClusterConfig = ClusterConfig()) -> ClusterResult:
    """Fit k clusters (on a seeded sample when large), number, label and assign every row."""
    x, scaler = _standardise(rates)
    km = _fit(x[_sample(len(x), cfg.fit_sample, cfg.random_state)], k, cfg, cfg.random_state)
    # Stable numbering: 1 = lowest mean standardised centroid.
    order = np.argsort(km.cluster_centers_.mean(axis=1), kind="stable")
    remap = np.empty(k, dtype=int)
    remap[order] = np.arange(1, k + 1)
    labels = remap[km.predict(x)]
    index = range(1, k + 1)
    centroids_z = pd.DataFrame(km.cluster_centers_[order], columns=rates.columns, index=index)
    centroids = pd.DataFrame(
        np.expm1(scaler.inverse_transform(km.cluster_centers_[order])), columns=rates.columns, index=index
    )
    return ClusterResult(k, labels, centroids, name_clusters(centroids_z))


def cluster_selection(patients: pd.DataFrame, cfg: ClusterConfig = ClusterConfig()) -> pd.DataFrame:
    """The k-selection table for the clusterable patients (dbt: int_asthma_cluster_selection)."""
    rates, ok = feature_matrix(in_key_order(patients), cfg.features)
    sel = choose_k(rates[ok], cfg)
    sel["n_clustered"] = int(ok.sum())
    sel["n_not_clustered"] = int((~ok).sum())
    return sel


def chosen_k(selection: pd.DataFrame) -> int | None:
    """The k marked is_chosen in a cluster_selection table; None when no k could be fitted."""
    chosen = selection.loc[selection["is_chosen"].astype(bool), "k"]
    return int(chosen.iloc[0]) if len(chosen) else None


def patient_clusters(patients: pd.DataFrame, k: int | None, cfg: ClusterConfig = ClusterConfig()) -> pd.DataFrame:
    """One row per patient, in patient_key order: patient_key, cluster_id (NULL when not
    clusterable), cluster_label, is_clustered. ``k`` None (nothing could be fitted) or more
    clusters than clusterable patients leaves every patient unclustered, with that reason."""
    patients = in_key_order(patients)
    rates, ok = feature_matrix(patients, cfg.features)
    cluster = pd.Series(pd.NA, index=patients.index, dtype="Int64")
    not_clustered = f"not clustered: under {MIN_BASELINE_YEARS:g} baseline person-years"
    if k is None or int(ok.sum()) < k:
        ok = pd.Series(False, index=patients.index)
        not_clustered = TOO_FEW
        names: dict[int, str] = {}
    else:
        result = fit_clusters(rates[ok], k, cfg)
        cluster[ok] = result.labels
        names = result.names
    return pd.DataFrame(
        {
            "patient_key": patients["patient_key"].to_numpy(),
            "cluster_id": cluster.to_numpy(),
            "cluster_label": cluster.map(names).astype("string").fillna(not_clustered).to_numpy(),
            "is_clustered": ok.to_numpy(),
        }
    )
