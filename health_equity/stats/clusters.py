"""Utilisation clusters: k-means on baseline utilisation per person-year (dbt doc block kmeans_method).

Features are counts per person-year in the baseline window, ``log1p``-transformed then
standardised. Each k of a range is fitted once, with ``n_init`` >= 10 and a fixed
``random_state`` (sklearn's defaults are one run and no seed), on a seeded sample when n is large;
the k with the best silhouette (on a fixed-size seeded sample) is chosen. Stability is the mean
adjusted Rand index between that fit and fits on bootstrap samples with other seeds. Clusters are
numbered from lowest to highest overall utilisation and labelled from their profiles. The
selection table (``cluster_selection``) records each fit's centroids and labels and what is
needed to assign any patient: the feature means and scales of the standardisation, the clip and
the minimum baseline years. ``patient_clusters`` assigns every patient to the nearest centroid of
the chosen fit with them: k-means is fitted once per k, never again for the assignment.

In the dbt project the fit reads a sample (int_asthma_cluster_sample: the first
``cluster_sample_size`` clusterable patients in the order of a hash of patient_key), so the
Python model's input does not grow with the number of patients; the assignment of every patient
is SQL (asthma_patient_clusters, the same arithmetic as ``patient_clusters``). With no more
clusterable patients than the sample size the sample is everyone and the fit is the full one.

Configuration: the features, the k range, the random state and the minimum baseline years are
the dbt vars ``cluster_features``, ``cluster_k_min``, ``cluster_k_max``, ``cluster_random_state``
and ``cluster_min_baseline_years``, passed in through the selection model's config;
``ClusterConfig`` has no defaults for them.

Determinism: a table has no row order, and k-means, its samples and the silhouette depend on the
order rows arrive in, so patients are sorted by ``patient_key`` before anything is fitted. The
fits run on one OpenMP and one BLAS thread (threadpoolctl): scikit-learn's k-means sums each
thread's share of the rows separately, so the centroids and inertia depended in the last bits on
how many cores the machine has (1 and 2 threads differ), and its threads spin at every
iteration's barrier: while DuckDB ran another model on every core, the 1M-patient selection took
about 50-80 s of wall time instead of about 3 (5,000 sampled patients: 15 KMeans calls of 10 runs
each). Too few patients to fit a k (fewer than k + 1) leave that k unfitted (NaN silhouette);
with none fitted, no k is chosen and every patient is returned unclustered with the reason, instead of a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

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
TOO_FEW = "not clustered: too few clusterable patients to fit any k"


@dataclass(frozen=True)
class ClusterConfig:
    """The project settings (dbt vars cluster_*: no defaults here) and the fitting constants."""

    features: tuple[str, ...]  # column stems in asthma_patients: baseline_<stem> / baseline_person_years
    k_min: int
    k_max: int
    random_state: int
    min_baseline_years: float  # patients observed for less of the baseline window are not clustered
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
        entries; features, k_min, k_max, random_state and min_baseline_years are required."""
        values = {k: v for k, v in (values or {}).items() if v is not None}
        if "min_baseline_years" in values:
            values["min_baseline_years"] = float(values["min_baseline_years"])
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


def feature_matrix(
    patients: pd.DataFrame, features: tuple[str, ...], min_baseline_years: float
) -> tuple[pd.DataFrame, pd.Series]:
    """Baseline rates per person-year for the clustering features, and who is clusterable.

    Patients observed for under ``min_baseline_years`` in the baseline window have no stable
    rates and are not clustered (they keep a row, with no cluster)."""
    need = ["patient_key", "baseline_person_years"] + [f"baseline_{stem}" for stem in features]
    missing = [c for c in need if c not in patients.columns]
    if missing:
        raise KeyError(f"patients table is missing column(s): {', '.join(missing)}")
    py = patients["baseline_person_years"].astype(float)
    ok = py >= min_baseline_years
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
    with threadpool_limits(limits=1):  # one thread: see Determinism above
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


