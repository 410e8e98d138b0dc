"""Graph attribution prior on gene expression (Erion et al. 2021, Figure 2, on the data we have).

Data (shared folder): the Broad GSEA example sets ``gsea/expr/P53.txt`` (NCI-60, 10,100 genes x
50 lines, TP53 MUT = 1 / WT = 0) and ``gsea/expr/Leukemia_hgu95av2.trim.txt`` (48 samples,
probes averaged per gene symbol; AML = 1 / ALL = 0); the HumanNet graph ``humannet/HM90.txt``
(Entrez pairs) mapped to symbols with the BioMart table ``gsea/mapping/...genes.txt``
(:func:`aprior_cli.graph.map_edges`); Hallmark and KEGG gene sets (``gsea/gmt``).

Preprocessing: values clipped at 1, ``log2``, the ``n_genes`` most variable of the genes that
have a HumanNet edge to another measured gene, z-scores fitted on the training split. Per seed, a stratified split (50 % train, 25 % validation, 25 %
test) and one MLP per method:

* ``baseline`` -- no prior;
* ``graph_eg`` -- graph prior ``phibar^T L phibar`` (``L = D - W`` of HumanNet) on expected
  gradients;
* ``graph_gradients`` -- the same prior on input gradients;
* ``random_graph_eg`` -- the prior on EG with a random graph with the same number of edges.

Training follows ``aprior train``'s protocol (Adam lr 1e-4, weight decay 1e-2, a 5-epoch plain
warm-up, early stopping with patience 30 after it, at most 500 epochs). Lambda is ``auto``
(``lambda * Omega`` equals the task loss on the model after the warm-up; a tuned grid is not
meaningful with 12 validation samples). Reported: test ROC AUC, the scale-free test graph
roughness ``phibar^T L phibar / phibar^T phibar`` (test rows, EG, always on the real graph;
:func:`aprior_cli.priors.graph_roughness`), the kept epoch and the number of prior steps;
paired Wilcoxon tests of ``graph_eg`` against every other method per dataset; and, per method,
the number of Hallmark / KEGG sets over-represented (FDR < 0.05,
:func:`aprior_cli.enrichment.ora.over_representation`) among the top 200 genes by mean |EG|.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from aprior_cli.errors import UserInputError
from aprior_cli.reproduce.common import (
    ExperimentResult,
    MLPSpec,
    ReplicateStore,
    map_replicates,
    paired_wilcoxon,
    predict,
    train_mlp,
)

log = logging.getLogger("aprior.reproduce")

FILES = {
    "P53": ("gsea/expr/P53.txt", "gsea/expr/P53.cls", "MUT"),
    "Leukemia": ("gsea/expr/Leukemia_hgu95av2.trim.txt", "gsea/expr/Leukemia.cls", "AML"),
}
EDGES = "humannet/HM90.txt"
MAPPING = "gsea/mapping/hsapiens_gene_ensembl.background.genes.txt"
GMTS = {"hallmark": "gsea/gmt/h.all.v7.0.symbols.gmt", "kegg": "gsea/gmt/c2.cp.kegg.v7.5.1.symbols.gmt"}
REQUIRED = (*[f for v in FILES.values() for f in v[:2]], EDGES, MAPPING, *GMTS.values())
METHODS = ("baseline", "graph_eg", "graph_gradients", "random_graph_eg")
REFERENCE = "graph_eg"


@dataclass(frozen=True)
class Settings:
    """Size of the experiment."""

    replicates: int = 10
    datasets: tuple[str, ...] = ("P53", "Leukemia")
    n_genes: int = 3000
    hidden: tuple[int, ...] = (128, 32)
    epochs: int = 500
    patience: int = 30
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 1e-2
    warmup_epochs: int = 5
    eg_samples: int = 100
    top_genes: int = 200


FULL = Settings()
QUICK = Settings(replicates=2, datasets=("P53",), n_genes=300, hidden=(16,), epochs=8,
                 patience=3, lr=1e-3, warmup_epochs=2, eg_samples=10, top_genes=50)


def read_cls(path: Path) -> list[str]:
    """Class label per sample from a Broad ``.cls`` file (third line)."""
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    if len(lines) < 3:
        raise UserInputError(f"{path}: expected 3 lines in a .cls file")
    return lines[2].split()


def load_expression(root: Path, name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """``(samples x genes raw values, labels 0/1)`` of data set ``name``."""
    expr_file, cls_file, positive = FILES[name]
    table = pd.read_csv(root / expr_file, sep="\t")
    if name == "P53":
        values = table.drop(columns=["DESCRIPTION"]).set_index("NAME")
    else:
        values = table.drop(columns=["NAME"]).dropna(subset=["Gene"]).groupby("Gene").mean()
    values = values[~values.index.duplicated()]
    labels = read_cls(root / cls_file)
    if len(labels) != values.shape[1]:
        raise UserInputError(f"{root / cls_file}: {len(labels)} labels for "
                             f"{values.shape[1]} samples")
    y = np.array([1.0 if lab == positive else 0.0 for lab in labels])
    return values.T.astype(float), y


def log_and_filter(values: pd.DataFrame, n_genes: int) -> pd.DataFrame:
    """``log2(max(x, 1))`` and the ``n_genes`` columns of largest variance."""
    logged = np.log2(values.clip(lower=1.0))
    top = logged.var(0).sort_values(ascending=False, kind="stable").index[:n_genes]
    return logged[top]


def humannet_symbol_graph(root: Path, features: list[str]) -> sp.csr_matrix:
    """HumanNet (Entrez) mapped to symbols, as an adjacency over ``features``."""
    from aprior_cli.graph import build_adjacency, map_edges
    from aprior_cli.io.edges import read_edge_file

    edges = read_edge_file(root / EDGES)
    mapping = pd.read_csv(root / MAPPING, sep="\t", dtype=str).dropna(
        subset=["external_gene_name", "entrezgene_id"])
    entrez = mapping["entrezgene_id"].str.replace(r"\.0$", "", regex=True)
    mapped, _ = map_edges(edges, entrez.to_numpy(), mapping["external_gene_name"].to_numpy())
    adjacency, _ = build_adjacency(mapped, features)
    return adjacency


def stratified_split(y: np.ndarray, rng: np.random.Generator, fractions=(0.5, 0.25)
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train / validation / test indices with each class split in ``fractions`` (rest test)."""
    parts: list[list[int]] = [[], [], []]
    for cls in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == cls))
        n_tr = int(round(fractions[0] * len(idx)))
        n_va = int(round(fractions[1] * len(idx)))
        parts[0] += idx[:n_tr].tolist()
        parts[1] += idx[n_tr:n_tr + n_va].tolist()
        parts[2] += idx[n_tr + n_va:].tolist()
    return tuple(np.sort(np.array(p, dtype=int)) for p in parts)  # type: ignore[return-value]


