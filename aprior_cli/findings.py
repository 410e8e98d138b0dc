"""What the report says: per-method headline, top genes, pathways, diagnostics (pure tables).

Tables in, tables and sentences out; :mod:`aprior_cli.cli.report` reads the files and
:mod:`aprior_cli.report` renders the page. Conventions:

* A *method* is one row of the headline: the runs of one method over seeds (on the lambda each
  seed chose on validation, when a selection was made). Runs pair with the baseline's by seed
  and split (as in ``aprior compare``).
* Accuracy is the task's test metric (``test_r2``, ``test_auc`` or ``test_accuracy``); its
  change is the mean paired difference with a paired t-test and a Wilcoxon signed-rank test.
* Smoothness is the scale-free ``test_graph_roughness_eg`` (``phibar^T L phibar /
  phibar^T phibar``) when the runs have it, else ``test_graph_penalty_eg``, which is *not*
  scale-free (it also falls when attributions merely shrink) -- the page says which.
* Stability is the mean top-K Jaccard between single runs and between the consensus of two
  disjoint halves of the runs (:mod:`aprior_cli.consensus`).
* A pathway is significant when its q-value is below the FDR threshold (prerank: and
  NES > 0, since attribution rankings are non-negative).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

ACCURACY_METRICS = ("test_r2", "test_auc", "test_accuracy")
SMOOTHNESS_METRICS = ("test_graph_roughness_eg", "test_graph_penalty_eg")
#: per-run graph statistics other branches write into metrics.json
GRAPH_KEYS = ("graph_coverage", "graph_components", "graph_isolated")


def first_present(runs: pd.DataFrame, keys: Sequence[str]) -> str | None:
    """The first of ``keys`` that every run has (a numeric, non-missing column)."""
    for key in keys:
        if key in runs.columns and pd.to_numeric(runs[key], errors="coerce").notna().all():
            return key
    return None


def fmt(value: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits; ``n/a`` for NaN/None."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return f"{float(value):.{digits}g}"


def signed(diff: float) -> str:
    """A difference of scores such as R² or AUC: 3 decimals (``+0.012``), or 3 significant
    digits when smaller than 0.001 in size (``-4.2e-05``)."""
    if not np.isfinite(diff):
        return "n/a"
    return f"{diff:+.3f}" if diff == 0 or abs(diff) >= 1e-3 else f"{diff:+.2g}"


def fmt_p(p: float) -> str:
    return "n/a" if p is None or not np.isfinite(p) else f"{p:.2g}"


def mean_sd(values: Sequence[float]) -> str:
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)
    if v.size == 0:
        return "n/a"
    if v.size == 1:
        return fmt(v[0])
    return f"{fmt(v.mean())} ± {fmt(v.std(ddof=1), 2)}"


def lambdas_text(values: Sequence[object]) -> str:
    """Chosen lambdas of the seeds: ``1`` when all agree, else ``0.1, 1, 1``."""
    shown = [fmt(float(v), 3) if _is_number(v) else str(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else ", ".join(shown)


def _is_number(v: object) -> bool:
    try:
        float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def paired(runs: pd.DataFrame, label: str, baseline: str, metric: str) -> dict[str, float]:
    """Paired comparison of ``metric`` between method ``label`` and ``baseline``.

    Returns ``n_pairs, mean_diff`` (label - baseline), ``ratio`` (mean / baseline mean),
    ``t_pvalue``, ``wilcoxon_pvalue``.
    """
    from aprior_cli.training.compare import paired_tests

    records = runs[runs["label"].isin([label, baseline])]
    records = records.assign(method=records["label"])[["method", "seed", "split_id", metric]]
    table = paired_tests(records, [metric], baseline=baseline, correction="none")
    row = table[table["method_a"] == label].iloc[0]
    ratio = row["mean_a"] / row["mean_b"] if row["mean_b"] else float("nan")
    return {"n_pairs": int(row["n_pairs"]), "mean_diff": float(row["mean_diff"]),
            "ratio": float(ratio), "t_pvalue": float(row["t_pvalue"]),
            "wilcoxon_pvalue": float(row["wilcoxon_pvalue"])}


def headline(runs: pd.DataFrame, baseline: str, stability: Mapping[str, Mapping[str, float]]
             ) -> tuple[pd.DataFrame, list[str], dict[str, str | None]]:
    """Per method vs ``baseline``: accuracy change, smoothness change, stability change.

    Parameters
    ----------
    runs
        One row per run: ``label`` (method), ``seed``, ``split_id``, ``lambda`` (chosen) and the
        numeric metrics.
    baseline
        Label of the baseline method (its row has no changes).
    stability
        ``label -> {"single": mean pairwise top-K Jaccard, "halves": split-half Jaccard,
        "top_k": K}`` for methods with a consensus.

    Returns
    -------
    table, sentences, keys
        The headline table (columns named after the metric keys), one plain sentence per
        method, and the metric keys used (``accuracy``, ``smoothness``).
    """
    acc = first_present(runs, ACCURACY_METRICS)
    smooth = first_present(runs, SMOOTHNESS_METRICS)
    labels = list(dict.fromkeys(runs["label"]))
    if baseline in labels:
        labels.remove(baseline)
        labels.insert(0, baseline)
    has_base = baseline in set(runs["label"])
    top_k = next((int(s["top_k"]) for s in stability.values() if s.get("top_k")), None)
    stab_col = f"top-{top_k} Jaccard: single runs / half-ensembles" if top_k else None
    rows, sentences = [], []
    for label in labels:
        sub = runs[runs["label"] == label]
        row: dict[str, object] = {"method": label, "seeds": len(sub),
                                  "λ (chosen)": lambdas_text(list(sub["lambda"]))}
        words = []
        if acc:
            row[f"{acc} (mean ± sd)"] = mean_sd(sub[acc])
        if smooth:
            row[f"{smooth} (mean ± sd)"] = mean_sd(sub[smooth])
        if has_base and label != baseline:
            if acc:
                c = paired(runs, label, baseline, acc)
                row[f"Δ {acc} (paired t p; Wilcoxon p)"] = (
                    f"{signed(c['mean_diff'])} (p = {fmt_p(c['t_pvalue'])}; "
                    f"{fmt_p(c['wilcoxon_pvalue'])})")
                words.append(_change_words(acc, c, relative=False))
            if smooth:
                c = paired(runs, label, baseline, smooth)
                row[f"{smooth} change (paired t p)"] = (
                    f"{100 * (c['ratio'] - 1):+.0f} % (p = {fmt_p(c['t_pvalue'])})")
                words.append(_change_words(smooth, c, relative=True))
        elif has_base:
            if acc:
                row[f"Δ {acc} (paired t p; Wilcoxon p)"] = "(baseline)"
            if smooth:
                row[f"{smooth} change (paired t p)"] = "(baseline)"
        if stab_col:
            s = stability.get(label)
            row[stab_col] = (f"{fmt(s['single'], 2)} / {fmt(s['halves'], 2)}" if s else "n/a")
            if s and label != baseline and baseline in stability:
                b = stability[baseline]
                words.append(f"top-{top_k} stability {fmt(b['single'], 2)} → "
                             f"{fmt(s['single'], 2)} between single runs and "
                             f"{fmt(b['halves'], 2)} → {fmt(s['halves'], 2)} between "
                             "half-ensembles")
        rows.append(row)
        if words:
            sentences.append(f"{label} vs {baseline}: " + "; ".join(words) + ".")
    return pd.DataFrame(rows), sentences, {"accuracy": acc, "smoothness": smooth}


def _change_words(metric: str, c: Mapping[str, float], relative: bool) -> str:
    p = c["t_pvalue"]
    change = f"{100 * (c['ratio'] - 1):+.0f} %" if relative else signed(c["mean_diff"])
    if not np.isfinite(p):
        verdict = "no paired test possible"
    elif p < 0.05:
        verdict = f"paired t p = {fmt_p(p)}, n = {c['n_pairs']}"
    else:
        verdict = f"paired t p = {fmt_p(p)}, n = {c['n_pairs']}: no evidence of a change"
    return f"{metric} {change} ({verdict})"


def significant_terms(table: pd.DataFrame | None, fdr: float, kind: str) -> pd.DataFrame:
    """Rows of an enrichment table that pass ``fdr`` (prerank: also NES > 0)."""
    if table is None or table.empty or "fdr_qvalue" not in table.columns:
        return pd.DataFrame(columns=[] if table is None else table.columns)
    q = pd.to_numeric(table["fdr_qvalue"], errors="coerce")
    ok = q < fdr
    if kind == "prerank" and "nes" in table.columns:
        ok &= pd.to_numeric(table["nes"], errors="coerce") > 0
    return table[ok.fillna(False)]


def pathway_members(tables: Mapping[str, pd.DataFrame | None], fdr: float) -> dict[str, list[str]]:
    """gene -> significant terms whose leading edge (prerank) or overlap (ORA) holds it."""
    members: dict[str, list[str]] = {}
    for kind, column in (("prerank", "leading_edge"), ("ora", "overlap_genes")):
        sig = significant_terms(tables.get(kind), fdr, kind)
        if column not in sig.columns:
            continue
        for term, genes in zip(sig["term"], sig[column], strict=True):
            for gene in str(genes).split(";"):
                gene = gene.strip()
                if gene and gene != "nan" and term not in members.setdefault(gene, []):
                    members[gene].append(str(term))
    return members


def top_genes(genes: pd.DataFrame, n: int, n_runs: int, degree: Mapping[str, int] | None,
              members: Mapping[str, Sequence[str]], drivers: set[str] | None = None,
              top_k: int | None = None) -> pd.DataFrame:
    """The consensus top ``n`` genes with their uncertainty and context.

    ``genes`` is ``consensus.tsv``; ``degree`` the gene graph's node degree (edges).
    """
    sub = genes.sort_values("consensus_rank").head(n)
    k = f"top-{top_k}" if top_k else "top-K"
    table = pd.DataFrame({
        "rank": sub["consensus_rank"].astype(int).to_numpy(),
        "gene": sub["feature"].astype(str).to_numpy(),
        f"in {k} of single runs": [f"{round(f * n_runs)}/{n_runs}"
                                   for f in sub["top_k_frequency"]],
        "rank interval (runs)": [f"{fmt(lo, 3)}–{fmt(hi, 3)}"
                                 for lo, hi in zip(sub["rank_low"], sub["rank_high"],
                                                   strict=True)],
        "importance ± s.e.": [f"{fmt(v, 3)} ± {fmt(s, 2)}" for v, s in
                              zip(sub["consensus_importance"], sub.get(
                                  "importance_se", pd.Series(np.nan, index=sub.index)),
                                  strict=True)],
    })
    if degree is not None:
        table["graph degree"] = [int(degree[g]) if g in degree else "not a node"
                                 for g in table["gene"]]
    table["in a significant pathway"] = [abbreviate(members.get(g, []), 2) or "–"
                                         for g in table["gene"]]
    if drivers is not None:
        table["planted driver"] = ["yes" if g in drivers else "" for g in table["gene"]]
    return table


def abbreviate(items: Sequence[str], n: int) -> str:
    """The first ``n`` items joined by ``, `` and ``(+k more)``."""
    items = list(items)
    if len(items) <= n:
        return ", ".join(items)
    return ", ".join(items[:n]) + f" (+{len(items) - n} more)"


def pathway_findings(table: pd.DataFrame | None, kind: str, fdr: float, n: int,
                     label: str) -> tuple[pd.DataFrame | None, str]:
    """The pathway table (best first) with a significance mark, and its sentence.

    When no term passes ``fdr`` the sentence says so and the table (if shown) is captioned as
    not findings by the caller; the mark column is then empty.
    """
    name = "GSEA prerank" if kind == "prerank" else "over-representation (ORA)"
    if table is None or table.empty:
        return None, f"{label}: no {name} table was given."
    sig = significant_terms(table, fdr, kind)
    n_tested = len(table)
    if sig.empty:
        sentence = (f"No pathway passes the FDR threshold (q < {fdr:g}) in the {name} of "
                    f"{label}'s consensus ranking: none of the {n_tested} sets tested is a "
                    "finding.")
    else:
        sentence = (f"{len(sig)} of {n_tested} pathways pass q < {fdr:g} in the {name} of "
                    f"{label}'s consensus ranking (marked ✓).")
    sig_terms = set(sig["term"])
    head = table.head(n)
    out = pd.DataFrame({"term": head["term"].astype(str).to_numpy()})
    if kind == "prerank":
        out["NES"] = pd.to_numeric(head.get("nes"), errors="coerce").to_numpy()
        out["q-value"] = pd.to_numeric(head["fdr_qvalue"], errors="coerce").to_numpy()
        out["leading edge"] = (pd.to_numeric(head["leading_edge_size"], errors="coerce")
                               .astype("Int64").astype(str).to_numpy()
                               if "leading_edge_size" in head.columns else "n/a")
    else:
        out["overlap"] = (head["overlap"].astype(str).to_numpy() if "overlap" in head.columns
                          else "n/a")
        out["odds ratio"] = pd.to_numeric(head.get("odds_ratio"), errors="coerce").to_numpy()
        out["q-value"] = pd.to_numeric(head["fdr_qvalue"], errors="coerce").to_numpy()
    out[f"q < {fdr:g}"] = ["✓" if t in sig_terms else "" for t in out["term"]]
    return out, sentence


def graph_statistics(adjacency, features: Sequence[str]) -> tuple[dict[str, float],
                                                                  dict[str, int]]:
    """Coverage, components and isolated genes of a gene graph, and each gene's degree.

    Returns ``({"graph_coverage", "graph_isolated", "graph_components"}, degree)``;
    coverage = fraction of the graph's genes with at least one edge; components are counted
    among the genes with an edge.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    adj = sp.csr_matrix(adjacency)
    adj = adj - sp.diags(adj.diagonal())
    degree = np.asarray((adj != 0).sum(1)).ravel().astype(int)
    connected = degree > 0
    n_comp = 0
    if connected.any():
        sub = adj[connected][:, connected]
        n_comp = int(connected_components(sub, directed=False)[0])
    stats = {"graph_coverage": float(connected.mean()) if degree.size else float("nan"),
             "graph_isolated": int((~connected).sum()), "graph_components": n_comp}
    return stats, {str(f): int(d) for f, d in zip(features, degree, strict=True)}


