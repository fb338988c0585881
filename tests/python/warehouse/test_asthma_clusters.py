"""Patient clusters on generator data with known truth, through the real dbt build: the planted
phenotypes recovered, the profiles and the package's own fit reproduced, a sample giving the
full fit's clusters, and a rerun giving identical tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import NO_TESTS, REPO, Build, dbt, warehouse_copy
from sklearn.metrics import adjusted_rand_score
from warehouse.test_asthma_models import node_config, planted_phenotypes, rate_config

from health_equity.stats import clusters as C
from health_equity.stats import rates as R


def test_chosen_k_is_the_planted_number_and_clusters_recover_the_phenotypes(clean_build):
    sel = clean_build.df("select * from intermediate.int_asthma_cluster_selection")
    assert int(sel.loc[sel.is_chosen, "k"].iloc[0]) == clean_build.truth["asthma"]["n_phenotypes"] == 3
    assert sel.loc[sel.is_chosen, "stability_ari"].iloc[0] >= 0.8
    clusters = clean_build.df("select * from marts.asthma_patient_clusters where is_clustered")
    m = clusters.merge(planted_phenotypes(clean_build), on="patient_key")
    assert len(m) == len(clusters)
    assert adjusted_rand_score(m.phenotype, m.cluster_id) >= 0.7
    # Labels read off the profiles match the planted phenotypes they mostly hold.
    majority = m.groupby("cluster_label").phenotype.agg(lambda s: s.value_counts().index[0])
    assert majority["low utilisation"] == "controlled"
    assert majority["high utilisation"] == "high utiliser"
    assert majority["reliever-reliant"] == "reliever-reliant"


def test_profiles_match_an_independent_aggregation(clean_build):
    prof = clean_build.df("select * from marts.asthma_cluster_profiles").set_index("cluster_id").sort_index()
    p = clean_build.df("select * from marts.asthma_patients")
    c = clean_build.df("select * from marts.asthma_patient_clusters where is_clustered")
    j = c.merge(p, on="patient_key")
    # Published under the disclosure policy: counts rounded to the nearest 5, the share and the
    # rate calculated from the rounded counts (the means are exact).
    sizes = c.groupby("cluster_id").size().sort_index()
    assert (prof.patients == (sizes / 5).round() * 5).all()
    assert prof.share_of_clustered.tolist() == pytest.approx((prof.patients / (round(len(c) / 5) * 5)).tolist())
    saba = (j.baseline_saba_canisters / j.baseline_person_years).groupby(j.cluster_id).mean()
    np.testing.assert_allclose(prof.mean_baseline_saba_canisters_per_year, saba.sort_index(), rtol=1e-12)
    rate = j.groupby("cluster_id").apply(
        lambda g: round(g.followup_emergency_admissions.sum() / 5) * 5 / g.followup_person_years.sum() * 1000
    )
    np.testing.assert_allclose(prof.followup_emergency_admissions_per_1000, rate.sort_index(), rtol=1e-12)
    # Numbered from lowest to highest utilisation.
    assert list(prof.cluster_label) == ["low utilisation", "reliever-reliant", "high utilisation"]


LIST_COLUMNS = ["centroids", "cluster_labels", "feature_means", "feature_scales"]


def assert_same_selection(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Two cluster selection tables are equal, list columns (as the warehouse returns them) included."""
    pd.testing.assert_frame_equal(
        ours.drop(columns=LIST_COLUMNS), theirs.drop(columns=LIST_COLUMNS), check_dtype=False, check_exact=True
    )
    for column in LIST_COLUMNS:
        for a, b in zip(ours[column], theirs[column]):
            assert (a is None) == (b is None or b is pd.NA)
            if a is not None:
                np.testing.assert_array_equal(np.array(a), np.array([np.asarray(r) for r in b]))