def graph_roughness(phi: np.ndarray, laplacian: sp.spmatrix) -> float:
    """Scale-free ``v^T L v / v^T v`` of ``v = mean|phi|`` (:func:`aprior_cli.priors.graph_roughness`)."""
    from aprior_cli.priors import graph_roughness as rayleigh

    v = torch.as_tensor(np.abs(phi).mean(0), dtype=torch.float64)
    return float(rayleigh(v, laplacian))


def _eg(model: torch.nn.Module, x: np.ndarray, refs: np.ndarray, n: int, seed: int) -> np.ndarray:
    from aprior_cli.attribution import expected_gradients

    return expected_gradients(model, torch.as_tensor(x, dtype=torch.float32),
                              torch.as_tensor(refs, dtype=torch.float32), n_samples=n,
                              seed=seed).attributions.double().numpy()


def prepare_dataset(root: Path, dataset: str, n_genes: int
                    ) -> tuple[np.ndarray, np.ndarray, list[str], sp.csr_matrix]:
    """``(x (n, g) log2 values, y (n,), genes, HumanNet adjacency (g, g))``: the ``n_genes``
    most variable genes among those with at least one HumanNet edge to another measured gene
    (genes outside the graph would let the prior move all attribution onto them)."""
    values, y = load_expression(root, dataset)
    all_genes = [str(g) for g in values.columns]
    full = humannet_symbol_graph(root, all_genes)
    in_graph = [g for g, d in zip(all_genes, full.getnnz(1), strict=True) if d > 0]
    expr = log_and_filter(values[in_graph], n_genes)
    genes = [str(g) for g in expr.columns]
    position = pd.Index(all_genes).get_indexer(genes)
    adjacency = sp.csr_matrix(full[position][:, position])
    return expr.to_numpy(), y, genes, adjacency


