"""A synthetic RNA-seq study whose ground truth is known (pure: no files, no click).

The generative model, in the order :func:`simulate_study` runs it:

1. **Genes.** ``n_genes`` genes with log-normal lengths (median 2.5 kb, clipped to
   200-30,000 bp); a few are ``lncRNA``/``pseudogene`` (the rest ``protein_coding``); a few are
   *mostly zero* (expected count < 0.3 reads, so they are zero in most samples and the usual
   "zero in > 70 % of samples" filter removes them).
2. **Modules.** ``n_modules`` disjoint sets of ``module_size`` protein-coding genes. Each module
   has a latent factor per sample, ``z_mj = sqrt(rho) u_m,patient(j) + sqrt(1 - rho) v_mj``
   (samples of one patient share part of it); a module gene's biological log-expression is
   ``eta_gj = base_g + module_sd * b_g * z_m(g),j + gene_sd * e_gj`` with loadings
   ``|b_g|`` in [0.6, 1] (20 % negative). Genes outside modules vary independently.
3. **Phenotype.** One module is the *driver*: ``score_j = sum_g beta_g x_gj`` over the driver
   genes, ``x`` the per-gene standardised ``eta``; ``y = sqrt(h2) std(score) + sqrt(1 - h2) eps``
   (regression), or ``1[y > 0]`` (classification). The phenotype is thus a function of
   log-expression, which library-size normalisation + log recovers from the counts.
4. **Counts.** Batches shift every gene's log-expression (``N(0, batch_sd)`` per gene and
   batch) and scale library sizes; library sizes are log-normal (median ``library_size``);
   the expected count is ``mu_gj = L_j * len_g exp(eta_gj + batch) / sum_g len_g exp(...)``;
   counts are negative binomial (gamma-Poisson) with dispersion ``phi_g`` from ~0.1 (highly
   expressed genes) to ~0.4 (lowly expressed; clipped to 0.08-0.5), ``Var = mu + phi mu^2``.
5. **Gene-gene edges** (HumanBase-style posterior weights in (0, 1]): within-module pairs are
   linked with probability 0.6 (weights mostly ~Beta(6, 2)), plus ``3 * n_genes`` noise edges
   between random genes (weights ~Beta(1, 6), about half below the usual 0.1 threshold) and a
   few edges to genes that are not in the count table (as in real networks).
6. **Meta-features** per gene (for DAPr): ``mutation_frequency`` (higher for driver genes),
   ``cnv_frequency`` (weakly higher), ``hubness`` (higher for driver genes, somewhat for module
   genes) and pure-noise columns ``noise_1 ...``.
7. **Pathways** (GMT): every module is a pathway, plus one decoy that shares ~30 % of the
   driver genes, plus random decoys of similar size; names are neutral (``PATHWAY_017``) and
   in random order, so nothing but the data says which one is the driver.

Everything is drawn from one :class:`numpy.random.Generator` seeded with ``seed``: the same
seed gives the same study.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError

TASKS = ("regression", "classification")
META_SIGNAL_COLUMNS = ("mutation_frequency", "cnv_frequency", "hubness")


@dataclass(frozen=True)
class SimulationConfig:
    """Sizes and effect sizes of a simulated study (defaults: the demo's study).

    Attributes
    ----------
    n_samples, n_genes, n_modules, module_size
        Study size. The defaults (240 x 800, 8 modules of 25 genes) keep the whole demo
        (preprocess, graph, ~5 methods x 3 seeds, attribution, enrichment) at a few minutes
        on 2 CPU cores.
    task
        ``"regression"`` (continuous target) or ``"classification"`` (0/1 target).
    seed
        Seed of the single random generator (>= 0).
    n_batches
        Sequencing batches (with a batch effect on expression and library size).
    samples_per_patient
        Mean number of samples per patient (group), at least 1.
    library_size
        Median library size in reads; per-sample sizes are log-normal around it.
    library_size_sigma
        Standard deviation of log library size.
    module_sd, gene_sd, nonmodule_sd
        Standard deviations (natural-log scale) of the module factor's effect, of the
        gene-specific noise of module genes and of the variation of genes outside modules.
    batch_sd
        Standard deviation of the per-gene, per-batch log-expression shift.
    patient_correlation
        Share ``rho`` of a module factor's variance common to the samples of one patient.
    heritability
        Share ``h2`` of the phenotype's variance explained by the driver module.
    noise_edges_per_gene
        Noise edges per gene in the edge file.
    n_decoy_pathways
        Random decoy pathways in the GMT (default ``4 * n_modules``).
    n_noise_meta_features
        Pure-noise meta-feature columns.
    """

    n_samples: int = 240
    n_genes: int = 800
    n_modules: int = 8
    module_size: int = 25
    task: str = "regression"
    seed: int = 0
    n_batches: int = 3
    samples_per_patient: float = 3.0
    library_size: float = 8e6
    library_size_sigma: float = 0.45
    module_sd: float = 0.8
    gene_sd: float = 0.35
    nonmodule_sd: float = 0.45
    batch_sd: float = 0.25
    patient_correlation: float = 0.5
    heritability: float = 0.75
    noise_edges_per_gene: float = 3.0
    n_decoy_pathways: int | None = None
    n_noise_meta_features: int = 2

    @property
    def n_non_coding(self) -> int:
        """Genes annotated ``lncRNA``/``pseudogene`` (4 % of genes, at least 2)."""
        return max(2, round(0.04 * self.n_genes))

    @property
    def n_mostly_zero(self) -> int:
        """Genes with an expected count below 0.3 reads (5 % of genes, at least 3)."""
        return max(3, round(0.05 * self.n_genes))

    @property
    def n_random_pathways(self) -> int:
        return 4 * self.n_modules if self.n_decoy_pathways is None else self.n_decoy_pathways


@dataclass
class SimulatedStudy:
    """Everything :func:`simulate_study` draws (the files of ``aprior simulate`` and more).

    Attributes
    ----------
    counts
        Raw read counts, genes x samples (index ``gene``), int64.
    gene_lengths
        Columns ``gene, length`` (bp).
    gene_annotation
        Columns ``gene, biotype``.
    edges
        Columns ``gene1, gene2, weight`` (each undirected pair once, weight in (0, 1]).
    labels
        Columns ``sample, target, group, batch``.
    meta_features
        Columns ``gene`` then the meta-feature columns.
    pathways
        Pathway name -> genes, in GMT order.
    truth
        JSON-ready description of the ground truth and all parameters.
    log_expression
        True biological log-expression ``eta`` (natural log, before batch effect and counting
        noise), samples x genes; not written to disk, for tests and diagnostics.
    library_sizes
        Library size drawn per sample (reads), before counting noise.
    dispersion
        Negative-binomial dispersion ``phi_g`` per gene.
    """

    counts: pd.DataFrame
    gene_lengths: pd.DataFrame
    gene_annotation: pd.DataFrame
    edges: pd.DataFrame
    labels: pd.DataFrame
    meta_features: pd.DataFrame
    pathways: dict[str, list[str]]
    truth: dict
    log_expression: pd.DataFrame
    library_sizes: pd.Series
    dispersion: pd.Series = field(repr=False)


def validate_config(config: SimulationConfig) -> None:
    """Raise :class:`UserInputError` (naming the option) if ``config`` cannot be simulated."""
    if config.task not in TASKS:
        raise UserInputError(f"--task: must be one of {', '.join(TASKS)} (got {config.task!r})")
    if config.seed < 0:
        raise UserInputError(f"--seed: must be >= 0 (got {config.seed})")
    if config.n_samples < 20:
        raise UserInputError(f"--n-samples: need at least 20 samples (got {config.n_samples})")
    if config.n_modules < 2:
        raise UserInputError(
            f"--n-modules: need at least 2 modules, the driver and a decoy (got {config.n_modules})")
    if config.module_size < 3:
        raise UserInputError(f"--module-size: need at least 3 genes per module "
                             f"(got {config.module_size})")
    if config.n_batches < 1 or config.n_batches * 2 > config.n_samples:
        raise UserInputError(f"--n-batches: need 1 <= batches <= n_samples / 2 "
                             f"(got {config.n_batches})")
    if config.samples_per_patient < 1:
        raise UserInputError("samples_per_patient: must be >= 1")
    if not 0 < config.heritability <= 1:
        raise UserInputError("heritability: must be in (0, 1]")
    need = (config.n_modules * config.module_size + config.n_non_coding + config.n_mostly_zero
            + config.module_size)
    if config.n_genes < need:
        raise UserInputError(
            f"--n-genes: {config.n_genes} genes cannot hold {config.n_modules} modules x "
            f"{config.module_size} genes plus non-coding, mostly-zero and background genes; "
            f"use --n-genes >= {need} or fewer/smaller modules")


def negative_binomial(mean: np.ndarray, dispersion: np.ndarray | float,
                      rng: np.random.Generator) -> np.ndarray:
    """Negative-binomial counts as a gamma-Poisson mixture.

    Parameters
    ----------
    mean
        Expected counts ``mu`` (any shape), >= 0.
    dispersion
        ``phi`` (broadcast against ``mean``), > 0; ``Var = mu + phi * mu**2``.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        int64 counts, shape of ``mean``.
    """
    mean = np.asarray(mean, dtype=float)
    phi = np.broadcast_to(np.asarray(dispersion, dtype=float), mean.shape)
    rate = rng.gamma(shape=1.0 / phi, scale=mean * phi)
    return rng.poisson(rate).astype(np.int64)


def simulate_study(config: SimulationConfig | None = None) -> SimulatedStudy:
    """Draw a synthetic study (see the module docstring for the model).

    Parameters
    ----------
    config
        Sizes, effect sizes and seed; ``None`` means the defaults.

    Returns
    -------
    SimulatedStudy
        Tables, pathways and the ground truth.
    """
    cfg = config or SimulationConfig()
    validate_config(cfg)
    rng = np.random.default_rng(cfg.seed)
    n, p = cfg.n_samples, cfg.n_genes

    width = max(4, len(str(p)))
    genes = np.array([f"GENE{i + 1:0{width}d}" for i in range(p)])

    # --- gene roles: modules, non-coding, mostly-zero, background (disjoint) -----------------
    order = rng.permutation(p)
    n_mod_genes = cfg.n_modules * cfg.module_size
    module_idx = order[:n_mod_genes].reshape(cfg.n_modules, cfg.module_size)
    non_coding_idx = order[n_mod_genes:n_mod_genes + cfg.n_non_coding]
    zero_idx = order[n_mod_genes + cfg.n_non_coding:
                     n_mod_genes + cfg.n_non_coding + cfg.n_mostly_zero]
    module_idx = np.sort(module_idx, axis=1)
    module_names = [f"MODULE_{m + 1:02d}" for m in range(cfg.n_modules)]
    driver = int(rng.integers(cfg.n_modules))
    module_of = np.full(p, -1)
    for m in range(cfg.n_modules):
        module_of[module_idx[m]] = m
    is_driver = module_of == driver

    biotype = np.array(["protein_coding"] * p, dtype=object)
    biotype[non_coding_idx] = rng.choice(["lncRNA", "pseudogene"], size=len(non_coding_idx),
                                         p=[0.6, 0.4])
    lengths = np.clip(np.round(np.exp(rng.normal(math.log(2500), 0.7, size=p))), 200, 30000)
    lengths = lengths.astype(np.int64)

    # --- samples: patients (groups) and batches ----------------------------------------------
    patient_sizes: list[int] = []
    while sum(patient_sizes) < n:
        patient_sizes.append(1 + int(rng.poisson(cfg.samples_per_patient - 1)))
    patient_sizes[-1] -= sum(patient_sizes) - n
    patient_of = np.repeat(np.arange(len(patient_sizes)), patient_sizes)
    patient_of = patient_of[rng.permutation(n)]
    batch_of = rng.permutation(np.arange(n) % cfg.n_batches)
    n_patients = len(patient_sizes)
    pwidth = max(3, len(str(n_patients)))
    swidth = max(3, len(str(n)))
    samples = np.array([f"S{j + 1:0{swidth}d}" for j in range(n)])
    groups = np.array([f"P{k + 1:0{pwidth}d}" for k in patient_of])
    batches = np.array([f"B{b + 1}" for b in batch_of])

    # --- biological log-expression eta (natural log), samples x genes -----------------------
    rho = cfg.patient_correlation
    patient_factor = rng.normal(size=(n_patients, cfg.n_modules))
    factors = (math.sqrt(rho) * patient_factor[patient_of]
               + math.sqrt(1 - rho) * rng.normal(size=(n, cfg.n_modules)))        # (n, M)
    base = rng.normal(0.0, 1.6, size=p)
    loadings = rng.uniform(0.6, 1.0, size=p) * np.where(rng.random(p) < 0.2, -1.0, 1.0)
    in_module = module_of >= 0
    noise_sd = np.where(in_module, cfg.gene_sd, cfg.nonmodule_sd)
    eta = base + rng.normal(size=(n, p)) * noise_sd
    eta[:, in_module] += cfg.module_sd * loadings[in_module] * factors[:, module_of[in_module]]

    # --- phenotype from the driver module's log-expression ----------------------------------
    driver_genes_idx = module_idx[driver]
    x_driver = eta[:, driver_genes_idx]
    x_driver = (x_driver - x_driver.mean(0)) / x_driver.std(0)
    beta = np.sign(loadings[driver_genes_idx]) * rng.uniform(0.5, 1.5, size=cfg.module_size)
    score = x_driver @ beta
    score = (score - score.mean()) / score.std()
    y = (math.sqrt(cfg.heritability) * score
         + math.sqrt(1 - cfg.heritability) * rng.normal(size=n))
    target: np.ndarray = (y > 0).astype(np.int64) if cfg.task == "classification" else np.round(y, 6)

    # --- technical layer: batch effect, library sizes, NB counts ----------------------------
    batch_shift = rng.normal(0.0, cfg.batch_sd, size=(cfg.n_batches, p))
    batch_depth = np.exp(np.concatenate([[0.0], rng.normal(0.0, 0.25, size=cfg.n_batches - 1)]))
    lib = (cfg.library_size * batch_depth[batch_of]
           * np.exp(rng.normal(0.0, cfg.library_size_sigma, size=n)))
    log_rel = eta + batch_shift[batch_of] + np.log(lengths)
    log_rel[:, zero_idx] = -np.inf                     # added below with a fixed tiny mean
    rel = np.exp(log_rel - log_rel.max(axis=1, keepdims=True))
    rel /= rel.sum(axis=1, keepdims=True)
    mean = lib[:, None] * rel
    zero_mean = rng.uniform(0.03, 0.25, size=len(zero_idx))   # reads at the median depth
    mean[:, zero_idx] = (zero_mean[None, :] * (lib / cfg.library_size)[:, None]
                         * np.exp(rng.normal(0.0, 0.3, size=(n, len(zero_idx)))))
    abundance_rank = pd.Series(base).rank(pct=True).to_numpy()
    dispersion = np.clip((0.1 + 0.3 * (1.0 - abundance_rank)) * np.exp(rng.normal(0.0, 0.15, size=p)),
                         0.08, 0.5)
    dispersion[zero_idx] = 0.4
    counts = negative_binomial(mean, dispersion[None, :], rng)                    # (n, p)

    # --- HumanBase-style edges -----------------------------------------------------------------
    edges = _draw_edges(rng, cfg, genes, module_idx)

    # --- meta-features -----------------------------------------------------------------------
    mutation = np.where(is_driver, rng.beta(3.0, 25.0, size=p),
                        np.where(in_module, rng.beta(1.2, 50.0, size=p), rng.beta(1.0, 60.0, size=p)))
    cnv = np.where(is_driver, rng.beta(2.5, 18.0, size=p), rng.beta(2.0, 22.0, size=p))
    hub = rng.normal(size=p) + 1.2 * is_driver + 0.4 * in_module
    meta = {"mutation_frequency": np.round(mutation, 6), "cnv_frequency": np.round(cnv, 6),
            "hubness": np.round((hub - hub.mean()) / hub.std(), 6)}
    noise_cols = [f"noise_{k + 1}" for k in range(cfg.n_noise_meta_features)]
    for col in noise_cols:
        meta[col] = np.round(rng.normal(size=p), 6)

    # --- pathways ------------------------------------------------------------------------------
    pathways, module_pathway, overlap_decoy = _draw_pathways(rng, cfg, genes, module_idx,
                                                             biotype, zero_idx, driver)

    driver_genes = [str(g) for g in genes[driver_genes_idx]]
    truth = {
        "description": "aprior simulated study: ground truth (see aprior_cli/simulate.py)",
        "seed": cfg.seed,
        "task": cfg.task,
        "n_samples": n,
        "n_genes": p,
        "driver_module": module_names[driver],
        "driver_pathway": module_pathway[driver],
        "driver_genes": driver_genes,
        "driver_gene_weights": {g: round(float(b), 6) for g, b in zip(driver_genes, beta, strict=True)},
        "modules": {module_names[m]: [str(g) for g in genes[module_idx[m]]]
                    for m in range(cfg.n_modules)},
        "module_pathways": {module_names[m]: module_pathway[m] for m in range(cfg.n_modules)},
        "overlap_decoy_pathway": overlap_decoy,
        "informative_meta_features": list(META_SIGNAL_COLUMNS),
        "noise_meta_features": noise_cols,
        "non_coding_genes": [str(g) for g in genes[np.sort(non_coding_idx)]],
        "mostly_zero_genes": [str(g) for g in genes[np.sort(zero_idx)]],
        "edge_genes_not_in_counts": sorted(set(edges["gene1"]).union(edges["gene2"])
                                           - set(genes.tolist())),
        "n_patients": n_patients,
        "phenotype": ("target = sqrt(h2) * standardised(sum_g w_g x_g) + sqrt(1 - h2) * N(0,1) "
                      "over the driver genes, x_g the standardised true log-expression"
                      + ("; classification: target = 1[that > 0]"
                         if cfg.task == "classification" else "")),
        "parameters": dataclasses.asdict(cfg),
    }

    counts_df = pd.DataFrame(counts.T, index=pd.Index(genes, name="gene"), columns=samples)
    return SimulatedStudy(
        counts=counts_df,
        gene_lengths=pd.DataFrame({"gene": genes, "length": lengths}),
        gene_annotation=pd.DataFrame({"gene": genes, "biotype": biotype.astype(str)}),
        edges=edges,
        labels=pd.DataFrame({"sample": samples, "target": target, "group": groups,
                             "batch": batches}),
        meta_features=pd.DataFrame({"gene": genes, **meta}),
        pathways=pathways,
        truth=truth,
        log_expression=pd.DataFrame(eta, index=pd.Index(samples, name="sample"), columns=genes),
        library_sizes=pd.Series(lib, index=samples, name="library_size"),
        dispersion=pd.Series(dispersion, index=genes, name="dispersion"),
    )


def _draw_edges(rng: np.random.Generator, cfg: SimulationConfig, genes: np.ndarray,
                module_idx: np.ndarray) -> pd.DataFrame:
    """Within-module edges (dense, strong), noise edges (sparse, weak), a few external genes."""
    p = len(genes)
    weights: dict[tuple[int, int], float] = {}
    for members in module_idx:
        i, j = np.triu_indices(len(members), k=1)
        keep = rng.random(len(i)) < 0.6
        strong = rng.random(len(i)) < 0.9
        w = np.where(strong, rng.beta(6.0, 2.0, size=len(i)), rng.beta(1.0, 8.0, size=len(i)))
        for a, b, wt in zip(members[i[keep]], members[j[keep]], w[keep], strict=True):
            weights[(min(a, b), max(a, b))] = float(wt)
    n_noise = round(cfg.noise_edges_per_gene * p)
    a = rng.integers(p, size=n_noise)
    b = rng.integers(p, size=n_noise)
    w = rng.beta(1.0, 6.0, size=n_noise)
    for u, v, wt in zip(a, b, w, strict=True):
        if u != v:
            weights.setdefault((min(u, v), max(u, v)), float(wt))
    pairs = sorted(weights)
    names = genes.tolist()
    rows = [(names[u], names[v], weights[(u, v)]) for u, v in pairs]
    # a few genes of the network that the expression study did not measure
    n_ext = max(2, round(0.02 * p))
    width = max(4, len(str(n_ext)))
    for k in range(n_ext):
        for v in rng.choice(p, size=3, replace=False):
            rows.append((names[v], f"EXTGENE{k + 1:0{width}d}", float(rng.beta(2.0, 4.0))))
    df = pd.DataFrame(rows, columns=["gene1", "gene2", "weight"])
    df["weight"] = np.clip(np.round(df["weight"].to_numpy(), 6), 1e-6, 1.0)
    return df


def _draw_pathways(rng: np.random.Generator, cfg: SimulationConfig, genes: np.ndarray,
                   module_idx: np.ndarray, biotype: np.ndarray, zero_idx: np.ndarray,
                   driver: int) -> tuple[dict[str, list[str]], list[str], str]:
    """Modules, one driver-overlapping decoy and random decoys, under shuffled neutral names."""
    eligible = np.setdiff1d(np.flatnonzero(biotype == "protein_coding"), zero_idx)
    sets: list[np.ndarray] = [m for m in module_idx]
    # a decoy sharing ~30 % of the driver genes (the rest random): enrichment must prefer the
    # driver pathway over a partial overlap
    n_shared = max(1, round(0.3 * cfg.module_size))
    shared = rng.choice(module_idx[driver], size=n_shared, replace=False)
    others = rng.choice(np.setdiff1d(eligible, module_idx[driver]),
                        size=cfg.module_size - n_shared, replace=False)
    sets.append(np.concatenate([shared, others]))
    for _ in range(cfg.n_random_pathways):
        size = int(np.clip(round(cfg.module_size * rng.uniform(0.7, 1.3)), 3, len(eligible)))
        sets.append(rng.choice(eligible, size=size, replace=False))
    width = max(3, len(str(len(sets))))
    names = [f"PATHWAY_{k + 1:0{width}d}" for k in range(len(sets))]
    name_of = rng.permutation(len(sets))        # set s gets names[name_of[s]]
    pathways = {names[name_of[s]]: [str(genes[g]) for g in np.sort(sets[s])]
                for s in range(len(sets))}
    pathways = dict(sorted(pathways.items()))
    module_pathway = [names[name_of[m]] for m in range(cfg.n_modules)]
    return pathways, module_pathway, names[name_of[cfg.n_modules]]
