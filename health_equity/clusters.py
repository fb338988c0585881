"""Utilisation clusters: k-means on baseline utilisation per person-year (dbt doc block kmeans_method).

Features are counts per person-year in the baseline window, ``log1p``-transformed then
standardised. Each k of a range is fitted once, with ``n_init`` >= 10 and a fixed
``random_state`` (sklearn's defaults are one run and no seed), on a seeded sample when n is large;
the k with the best silhouette (on a fixed-size seeded sample) is chosen. Stability is the mean
adjusted Rand index between that fit and fits on bootstrap samples with other seeds. Clusters are
numbered from lowest to highest overall utilisation and labelled from their profiles. The
selection table (``cluster_selection``) records each fit's centroids and labels, and
``patient_clusters`` assigns every patient to the nearest centroid of the chosen fit: k-means is
fitted once per k, never again for the assignment.

Configuration: the features, the k range and the random state are the dbt vars
``cluster_features``, ``cluster_k_min``, ``cluster_k_max`` and ``cluster_random_state``, passed in
through the selection model's config; ``ClusterConfig`` has no defaults for them.

Determinism: a table has no row order, and k-means, its samples and the silhouette depend on the
order rows arrive in, so patients are sorted by ``patient_key`` before anything is fitted. Too few
patients to fit a k (fewer than k + 1) leave that k unfitted (NaN silhouette); with none fitted,
no k is chosen and every patient is returned unclustered with the reason, instead of a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

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
    """The project settings (dbt vars cluster_*: no defaults here) and the fitting constants."""

    features: tuple[str, ...]  # column stems in asthma_patients: baseline_<stem> / baseline_person_years
    k_min: int
    k_max: int
    random_state: int
    n_init: int = 10
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
        """Build from dbt config values (the model's ``clustering`` config), ignoring unset (None)
        entries; features, k_min, k_max and random_state are required."""
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


def feature_matrix(patients: pd.DataFrame, features: tuple[str, ...]) -> tuple[pd.DataFrame, pd.Series]:
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


def _fit(x: np.ndarray, k: int, cfg: ClusterConfig, seed: int) -> KMeans:
    return KMeans(n_clusters=k, n_init=cfg.n_init, random_state=seed).fit(x)


def select_k(x: np.ndarray, cfg: ClusterConfig) -> tuple[pd.DataFrame, dict[int, KMeans]]:
    """Fit each k once (seeded sample when large): silhouette (seeded sample) and inertia per k,
    and the fits; the chosen k has the best silhouette."""
    fit_idx = _sample(len(x), cfg.fit_sample, cfg.random_state)
    sil_idx = _sample(len(x), cfg.silhouette_sample, cfg.random_state + 1)
    rows, fits = [], {}
    for k in range(cfg.k_min, cfg.k_max + 1):
        if len(fit_idx) <= k:  # k-means needs k rows, the silhouette one more
            rows.append({"k": k, "silhouette": np.nan, "inertia": np.nan})
            continue
        km = fits[k] = _fit(x[fit_idx], k, cfg, cfg.random_state)
        labels = km.predict(x[sil_idx])
        n_labels = len(np.unique(labels))
        sil = silhouette_score(x[sil_idx], labels) if 2 <= n_labels < len(sil_idx) else np.nan
        rows.append({"k": k, "silhouette": float(sil), "inertia": float(km.inertia_)})
    out = pd.DataFrame(rows)
    out["is_chosen"] = out["silhouette"].notna() & (out["silhouette"] == out["silhouette"].max())
    # Ties (identical silhouettes) resolve to the smallest k.
    out.loc[out.index[out["is_chosen"]][1:], "is_chosen"] = False
    return out, fits


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


def _standardise(rates: pd.DataFrame) -> np.ndarray:
    """log1p, standardise, then clip at +/- Z_CLIP: a rare event (a readmission) in a handful
    of patients would otherwise sit 10+ SD out and pull whole clusters around itself."""
    if rates.empty:
        return np.empty((0, rates.shape[1]))
    return np.clip(StandardScaler().fit_transform(np.log1p(rates.to_numpy(dtype=float))), -Z_CLIP, Z_CLIP)


def numbered_centroids(fit: KMeans, features: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """A fit's standardised centroids numbered 1..k from the lowest to the highest mean (row i is
    cluster i + 1), and their labels."""
    order = np.argsort(fit.cluster_centers_.mean(axis=1), kind="stable")
    centroids = fit.cluster_centers_[order]
    names = name_clusters(pd.DataFrame(centroids, columns=list(features), index=range(1, len(order) + 1)))
    return centroids, [names[c] for c in range(1, len(order) + 1)]


def nearest_centroid(x: np.ndarray, centroids: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """Cluster number (1..k) of the nearest centroid (squared Euclidean; the first on a tie), as
    k-means assigns."""
    labels = np.empty(len(x), dtype=int)
    for start in range(0, len(x), chunk):
        block = x[start : start + chunk]
        distances = ((block[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        labels[start : start + chunk] = distances.argmin(axis=1) + 1
    return labels


def cluster_selection(patients: pd.DataFrame, cfg: ClusterConfig) -> pd.DataFrame:
    """The k-selection table for the clusterable patients (dbt: int_asthma_cluster_selection):
    one row per k with its silhouette, inertia, is_chosen, the chosen k's stability, the patient
    counts, and each fit's features, standardised centroids and labels (what patient_clusters
    assigns with)."""
    rates, ok = feature_matrix(in_key_order(patients), cfg.features)
    x = _standardise(rates[ok])
    selection, fits = select_k(x, cfg)
    k = chosen_k(selection)
    selection["stability_ari"] = (
        np.where(selection["is_chosen"], stability(x, k, fits[k], cfg), np.nan) if k is not None else np.nan
    )
    selection["n_clustered"] = int(ok.sum())
    selection["n_not_clustered"] = int((~ok).sum())
    numbered = {fk: numbered_centroids(fit, cfg.features) for fk, fit in fits.items()}
    selection["features"] = ",".join(cfg.features)
    selection["centroids"] = [numbered[fk][0].tolist() if fk in numbered else None for fk in selection["k"]]
    selection["cluster_labels"] = [numbered[fk][1] if fk in numbered else None for fk in selection["k"]]
    return selection


def chosen_k(selection: pd.DataFrame) -> int | None:
    """The k marked is_chosen in a cluster_selection table; None when no k could be fitted."""
    chosen = selection.loc[selection["is_chosen"].astype(bool), "k"]
    return int(chosen.iloc[0]) if len(chosen) else None


def patient_clusters(patients: pd.DataFrame, selection: pd.DataFrame) -> pd.DataFrame:
    """One row per patient, in patient_key order: patient_key, cluster_id (NULL when not
    clusterable), cluster_label, is_clustered. Each clusterable patient gets the nearest centroid
    of the chosen fit recorded in ``selection`` (no refit). No chosen k (nothing could be fitted)
    leaves every patient unclustered, with that reason. A selection made on other patients (its
    n_clustered differs) is refused."""
    patients = in_key_order(patients)
    cluster = pd.Series(pd.NA, index=patients.index, dtype="Int64")
    chosen = selection[selection["is_chosen"].astype(bool)]
    if chosen.empty:
        ok = pd.Series(False, index=patients.index)
        not_clustered = TOO_FEW
        names: dict[int, str] = {}
    else:
        fit = chosen.iloc[0]
        rates, ok = feature_matrix(patients, tuple(fit["features"].split(",")))
        if int(ok.sum()) != int(fit["n_clustered"]):
            raise ValueError(
                f"the cluster selection was made on {int(fit['n_clustered'])} clusterable patients, "
                f"these have {int(ok.sum())}"
            )
        centroids = np.array([np.asarray(row, dtype=float) for row in fit["centroids"]])
        x = _standardise(rates[ok])
        cluster[ok] = nearest_centroid(x, centroids)
        names = dict(enumerate(fit["cluster_labels"], start=1))
        not_clustered = f"not clustered: under {MIN_BASELINE_YEARS:g} baseline person-years"
    return pd.DataFrame(
        {
            "patient_key": patients["patient_key"].to_numpy(),
            "cluster_id": cluster.to_numpy(),
            "cluster_label": cluster.map(names).astype("string").fillna(not_clustered).to_numpy(),
            "is_clustered": ok.to_numpy(),
        }
    )
