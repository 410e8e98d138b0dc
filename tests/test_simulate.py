"""The simulated study keeps its promises: NB counts, modules, driver, meta-features, edges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.simulate import SimulationConfig, negative_binomial, simulate_study


@pytest.fixture(scope="module")
def study():
    return simulate_study(SimulationConfig(seed=3))


def log_cpm(counts: pd.DataFrame) -> pd.DataFrame:
    """log2(CPM + 1), samples x genes (library-size normalisation, as preprocessing does)."""
    return np.log2(counts / counts.sum(axis=0) * 1e6 + 1).T


def holdout_ridge_r2(x: np.ndarray, y: np.ndarray, lam: float = 10.0) -> float:
    """R^2 on the odd samples of a ridge regression fitted on the even ones."""
    train = np.arange(len(y)) % 2 == 0
    mu, sd = x[train].mean(0), x[train].std(0)
    z = (x - mu) / sd
    a = z[train]
    coef = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ (y[train] - y[train].mean()))
    pred = z[~train] @ coef + y[train].mean()
    resid = ((y[~train] - pred) ** 2).sum()
    return float(1 - resid / ((y[~train] - y[~train].mean()) ** 2).sum())


def mean_abs_corr(x: pd.DataFrame) -> float:
    r = np.corrcoef(x.to_numpy().T)
    return float(np.abs(r[np.triu_indices_from(r, k=1)]).mean())


def test_negative_binomial_moments_match_formula():
    rng = np.random.default_rng(0)
    mu, phi = 50.0, 0.2
    draws = negative_binomial(np.full(200_000, mu), phi, rng)
    assert draws.dtype == np.int64
    assert draws.mean() == pytest.approx(mu, rel=0.01)
    assert draws.var() == pytest.approx(mu + phi * mu**2, rel=0.03)     # 550, not Poisson's 50


def test_shapes_ids_and_types(study):
    cfg = SimulationConfig(seed=3)
    assert study.counts.shape == (cfg.n_genes, cfg.n_samples)
    assert (study.counts.to_numpy() >= 0).all()
    assert study.counts.dtypes.eq(np.int64).all()
    assert list(study.labels.columns) == ["sample", "target", "group", "batch"]
    assert list(study.labels["sample"]) == list(study.counts.columns)
    assert list(study.gene_lengths["gene"]) == list(study.counts.index)
    assert study.labels["group"].nunique() < cfg.n_samples / 2          # several samples/patient
    assert study.labels["batch"].nunique() == cfg.n_batches


def test_counts_are_overdispersed(study):
    # within one batch, after scaling to a common depth, variance exceeds the mean for genes
    # (Poisson would give variance == mean)
    batch = study.labels["batch"].to_numpy() == "B1"
    counts = study.counts.loc[:, batch]
    scaled = counts / counts.sum(axis=0) * counts.sum(axis=0).median()
    expressed = scaled.mean(axis=1) > 5
    ratio = scaled[expressed].var(axis=1) / scaled[expressed].mean(axis=1)
    assert (ratio > 1).mean() > 0.99
    assert ratio.median() > 10
    assert study.dispersion.between(0.05, 0.6).all()
    # the dispersion trend: lowly expressed genes are more dispersed
    mean_expr = study.log_expression.mean(axis=0)
    assert np.corrcoef(mean_expr, study.dispersion)[0, 1] < -0.5


def test_library_sizes_and_gene_lengths_are_realistic(study):
    lib = study.counts.sum(axis=0)
    assert lib.min() > 5e5 and lib.max() < 1e8
    assert 4e6 < lib.median() < 1.6e7
    assert lib.std() / lib.mean() > 0.25                                 # they vary
    lengths = study.gene_lengths["length"]
    assert lengths.between(200, 30000).all()
    assert 1500 < lengths.median() < 4000


def test_non_coding_and_mostly_zero_genes(study):
    biotypes = study.gene_annotation.set_index("gene")["biotype"]
    non_coding = biotypes[biotypes != "protein_coding"]
    assert set(non_coding) <= {"lncRNA", "pseudogene"}
    assert sorted(non_coding.index) == study.truth["non_coding_genes"]
    assert 2 <= len(non_coding) <= 0.1 * len(biotypes)
    zero_fraction = (study.counts == 0).mean(axis=1)
    mostly_zero = study.truth["mostly_zero_genes"]
    assert (zero_fraction[mostly_zero] > 0.7).mean() >= 0.9
    others = zero_fraction.drop(mostly_zero)
    assert (others > 0.7).sum() == 0
    driver = study.truth["driver_genes"]
    assert (biotypes[driver] == "protein_coding").all()                 # preprocessing keeps them


def test_module_genes_correlate_more_than_others(study):
    expr = log_cpm(study.counts)
    modules = study.truth["modules"]
    in_module = {g for genes in modules.values() for g in genes}
    background = [g for g in expr.columns
                  if g not in in_module and g not in study.truth["mostly_zero_genes"]]
    rng = np.random.default_rng(0)
    bg = mean_abs_corr(expr[list(rng.choice(background, 25, replace=False))])
    for genes in modules.values():
        assert mean_abs_corr(expr[genes]) > 0.25
    assert bg < 0.12


def test_phenotype_is_predictable_from_driver_module_only(study):
    y = study.labels["target"].to_numpy()
    driver = study.truth["driver_module"]
    modules = study.truth["modules"]
    true_r2 = holdout_ridge_r2(study.log_expression[modules[driver]].to_numpy(), y)
    assert true_r2 > 0.5
    # the same from counts after library-size normalisation + log (what preprocessing does)
    expr = log_cpm(study.counts)
    assert holdout_ridge_r2(expr[modules[driver]].to_numpy(), y) > 0.4
    for name, genes in modules.items():
        if name != driver:
            assert holdout_ridge_r2(study.log_expression[genes].to_numpy(), y) < 0.1


def test_classification_target_is_balanced_and_driven_by_driver():
    s = simulate_study(SimulationConfig(seed=5, task="classification"))
    y = s.labels["target"].to_numpy()
    assert set(np.unique(y)) == {0, 1}
    assert 0.35 < y.mean() < 0.65
    driver = s.truth["modules"][s.truth["driver_module"]]
    # driver expression separates the classes far better than a decoy module
    decoy = next(g for m, g in s.truth["modules"].items() if m != s.truth["driver_module"])
    assert holdout_ridge_r2(s.log_expression[driver].to_numpy(), y.astype(float)) > 0.3
    assert holdout_ridge_r2(s.log_expression[decoy].to_numpy(), y.astype(float)) < 0.1


def test_driver_pathway_is_one_of_many_in_gmt(study):
    truth = study.truth
    pathways = study.pathways
    assert sorted(pathways[truth["driver_pathway"]]) == sorted(truth["driver_genes"])
    assert len(pathways) >= 4 * len(truth["modules"])
    for module, name in truth["module_pathways"].items():
        assert sorted(pathways[name]) == sorted(truth["modules"][module])
    overlap = set(pathways[truth["overlap_decoy_pathway"]]) & set(truth["driver_genes"])
    assert 0 < len(overlap) < len(truth["driver_genes"]) / 2
    sizes = [len(g) for g in pathways.values()]
    assert min(sizes) >= 0.6 * 25 and max(sizes) <= 1.4 * 25
    assert all(name.startswith("PATHWAY_") for name in pathways)         # names give nothing away


def test_meta_features_carry_signal_about_driver_genes(study):
    meta = study.meta_features.set_index("gene")
    is_driver = meta.index.isin(study.truth["driver_genes"]).astype(float)
    corr = {c: np.corrcoef(meta[c], is_driver)[0, 1] for c in meta.columns}
    assert corr["mutation_frequency"] > 0.3
    assert corr["hubness"] > 0.15
    for col in study.truth["noise_meta_features"]:
        assert abs(corr[col]) < 0.15
    assert set(study.truth["informative_meta_features"]) | set(study.truth["noise_meta_features"]) \
        == set(meta.columns)


def test_edges_are_humanbase_like_and_denser_within_modules(study):
    edges = study.edges
    assert list(edges.columns) == ["gene1", "gene2", "weight"]
    assert edges["weight"].between(0, 1, inclusive="right").all()
    assert (edges["weight"] < 0.1).mean() > 0.1                          # the threshold matters
    assert not (edges["gene1"] == edges["gene2"]).any()
    pairs = {frozenset(p) for p in zip(edges["gene1"], edges["gene2"], strict=True)}
    assert len(pairs) == len(edges)                                      # each pair once
    strong = edges[edges["weight"] >= 0.1]
    module_of = {g: m for m, genes in study.truth["modules"].items() for g in genes}
    within = sum(module_of.get(a) is not None and module_of.get(a) == module_of.get(b)
                 for a, b in zip(strong["gene1"], strong["gene2"], strict=True))
    n_modules = len(study.truth["modules"])
    size = len(next(iter(study.truth["modules"].values())))
    within_pairs = n_modules * size * (size - 1) / 2
    p = study.counts.shape[0]
    density_within = within / within_pairs
    density_other = (len(strong) - within) / (p * (p - 1) / 2 - within_pairs)
    assert density_within > 0.4
    assert density_within > 20 * density_other
    missing = set(study.truth["edge_genes_not_in_counts"])
    assert missing and not missing & set(study.counts.index)


def test_same_seed_same_study_different_seed_different():
    a = simulate_study(SimulationConfig(n_samples=40, n_genes=300, seed=11))
    b = simulate_study(SimulationConfig(n_samples=40, n_genes=300, seed=11))
    c = simulate_study(SimulationConfig(n_samples=40, n_genes=300, seed=12))
    pd.testing.assert_frame_equal(a.counts, b.counts)
    pd.testing.assert_frame_equal(a.edges, b.edges)
    assert a.truth == b.truth
    assert not a.counts.equals(c.counts)


@pytest.mark.parametrize(("kwargs", "option"), [
    ({"n_samples": 10}, "--n-samples"),
    ({"n_modules": 1}, "--n-modules"),
    ({"module_size": 2}, "--module-size"),
    ({"n_genes": 100}, "--n-genes"),
    ({"task": "survival"}, "--task"),
    ({"seed": -1}, "--seed"),
    ({"n_batches": 0}, "--n-batches"),
])
def test_bad_sizes_name_the_option(kwargs, option):
    with pytest.raises(UserInputError, match=option):
        simulate_study(SimulationConfig(**kwargs))