def run_replicate(settings: Settings, seed: int, data_dir: str | Path, rep: int
                  ) -> list[dict[str, object]]:
    """Every dataset and method for replicate ``rep``; rows tagged ``kind`` = ``result`` or
    ``enrichment``."""
    from aprior_cli.enrichment.ora import over_representation
    from aprior_cli.graph import laplacian, random_same_edges
    from aprior_cli.io.gmt import read_gmt
    from aprior_cli.priors import GraphPrior
    from aprior_cli.training.tasks import roc_auc

    root = Path(data_dir)
    libraries = {k: read_gmt(root / v).gene_sets for k, v in GMTS.items()}
    rows: list[dict[str, object]] = []
    for dataset in settings.datasets:
        x_all, y, genes, adjacency = prepare_dataset(root, dataset, settings.n_genes)
        lap = laplacian(adjacency)
        rng = np.random.default_rng(seed * 1009 + rep)
        tr, va, te = stratified_split(y, rng)
        mu, sd = x_all[tr].mean(0), x_all[tr].std(0)
        x = (x_all - mu) / np.where(sd > 1e-12, sd, 1.0)
        random_lap = laplacian(random_same_edges(adjacency, rng))
        for method in METHODS:
            spec = MLPSpec(hidden=settings.hidden, task="binary", epochs=settings.epochs,
                           batch_size=settings.batch_size, lr=settings.lr,
                           patience=settings.patience, weight_decay=settings.weight_decay,
                           warmup_epochs=settings.warmup_epochs)
            prior = None
            if method != "baseline":
                spec = MLPSpec(**{**spec.__dict__, "prior": "graph", "lambda_": "auto",
                                  "attribution": "grad" if method == "graph_gradients"
                                  else "eg"})
                prior = GraphPrior(random_lap if method == "random_graph_eg" else lap)
            model, fit = train_mlp(spec, x[tr], y[tr], x[va], y[va], seed=seed + rep,
                                   prior=prior)
            test_auc = roc_auc(y[te], predict(model, x[te]))
            phi_test = _eg(model, x[te], x[tr], settings.eg_samples, seed + rep)
            phi_all = _eg(model, x, x[tr], settings.eg_samples, seed + rep + 1)
            ranking = pd.Series(np.abs(phi_all).mean(0), index=genes)
            top = ranking.sort_values(ascending=False, kind="stable").index[
                :settings.top_genes].tolist()
            counts = {}
            for lib, sets in libraries.items():
                ora = over_representation(top, genes, sets, min_size=5)
                counts[lib] = int(ora["significant"].sum()) if len(ora) else 0
                rows.append({"kind": "enrichment", "dataset": dataset, "replicate": rep,
                             "method": method, "library": lib, "tested_sets": len(ora),
                             "significant_sets": counts[lib]})
            rows.append({"kind": "result", "dataset": dataset, "replicate": rep,
                         "method": method, "lambda": fit["lambda_value"], "test_auc": test_auc,
                         "test_graph_roughness": graph_roughness(phi_test, lap),
                         "best_epoch": fit["best_epoch"], "prior_steps": fit["prior_steps"],
                         "hallmark_significant": counts["hallmark"],
                         "kegg_significant": counts["kegg"]})
            log.info("%s replicate %d %s: test AUC %.3f roughness %.3g, Hallmark %d KEGG %d",
                     dataset, rep, method, test_auc, graph_roughness(phi_test, lap),
                     counts["hallmark"], counts["kegg"])
    return rows