def _standardise(rates: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """log1p, standardise, then clip at +/- Z_CLIP: a rare event (a readmission) in a handful
    of patients would otherwise sit 10+ SD out and pull whole clusters around itself. Returns the
    standardised rows and the means and scales used (None with no rows)."""
    if rates.empty:
        return np.empty((0, rates.shape[1])), None, None
    scaler = StandardScaler().fit(np.log1p(rates.to_numpy(dtype=float)))
    return _apply_scaling(rates, scaler.mean_, scaler.scale_, Z_CLIP), scaler.mean_, scaler.scale_


def _apply_scaling(rates: pd.DataFrame, means, scales, clip: float) -> np.ndarray:
    """The recorded standardisation: (log1p(rate) - mean) / scale, clipped at +/- clip (as
    StandardScaler.transform computes it, and asthma_patient_clusters in SQL)."""
    x = np.log1p(rates.to_numpy(dtype=float))
    x -= np.asarray(means, dtype=float)
    x /= np.asarray(scales, dtype=float)
    return np.clip(x, -clip, clip)


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


def not_clustered_reason(selection_has_a_fit: bool, min_baseline_years: float) -> str:
    """The cluster_label of a patient without a cluster."""
    if not selection_has_a_fit:
        return TOO_FEW
    return f"not clustered: under {min_baseline_years:g} baseline person-years"


def cluster_selection(
    patients: pd.DataFrame, cfg: ClusterConfig, population: tuple[int, int] | None = None
) -> pd.DataFrame:
    """The k-selection table (dbt: int_asthma_cluster_selection), fitted on the clusterable
    patients among ``patients`` (all patients, or a sample of them): one row per k with its
    silhouette, inertia, is_chosen, the chosen k's stability, the patient counts, each fit's
    features, standardised centroids and labels, and the standardisation (feature means and
    scales, clip, minimum baseline years) that patient_clusters and the SQL assignment use.

    ``population`` = (clusterable, not clusterable) patients of the whole register when
    ``patients`` is a sample; by default the counts of ``patients`` themselves."""
    rates, ok = feature_matrix(in_key_order(patients), cfg.features, cfg.min_baseline_years)
    x, means, scales = _standardise(rates[ok])
    with threadpool_limits(limits=1):  # the silhouettes and predictions too
        selection, fits = select_k(x, cfg)
        k = chosen_k(selection)
        selection["stability_ari"] = (
            np.where(selection["is_chosen"], stability(x, k, fits[k], cfg), np.nan) if k is not None else np.nan
        )
    n_clustered, n_not_clustered = population if population is not None else (int(ok.sum()), int((~ok).sum()))
    selection["n_clustered"] = int(n_clustered)
    selection["n_not_clustered"] = int(n_not_clustered)
    numbered = {fk: numbered_centroids(fit, cfg.features) for fk, fit in fits.items()}
    selection["features"] = ",".join(cfg.features)
    selection["centroids"] = [numbered[fk][0].tolist() if fk in numbered else None for fk in selection["k"]]
    selection["cluster_labels"] = [numbered[fk][1] if fk in numbered else None for fk in selection["k"]]
    selection["n_sampled"] = int(ok.sum())
    selection["feature_means"] = [None if means is None else means.tolist()] * len(selection)
    selection["feature_scales"] = [None if scales is None else scales.tolist()] * len(selection)
    selection["z_clip"] = Z_CLIP
    selection["min_baseline_years"] = float(cfg.min_baseline_years)
    selection["not_clustered_reason"] = not_clustered_reason(k is not None, cfg.min_baseline_years)
    return selection


def sampled_selection(sample: pd.DataFrame, population: pd.DataFrame, cfg: ClusterConfig) -> pd.DataFrame:
    """``cluster_selection`` on the sample of int_asthma_cluster_sample, with the register's
    counts from int_asthma_cluster_population (one row: clusterable_patients,
    not_clusterable_patients, cluster_sample_size). Refuses a sample that is not what the counts
    say it should be: min(clusterable patients, sample size) rows, all clusterable."""
    if len(population) != 1:
        raise ValueError(f"the cluster population table should have one row, it has {len(population)}")
    pop = population.iloc[0]
    clusterable, not_clusterable = int(pop["clusterable_patients"]), int(pop["not_clusterable_patients"])
    expected = min(clusterable, int(pop["cluster_sample_size"]))
    _, ok = feature_matrix(sample, cfg.features, cfg.min_baseline_years)
    if len(sample) != expected or not ok.all():
        raise ValueError(
            f"the cluster sample has {len(sample)} rows ({int(ok.sum())} clusterable); expected {expected} "
            f"clusterable patients (min of {clusterable} clusterable and the sample size)"
        )
    return cluster_selection(sample, cfg, population=(clusterable, not_clusterable))


def chosen_centroids(selection: pd.DataFrame) -> pd.DataFrame:
    """The chosen fit in long form (dbt: int_asthma_cluster_centroids), one row per cluster x
    feature: cluster_id, cluster_label, feature, feature_position (1-based), centroid (standardised
    space), feature_mean and feature_scale (of the log1p rates, for the standardisation). No rows
    when no k was chosen."""
    columns = {
        "cluster_id": "int64",
        "cluster_label": "string",
        "feature": "string",
        "feature_position": "int64",
        "centroid": "float64",
        "feature_mean": "float64",
        "feature_scale": "float64",
    }
    chosen = selection[selection["is_chosen"].astype(bool)]
    rows = []
    if not chosen.empty:
        fit = chosen.iloc[0]
        features = fit["features"].split(",")
        means = np.asarray(fit["feature_means"], dtype=float)
        scales = np.asarray(fit["feature_scales"], dtype=float)
        for cid, (centre, label) in enumerate(zip(fit["centroids"], fit["cluster_labels"]), start=1):
            centre = np.asarray(centre, dtype=float)
            for j, feature in enumerate(features):
                rows.append((cid, label, feature, j + 1, centre[j], means[j], scales[j]))
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)