def test_dbt_models_return_exactly_what_the_package_returns(clean_build):
    patients = clean_build.df("select * from marts.asthma_patients")
    # The cluster settings as the build passed them (dbt vars, through the model's config).
    cfg = C.ClusterConfig.from_mapping(node_config(clean_build, "int_asthma_cluster_selection", "clustering"))
    db_sel = clean_build.df("select * from intermediate.int_asthma_cluster_selection")
    # The default data (10,000 patients) has more clusterable patients than the sample size: the
    # fit reads the sample, and the selection is the package's fit on it, bit for bit.
    sample = clean_build.df("select * from intermediate.int_asthma_cluster_sample")
    population = clean_build.df("select * from intermediate.int_asthma_cluster_population")
    size = int(population.cluster_sample_size.iloc[0])
    assert (db_sel.n_sampled == size).all() and (db_sel.n_clustered > size).all() and len(sample) == size
    assert_same_selection(C.sampled_selection(sample, population, cfg), db_sel)
    centroids = clean_build.df("select * from intermediate.int_asthma_cluster_centroids")
    pd.testing.assert_frame_equal(
        C.chosen_centroids(db_sel),
        centroids.sort_values(["cluster_id", "feature_position"]).reset_index(drop=True),
        check_dtype=False,
        check_exact=True,
    )
    # The SQL assignment is the package's: same cluster for every patient, same labels.
    clusters = C.patient_clusters(patients, db_sel)
    db_clusters = clean_build.df("select * from marts.asthma_patient_clusters order by patient_key")
    pd.testing.assert_frame_equal(clusters, db_clusters, check_dtype=False, check_exact=True)
    # The rate model cells are the package's reduction of the patients (the power sums exactly;
    # the sums of per-patient rounded logs and inverses to the last decimal, as two engines' log
    # functions may differ in the last bit), and the mart their fit.
    rows = clean_build.df("select * from intermediate.int_asthma_rate_model_rows")
    keyed = rows.sort_values(R.CELL_KEYS).reset_index(drop=True)
    nodes = sum(c.startswith(R.POWER_SUM) for c in rows.columns) // 2 + 1
    assert nodes == yaml.safe_load((REPO / "dbt_project.yml").read_text())["vars"]["rate_model_quadrature_nodes"]
    cells = R.model_cells(patients, db_clusters, nodes, float(rows.days_per_year.iloc[0]))
    sums = [R.SUM_LOG, R.SUM_INVERSE]
    pd.testing.assert_frame_equal(
        cells.drop(columns=sums), keyed.drop(columns=sums), check_dtype=False, check_exact=True
    )
    for c in sums:
        np.testing.assert_allclose(cells[c].astype(float), keyed[c].astype(float), rtol=0, atol=1e-15 * len(patients))
    # Every patient with follow-up person-time is in a cell; those without a cluster have none.
    followed = patients.merge(db_clusters, on="patient_key")
    followed = followed[followed.followup_person_years > 0]
    assert rows.weight.sum() == len(followed) and len(rows) < len(patients) / 3
    assert rows.weight[rows.cluster_id.isna()].sum() == (~followed.is_clustered).sum() > 0
    assert rows.cluster_label.notna().all()
    db_rr = clean_build.df("select * from intermediate.int_asthma_admission_rate_ratios")
    pd.testing.assert_frame_equal(R.fit_rate_ratios(rows, rate_config(clean_build)), db_rr, check_dtype=False)
    # Fitted by exact patient-level maximum likelihood instead (one weighted row per distinct
    # patient, no quadrature): the same, to the optimisers' tolerances.
    pd.testing.assert_frame_equal(
        R.rate_ratios(patients, db_clusters, rate_config(clean_build)), db_rr, check_dtype=False, rtol=1e-8
    )


@pytest.fixture(scope="module")
def sampled_build(small_extracts, tmp_path_factory):
    """`dbt build` on 4,000 patients (about 3,700 clusterable) with k-means fitted on 3,000: the
    models of what the sample changes (the cluster population, everything downstream of it and
    what those read: `@`), then their data and unit tests (the tests upstream see the same tables
    as in every other build; the hospital half and the asthma models beside the clusters, which
    the sample does not reach, are built by the session warehouses)."""
    tmp = tmp_path_factory.mktemp("sampled")
    vars_ = {"raw_dir": str(small_extracts), "cluster_sample_size": 3000}
    db = tmp / "warehouse.duckdb"
    models = dbt(["build", "--select", "@int_asthma_cluster_population", *NO_TESTS], db, tmp, vars_)
    assert models.returncode == 0, models.stdout[-5000:]
    tests = dbt(["test", "--select", "int_asthma_cluster_population+"], db, tmp, vars_)
    assert tests.returncode == 0, tests.stdout[-5000:]
    assert "PASS=" in tests.stdout and " ERROR=0 " in tests.stdout
    return Build(small_extracts, db, models)