def run(settings: Settings = FULL, seed: int = 0, data_dir: str | Path = ".", jobs: int = 1,
        store: ReplicateStore | None = None) -> ExperimentResult:
    """``table``: one row per (dataset, replicate, method); ``jobs`` replicates in parallel."""
    root = Path(data_dir)
    graph_rows = []
    for dataset in settings.datasets:
        _, y, genes, adjacency = prepare_dataset(root, dataset, settings.n_genes)
        graph_rows.append({"dataset": dataset, "samples": len(y), "genes": len(genes),
                           "graph_nodes_with_edges": int((adjacency.getnnz(1) > 0).sum()),
                           "edges": int(adjacency.nnz // 2)})
    out = map_replicates(run_replicate, settings.replicates, jobs, settings, seed, root,
                         store=store)
    rows = [{k: v for k, v in r.items() if k != "kind"} for r in out if r["kind"] == "result"]
    enrich_rows = [{k: v for k, v in r.items() if k != "kind"} for r in out
                   if r["kind"] == "enrichment"]
    table = pd.DataFrame(rows)
    metrics = ["test_auc", "test_graph_roughness", "hallmark_significant", "kegg_significant"]
    means = table.groupby(["dataset", "method"], sort=False)[
        [*metrics, "best_epoch", "prior_steps"]].agg(["mean", "sem"])
    means.columns = [f"{a}_{b}" for a, b in means.columns]
    means = means.reset_index()
    tests = []
    if settings.replicates > 1:
        for dataset, sub in table.groupby("dataset", sort=False):
            t = paired_wilcoxon(sub, metrics, REFERENCE)
            tests.append(t.assign(dataset=dataset))
    tests_table = pd.concat(tests, ignore_index=True) if tests else pd.DataFrame()
    summary = {"experiment": "expression-graph", "settings": settings.__dict__, "seed": seed,
               "graphs": graph_rows,
               "mean": {f"{r['dataset']}/{r['method']}": {k: r[k] for k in means.columns[2:]}
                        for r in means.to_dict(orient="records")}}
    return ExperimentResult(table=table, figure=plot(table),
                            extra_tables={"summary": means, "paired_tests": tests_table,
                                          "enrichment": pd.DataFrame(enrich_rows),
                                          "graphs": pd.DataFrame(graph_rows)},
                            summary=summary)


def plot(table: pd.DataFrame):
    """Per dataset: test AUC and graph roughness per method, replicates joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(len(datasets), 2, figsize=(10, 3.6 * len(datasets)), squeeze=False)
    for row, dataset in zip(axes, datasets, strict=True):
        sub = table[table["dataset"] == dataset]
        for ax, metric in zip(row, ("test_auc", "test_graph_roughness"), strict=True):
            wide = sub.pivot(index="replicate", columns="method", values=metric)[list(METHODS)]
            for _, r in wide.iterrows():
                ax.plot(range(len(METHODS)), r.to_numpy(), color="0.8", lw=0.6)
            ax.boxplot([wide[m].dropna().to_numpy() for m in METHODS],
                       positions=range(len(METHODS)), widths=0.5)
            ax.set_xticks(range(len(METHODS)), METHODS, rotation=20, ha="right")
            ax.set_title(f"{dataset}: {metric}")
    fig.tight_layout()
    return fig