def planted_truth(label: str, genes: pd.DataFrame, normalised: pd.DataFrame | None,
                  drivers: Sequence[str], k: int, prerank: pd.DataFrame | None,
                  planted: str | None) -> dict[str, object]:
    """Driver recovery of a consensus (and its single runs) and the planted pathway's rank."""
    from aprior_cli.consensus import top_k_recovery

    ranking = list(genes.sort_values("consensus_rank")["feature"].astype(str))
    rec = top_k_recovery(ranking, drivers, k)
    row: dict[str, object] = {"method": label,
                              f"drivers in consensus top {rec['k']}":
                                  f"{rec['hits']}/{len(set(drivers))}",
                              f"precision@{rec['k']} (consensus)": rec["precision"]}
    if normalised is not None and normalised.shape[1] > 0:
        single = [top_k_recovery(list(normalised[c].sort_values(ascending=False,
                                                                 kind="mergesort").index
                                      .astype(str)), drivers, k)["precision"]
                  for c in normalised.columns]
        row[f"precision@{rec['k']} (single runs: median, range)"] = (
            f"{fmt(float(np.median(single)), 3)} ({fmt(min(single), 3)}–{fmt(max(single), 3)})")
    if planted:
        position = "not tested"
        if prerank is not None and "term" in prerank.columns:
            terms = list(prerank["term"].astype(str))
            if planted in terms:
                position = f"{terms.index(planted) + 1} of {len(terms)}"
        row[f"rank of {planted} (prerank)"] = position
    return row


def driver_recovery(genes: Sequence[str], score: Sequence[float], drivers: Sequence[str],
                    top: int = 50) -> tuple[int, float]:
    """How a gene score finds planted drivers: the number of drivers among the ``top``
    highest-scored genes, and the ROC AUC of the score for drivers vs the other genes
    (Mann-Whitney; NaN when either group is empty)."""
    from scipy.stats import rankdata

    wanted = set(map(str, drivers))
    values = np.asarray(score, dtype=float)
    is_driver = np.array([str(g) in wanted for g in genes])
    order = np.argsort(-values, kind="stable")[:top]
    n_pos, n_neg = int(is_driver.sum()), int((~is_driver).sum())
    if n_pos == 0 or n_neg == 0:
        return int(is_driver[order].sum()), float("nan")
    ranks = rankdata(values)  # ties count 1/2
    auc = (ranks[is_driver].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return int(is_driver[order].sum()), float(auc)