def test_a_sample_smaller_than_the_register_gives_the_clusters_of_the_full_fit(sampled_build):
    """k-means on a 3,000-patient sample of about 3,700 clusterable patients, every patient then
    assigned in SQL: the clusters agree with the fit on all clusterable patients (adjusted Rand
    index at least 0.7, the bar the planted-phenotype test sets), with the same k and labels, and
    every patient still has a cluster or the reason why not."""
    patients = sampled_build.df("select * from marts.asthma_patients")
    sel = sampled_build.df("select * from intermediate.int_asthma_cluster_selection")
    assert (sel.n_sampled == 3000).all() and (sel.n_clustered > 3000).all()
    assert sampled_build.query("select count(*) from intermediate.int_asthma_cluster_sample") == [(3000,)]
    clusters = sampled_build.df("select * from marts.asthma_patient_clusters order by patient_key")
    # Every patient: a cluster, or (under the minimum baseline years) the reason as the label.
    assert len(clusters) == len(patients) and clusters.cluster_label.notna().all()
    short = patients.set_index("patient_key").baseline_person_years[clusters.patient_key] < 0.25
    assert (clusters.is_clustered.to_numpy() == ~short.to_numpy()).all() and short.any()
    assert (clusters.cluster_label[~clusters.is_clustered] == "not clustered: under 0.25 baseline person-years").all()
    assert clusters.is_clustered.sum() == sel.n_clustered.iloc[0]
    # The SQL assignment with the sample's recorded standardisation is the package's.
    pd.testing.assert_frame_equal(C.patient_clusters(patients, sel), clusters, check_dtype=False, check_exact=True)
    # Against the fit on every clusterable patient.
    cfg = C.ClusterConfig.from_mapping(node_config(sampled_build, "int_asthma_cluster_selection", "clustering"))
    full_sel = C.cluster_selection(patients, cfg)
    full = C.patient_clusters(patients, full_sel)
    assert C.chosen_k(full_sel) == C.chosen_k(sel)
    both = clusters.is_clustered
    ari = adjusted_rand_score(full.cluster_id[both].astype(int), clusters.cluster_id[both].astype(int))
    assert ari >= 0.7, ari
    chosen = sel[sel.is_chosen].iloc[0]
    assert list(chosen.cluster_labels) == list(full_sel[full_sel.is_chosen].iloc[0].cluster_labels)


def test_rerunning_the_models_on_the_same_inputs_gives_identical_tables(clean_build, tmp_path):
    # Tables have no row order: compare each sorted by its primary key.
    marts = {
        "intermediate.int_asthma_cluster_selection": ["k"],
        "intermediate.int_asthma_cluster_centroids": ["cluster_id", "feature"],
        "intermediate.int_asthma_rate_model_rows": R.CELL_KEYS,
        "marts.asthma_patient_clusters": ["patient_key"],
        "intermediate.int_asthma_admission_rate_ratios": ["model_name", "model_family", "term", "level"],
        "marts.asthma_admission_rate_ratios": ["model_name", "model_family", "term", "level"],
        "marts.asthma_model_diagnostics": ["model_id"],
    }

    # The shared warehouse stays as built: the models rerun on a copy.
    rerun = Build(clean_build.raw_dir, warehouse_copy(clean_build, tmp_path / "rerun"), clean_build.result)

    def snapshot(table, key):
        return rerun.df(f"select * from {table}").sort_values(key).reset_index(drop=True)

    before = {m: snapshot(m, key) for m, key in marts.items()}
    r = dbt(
        ["run", "--select", "int_asthma_cluster_selection+", "--exclude", "resource_type:unit_test"],
        rerun.db,
        tmp_path,
        {"raw_dir": str(clean_build.raw_dir)},
    )
    assert r.returncode == 0, r.stdout[-3000:]
    for m, key in marts.items():
        pd.testing.assert_frame_equal(before[m], snapshot(m, key))
