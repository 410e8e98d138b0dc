"""The report's content: loaded results in, :class:`~aprior_cli.report.Section` list out (pure).

The order answers the user's question first (see :mod:`aprior_cli.cli.report`): headline,
top genes, pathways, diagnostics. Numbers come from :mod:`aprior_cli.findings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from aprior_cli import findings as fnd
from aprior_cli.report import (
    Figure,
    Section,
    metric_plot,
    pathway_position_table,
    pathway_positions,
    summarize_runs,
    top_pathways,
)

ALL_METRICS = ["test_r2", "test_auc", "test_accuracy", "test_loss", "test_graph_roughness_eg",
               "test_graph_roughness_grad", "test_graph_penalty_eg", "test_graph_penalty_grad",
               "test_gini_eg", "dapr_g_spearman", "best_epoch"]
PLOT_LABELS = {
    "test_graph_roughness_eg": ("test-set graph roughness (EG, scale-free; lower = smoother)",
                                "test graph roughness (EG)"),
    "test_graph_penalty_eg": ("test-set graph penalty (EG, real graph; lower = smoother)",
                              "test graph penalty (EG)"),
    "test_r2": ("test R²", "test R²"), "test_auc": ("test AUC", "test AUC"),
    "test_accuracy": ("test accuracy", "test accuracy"),
}


def _label_of(method: str, runs: pd.DataFrame) -> str:
    """The run label of a consensus/pathway method name (the method itself if unknown)."""
    labels = list(dict.fromkeys(runs.loc[runs["method"] == method, "label"]))
    return labels[0] if len(labels) == 1 else method


def build_sections(*, runs: pd.DataFrame, truth: Mapping[str, Any],
                   consensus: Mapping[str, Any], pathways: Mapping[str, Mapping[str, Any]],
                   single_tables: Mapping[tuple[str, str, str], pd.DataFrame], graph: Any,
                   compare: tuple[list, list], dapr: Mapping[str, Any], fdr: float, top: int,
                   top_genes: int, baseline: str) -> list[Section]:
    """Every section of the page, in order (see the module docstring)."""
    degree, graph_stats = None, None
    if graph is not None:
        graph_stats, degree = fnd.graph_statistics(graph.adjacency, graph.features)
    members = {m: fnd.pathway_members(t, fdr) for m, t in pathways.items()}
    sections = [_overview(runs, truth, consensus, baseline),
                _headline(runs, consensus, baseline),
                _genes(runs, consensus, members, degree, truth, top_genes),
                _pathways(runs, pathways, fdr, top),
                _diagnostics(runs, consensus, pathways, single_tables, graph_stats, compare,
                             dapr, truth, top)]
    return [s for s in sections if s is not None]


def _overview(runs, truth, consensus, baseline) -> Section:
    labels = list(dict.fromkeys(runs["label"]))
    seeds = sorted(set(runs["seed"]), key=lambda s: (len(str(s)), str(s)))
    sec = Section("Overview", paragraphs=[
        f"{len(runs)} training runs: methods {', '.join(labels)}; seeds {', '.join(seeds)}."])
    if runs["selected"].any():
        rules = sorted(set(runs.loc[runs["selected"], "rule"]) - {""})
        sec.paragraphs.append(
            f"λ was chosen inside each seed on the validation split (rule {', '.join(rules)}); "
            "test figures were never used for a choice and are reported for the chosen runs "
            "only.")
    if consensus:
        sec.paragraphs.append(
            "Genes and pathways come from each method's consensus over its runs: every run's "
            "mean |EG| normalised to sum 1, averaged over runs (aprior consensus); one model's "
            "ranking is an anecdote.")
    if baseline not in set(runs["label"]):
        sec.paragraphs.append(f"No method is called {baseline!r}: no changes against a "
                              "baseline are computed (--baseline).")
    if truth:
        sec.paragraphs.append(
            f"Simulated study (seed {truth.get('seed')}): {truth.get('n_samples')} samples x "
            f"{truth.get('n_genes')} genes, task {truth.get('task')}; the phenotype is driven by "
            f"module {truth.get('driver_module')} ({len(truth.get('driver_genes', []))} genes), "
            f"which is the pathway {truth.get('driver_pathway')} of the GMT (highlighted).")
        if truth.get("overlap_decoy_pathway"):
            sec.paragraphs.append(f"Decoy: {truth['overlap_decoy_pathway']} shares part of the "
                                  "driver's genes, so it is expected just below the driver.")
    return sec


def _stability(runs, consensus) -> dict[str, dict[str, float]]:
    out = {}
    for method, saved in consensus.items():
        s = saved.summary
        out[_label_of(method, runs)] = {"single": s["pairwise_top_k_jaccard"]["mean"],
                                        "halves": s["split_half_top_k_jaccard"],
                                        "top_k": s["top_k"]}
    return out


def _headline(runs, consensus, baseline) -> Section:
    table, sentences, keys = fnd.headline(runs, baseline, _stability(runs, consensus))
    sec = Section("1. Headline: each method against the baseline")
    sec.p("Test-set figures of the runs (each seed's held-out samples), on the λ each seed "
          "chose on validation where a selection was made; changes are paired by seed and "
          "split (paired t-test; Wilcoxon signed-rank in brackets).")
    for sentence in sentences:
        sec.p(sentence)
    if keys["smoothness"] == "test_graph_penalty_eg":
        sec.p("Smoothness here is test_graph_penalty_eg (phibar^T L phibar), which is not "
              "scale-free: it also falls when attributions merely shrink. "
              "test_graph_roughness_eg (divided by phibar^T phibar) is used when the runs "
              "record it.")
    elif keys["smoothness"] is None:
        sec.p("No graph smoothness was recorded (train with --eval-graph).")
    sec.table("", table)
    metrics = [m for m in ALL_METRICS if m in runs.columns]
    shown = runs.assign(method=runs["label"],
                        **{"lambda": np.where(runs["selected"], "chosen per seed",
                                              runs["lambda"])})
    sec.table("Comparison of methods: every recorded test metric, mean ± sd over seeds",
              summarize_runs(shown, metrics))
    for metric in (keys["smoothness"], keys["accuracy"]):
        if metric:
            caption, axis = PLOT_LABELS.get(metric, (metric, metric))
            sec.figure(Figure(caption, metric_plot(shown.assign(**{"lambda": ""}), metric,
                                                   axis)))
    return sec


def _genes(runs, consensus, members, degree, truth, n) -> Section | None:
    if not consensus:
        return None
    sec = Section("2. Top genes (consensus over runs)")
    sec.p("Rank = consensus rank (mean over runs of each run's normalised mean |EG|). 'in "
          "top-K of single runs' = in how many runs the gene is among the K best; the rank "
          "interval is the 5th–95th percentile of its rank over runs; a significant pathway "
          "is one whose leading edge (prerank) or overlap (ORA) holds the gene.")
    drivers = set(truth.get("driver_genes", [])) if truth else None
    for method, saved in consensus.items():
        label = _label_of(method, runs)
        s = saved.summary
        table = fnd.top_genes(saved.genes, n, int(s["n_runs"]), degree,
                              members.get(method, {}), drivers, int(s["top_k"]))
        sec.table(f"{label}: top {len(table)} of {s['n_features']} genes over {s['n_runs']} "
                  "runs", table, highlight=False)
    return sec


def _pathways(runs, pathways, fdr, n) -> Section | None:
    if not pathways:
        return None
    sec = Section("3. Pathways (enrichment of the consensus ranking)")
    sec.p(f"Significant = q-value < {fdr:g} (GSEA prerank: and NES > 0, i.e. the set sits "
          "high in the ranking). Terms are listed best first as aprior enrich ranks them; a "
          "prerank q-value of 0 means below the resolution of its permutations.")
    for method, tables in pathways.items():
        label = _label_of(method, runs)
        for kind in ("prerank", "ora"):
            if kind not in tables:
                continue
            table, sentence = fnd.pathway_findings(tables[kind], kind, fdr, n, label)
            sec.p(sentence)
            if table is not None:
                none = not (table[f"q < {fdr:g}"] == "✓").any()
                what = "GSEA prerank" if kind == "prerank" else "ORA of the top genes"
                caption = (f"{label}, {what}: best-ranked {len(table)} sets — none significant, "
                           "so none is a finding" if none else
                           f"{label}, {what}: best-ranked {len(table)} sets")
                sec.table(caption, table)
    return sec


def _diagnostics(runs, consensus, pathways, single_tables, graph_stats, compare, dapr, truth,
                 top) -> Section:
    sec = Section("4. Diagnostics")
    # chosen lambda per seed
    sec.h3("λ per seed")
    pivot = runs.pivot_table(index="label", columns="seed", values="lambda", aggfunc="first")
    pivot = pivot.reindex(index=list(dict.fromkeys(runs["label"])))
    pivot.columns = [f"seed {c}" for c in pivot.columns]
    rules = runs.groupby("label", sort=False)["rule"].first()
    pivot.insert(0, "rule", [rules[lbl] or "fixed" for lbl in pivot.index])
    sec.table("λ of each method and seed ('fixed': no selection)",
              pivot.reset_index().rename(columns={"label": "method"}))
    # graph
    sec.h3("Gene graph")
    present = [k for k in fnd.GRAPH_KEYS if k in runs.columns]
    if present:
        coverage = pd.to_numeric(runs.get("graph_coverage"), errors="coerce")
        if coverage is not None and coverage.notna().any():
            low = " — below 50 %: a graph prior constrains few of the genes" \
                if coverage.mean() < 0.5 else ""
            sec.p(f"Graph coverage {100 * coverage.mean():.1f} % of the model's genes have at "
                  f"least one edge (mean over runs){low}.")
        table = (runs.groupby("label", sort=False)[present].mean().reset_index()
                 .rename(columns={"label": "method", "graph_coverage": "coverage (genes with "
                                  "an edge)", "graph_components": "components",
                                  "graph_isolated": "isolated genes"}))
        sec.table("Recorded by training (metrics.json), mean over runs", table)
    elif graph_stats is not None:
        sec.p(f"Graph coverage {100 * graph_stats['graph_coverage']:.1f} % of its genes have "
              f"at least one edge ({graph_stats['graph_isolated']} isolated); "
              f"{graph_stats['graph_components']} connected component(s) among the genes "
              "with an edge.")
    else:
        sec.p("No graph statistics: neither the runs' metrics nor --graph give them.")
    # EG quality
    if consensus:
        sec.h3("Expected gradients: completeness and Monte-Carlo error")
        rows = []
        for method, saved in consensus.items():
            s = saved.summary
            res = [r.get("relative_completeness_residual") for r in s.get("runs", [])]
            res = [float(v) for v in res if isinstance(v, int | float)]
            row = {"method": _label_of(method, runs),
                   "relative completeness residual (mean; max)":
                       f"{fnd.fmt(np.mean(res), 2)}; {fnd.fmt(np.max(res), 2)}" if res else "n/a"}
            for key, name in (("variance_top_k", f"top {s['top_k']}"), ("variance_all", "all")):
                v = s.get(key)
                row[f"EG Monte-Carlo share of the spread ({name} genes)"] = (
                    f"≤ {100 * v['mc_share']:.1f} %" if v else "n/a (no --stderr)")
            rows.append(row)
        sec.p("Completeness residual: |sum phi - (f(x) - E f(x'))| relative to |sum phi| "
              "(shrinks with more EG samples). Monte-Carlo share: the part of the between-run "
              "variance of the normalised importances that EG sampling error explains (an "
              "upper bound); the rest is between-model variation.")
        sec.table("", pd.DataFrame(rows))
    # DAPr
    if dapr or "dapr_g_spearman" in runs.columns:
        sec.h3("DAPr: what g learned")
        sec.p("g maps each gene's meta-features to a predicted importance. 'raises'/'lowers': "
              "the sign of the meta-feature's effect on g's prediction (mean second-order EG "
              "over the genes), with its share of g's explanation; on the simulated study, "
              "how many planted drivers g ranks in its top 50 and the AUC of g's prediction "
              "for drivers against the other genes (0.5: chance).")
        sec.table("", _dapr_table(runs, dapr, truth.get("driver_genes") if truth else None))
    # planted truth
    if truth and truth.get("driver_genes") and consensus:
        sec.h3("Planted truth (simulated study)")
        rows = []
        for method, saved in consensus.items():
            prerank = pathways.get(method, {}).get("prerank")
            rows.append(fnd.planted_truth(_label_of(method, runs), saved.genes,
                                          saved.normalised, truth["driver_genes"],
                                          int(saved.summary["top_k"]), prerank,
                                          truth.get("driver_pathway")))
        sec.table("Driver genes recovered and the planted pathway's position", pd.DataFrame(rows))
    # single runs' pathway positions (the old per-run view, kept as a diagnostic)
    if single_tables:
        positions = pathway_positions(single_tables)
        sec.h3("Top pathways in single runs (positions, not findings)")
        planted = truth.get("driver_pathway") if truth else None
        if planted:
            table = pathway_position_table(positions, planted)
            sec.p(_planted_sentence(planted, table))
            sec.table(f"Position of the planted pathway {planted} in each seed (1 = top)", table)
        sec.table(f"Top {top} pathways per method by median position over single runs "
                  "(findings are in section 3)", _with_q(top_pathways(positions, top),
                                                         single_tables))
    tables, figures = compare
    if tables or figures:
        sec.h3("Paired tests (aprior compare)")
        for caption, table in tables:
            sec.table(caption, table)
        for figure in figures:
            sec.figure(figure)
    return sec


def _with_q(top: pd.DataFrame, tables) -> pd.DataFrame:
    """Add the median q-value over seeds of each listed pathway."""
    qs = []
    for rec in top.to_dict(orient="records"):
        values = []
        for (method, lam, _), table in tables.items():
            if method == rec["method"] and lam == rec["lambda"] and "fdr_qvalue" in table.columns:
                hit = table.loc[table["term"] == rec["term"], "fdr_qvalue"]
                values.extend(pd.to_numeric(hit, errors="coerce").dropna().tolist())
        qs.append(float(np.median(values)) if values else float("nan"))
    return top.assign(median_q=qs)


def _planted_sentence(planted: str, table: pd.DataFrame) -> str:
    parts = []
    for rec in table.to_dict(orient="records"):
        label = rec["method"] if str(rec["lambda"]) in ("0", "selected", "") else \
            f"{rec['method']} (λ={rec['lambda']})"
        parts.append(f"{label}: top in {rec['seeds_at_top']}/{rec['n_seeds']} seeds")
    return f"Planted pathway {planted}: " + "; ".join(parts) + "."


def _dapr_table(runs: pd.DataFrame, dapr: Mapping[str, Any],
                drivers: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for name, entry in dapr.items():
        row: dict[str, object] = {"run": name}
        imp = entry.get("importance")
        if imp is not None and "gene" in imp.columns:
            row["g's top genes"] = fnd.abbreviate(list(imp["gene"].astype(str).head(5)), 5)
            if drivers and "g_M" in imp.columns:
                top, auc = fnd.driver_recovery(imp["gene"].astype(str), imp["g_M"], drivers)
                row["drivers in g's top 50"] = f"{top}/{len(set(drivers))}"
                row["g's driver AUC"] = fnd.fmt(auc, 2)
        summary = entry.get("second_order_summary")
        second = entry.get("second_order")
        if summary is not None and {"meta_feature", "direction", "share"} <= set(summary.columns):
            row["meta-features (effect on g, share)"] = ", ".join(
                f"{r.meta_feature} {r.direction} {100 * float(r.share):.0f} %"
                for r in summary.sort_values("share", ascending=False).head(4)
                .itertuples(index=False))
        elif second is not None:
            meta = [c for c in second.columns if c not in ("gene", "g_M", "rank",
                                                           "completeness_residual")]
            means = second[meta].abs().mean().sort_values(ascending=False)
            row["meta-features by mean |EG of g| (unsigned)"] = ", ".join(
                f"{k} {fnd.fmt(v, 2)}" for k, v in means.head(4).items())
        rows.append(row)
    if "dapr_g_spearman" in runs.columns:
        fit = runs.dropna(subset=["dapr_g_spearman"])
        for rec in fit.itertuples(index=False):
            name = f"{rec.label}, seed {rec.seed}"
            match = next((r for r in rows if r["run"] == name), None)
            if match is None:
                match = {"run": name}
                rows.append(match)
            match["dapr_g_spearman (g's fit)"] = fnd.fmt(rec.dapr_g_spearman, 3)
    return pd.DataFrame(rows)