def chosen_k(selection: pd.DataFrame) -> int | None:
    """The k marked is_chosen in a cluster_selection table; None when no k could be fitted."""
    chosen = selection.loc[selection["is_chosen"].astype(bool), "k"]
    return int(chosen.iloc[0]) if len(chosen) else None


def patient_clusters(patients: pd.DataFrame, selection: pd.DataFrame) -> pd.DataFrame:
    """One row per patient, in patient_key order: patient_key, cluster_id (NULL when not
    clusterable), cluster_label, is_clustered. Each clusterable patient gets the nearest centroid
    of the chosen fit recorded in ``selection``, standardised with the recorded means, scales and
    clip (no refit; what asthma_patient_clusters computes in SQL). No chosen k (nothing could be fitted)
    leaves every patient unclustered, with that reason. A selection made on other patients (its
    n_clustered differs) is refused."""
    patients = in_key_order(patients)
    cluster = pd.Series(pd.NA, index=patients.index, dtype="Int64")
    chosen = selection[selection["is_chosen"].astype(bool)]
    not_clustered = str(selection["not_clustered_reason"].iloc[0]) if len(selection) else TOO_FEW
    if chosen.empty:
        ok = pd.Series(False, index=patients.index)
        names: dict[int, str] = {}
    else:
        fit = chosen.iloc[0]
        rates, ok = feature_matrix(patients, tuple(fit["features"].split(",")), float(fit["min_baseline_years"]))
        if int(ok.sum()) != int(fit["n_clustered"]):
            raise ValueError(
                f"the cluster selection was made on {int(fit['n_clustered'])} clusterable patients, "
                f"these have {int(ok.sum())}"
            )
        centroids = np.array([np.asarray(row, dtype=float) for row in fit["centroids"]])
        x = _apply_scaling(rates[ok], fit["feature_means"], fit["feature_scales"], float(fit["z_clip"]))
        cluster[ok] = nearest_centroid(x, centroids)
        names = dict(enumerate(fit["cluster_labels"], start=1))
    return pd.DataFrame(
        {
            "patient_key": patients["patient_key"].to_numpy(),
            "cluster_id": cluster.to_numpy(),
            "cluster_label": cluster.map(names).astype("string").fillna(not_clustered).to_numpy(),
            "is_clustered": ok.to_numpy(),
        }
    )
