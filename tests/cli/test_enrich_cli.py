"""``aprior enrich`` end to end: outputs, comparison of rankings, bad inputs, subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.enrich import ranking_names
from aprior_cli.cli.main import cli


def _study(tmp: Path, seed: int = 0, planted: bool = True) -> tuple[Path, Path]:
    """An `aprior attribute`-style ranking (300 genes) and a GMT whose DRIVER set is on top."""
    rng = np.random.default_rng(seed)
    genes = [f"GENE{i}" for i in range(300)]
    scores = np.sort(rng.exponential(1.0, 300))[::-1]
    order = list(genes) if planted else list(rng.permutation(genes))
    ranking = pd.DataFrame({"feature": order, "mean_abs_attribution": scores,
                            "rank": np.arange(1, 301)})
    ranking = ranking.sample(frac=1.0, random_state=seed)  # file order must not matter
    tmp.mkdir(parents=True, exist_ok=True)
    rpath = tmp / "ranking.tsv"
    ranking.to_csv(rpath, sep="\t", index=False)
    gmt = tmp.parent / "sets.gmt"
    if not gmt.exists():
        lines = ["DRIVER\tplanted\t" + "\t".join(genes[:30:2]) + "\n",
                 "\n",
                 "DUPLICATED\tdesc\t" + "\t".join(genes[100:115] + genes[100:102]) + "\n"]
        g = np.random.default_rng(99)
        for j in range(10):
            lines.append(f"RANDOM_{j}\t\t" + "\t".join(g.choice(genes, 20, replace=False)) + "\n")
        gmt.write_text("".join(lines))
    return rpath, gmt


FAST = ["--permutations", "50", "--min-size", "5", "--top-k", "30", "--seed", "1"]


def test_enrich_one_ranking_writes_tables_summary_and_plot(tmp_path):
    rpath, gmt = _study(tmp_path / "runA")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["enrich", str(rpath), "--gmt", str(gmt), "-o", str(out),
                                   *FAST])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [
        "ranking.dotplot.png", "ranking.ora.tsv", "ranking.prerank.tsv", "ranking.summary.json"]
    ora = pd.read_csv(out / "ranking.ora.tsv", sep="\t")
    assert list(ora.columns) == ["library", "term", "set_size", "overlap", "expected",
                                 "odds_ratio", "pvalue", "fdr_qvalue", "significant",
                                 "overlap_genes", "universe", "universe_size"]
    assert ora.loc[0, "term"] == "DRIVER" and ora.loc[0, "overlap"] == 15
    assert ora.loc[0, "library"] == "sets" and bool(ora.loc[0, "significant"])
    assert ora.set_index("term").loc["DUPLICATED", "set_size"] == 15
    pre = pd.read_csv(out / "ranking.prerank.tsv", sep="\t")
    assert pre.loc[0, "term"] == "DRIVER" and pre.loc[0, "nes"] > 1
    assert np.isfinite(pre[["es", "nes", "pvalue", "fdr_qvalue"]].to_numpy()).all()
    summary = json.loads((out / "ranking.summary.json").read_text())
    assert summary["n_genes"] == 300 and summary["scores_nonnegative"] is True
    assert summary["score_column"] == "mean_abs_attribution"
    assert summary["libraries"][0]["n_duplicate_genes_removed"] == 2
    assert summary["libraries"][0]["identifier_overlap"]["overlap_coefficient"] == 1.0
    assert summary["ora"]["n_significant"] == int(ora["significant"].sum()) >= 1
    assert summary["ora"]["top_terms"][0]["term"] == "DRIVER"
    assert summary["prerank"]["n_significant"] == int(pre["significant"].sum()) >= 1
    assert (out / "ranking.dotplot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ranking: 300 genes" in res.stdout and "wrote 4 files" in res.stdout


def test_two_rankings_give_comparison_tables_and_pdf(tmp_path):
    a, gmt = _study(tmp_path / "graph_prior", seed=0, planted=True)
    b, _ = _study(tmp_path / "baseline", seed=1, planted=False)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["enrich", str(a), str(b), "--gmt", str(gmt), "-o", str(out),
                                   "--plot-format", "pdf", "--method", "ora", "-q", *FAST])
    assert res.exit_code == 0, res.output
    assert res.stdout == ""  # --quiet
    names = sorted(p.name for p in out.iterdir())
    assert "graph_prior.ranking.ora.tsv" in names and "baseline.ranking.ora.tsv" in names
    assert not any(n.endswith("prerank.tsv") for n in names)
    assert (out / "graph_prior.ranking.dotplot.pdf").read_bytes()[:4] == b"%PDF"
    comp = pd.read_csv(out / "comparison.tsv", sep="\t")
    row = comp.iloc[0]
    assert (row["method"], row["ranking_a"], row["ranking_b"]) == (
        "ora", "graph_prior.ranking", "baseline.ranking")
    sig_a = pd.read_csv(out / "graph_prior.ranking.ora.tsv", sep="\t")["significant"].sum()
    sig_b = pd.read_csv(out / "baseline.ranking.ora.tsv", sep="\t")["significant"].sum()
    assert (row["n_significant_a"], row["n_significant_b"]) == (sig_a, sig_b)
    assert sig_a >= 1
    terms = pd.read_csv(out / "comparison_terms.tsv", sep="\t")
    assert "DRIVER" in set(terms["term"])
    assert list(terms.columns[-2:]) == ["graph_prior.ranking.fdr_qvalue",
                                        "baseline.ranking.fdr_qvalue"]


def test_ranking_names_disambiguate():
    assert ranking_names(["a/x.tsv", "b/y.rnk.gz"]) == ["x", "y"]
    assert ranking_names(["runA/ranking.tsv", "runB/ranking.tsv"]) == [
        "runA.ranking", "runB.ranking"]
    assert ranking_names(["d/r.tsv", "d/r.tsv"]) == ["d.r.1", "d.r.2"]


def _bad(tmp_path, args, message):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["enrich", *args, "-o", str(out)])
    assert res.exit_code != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    if lines and lines[0].startswith("Usage:"):  # click's own usage errors add two lines
        lines = [ln for ln in lines if ln.startswith("Error")]
    assert len(lines) == 1, res.stderr
    assert message in lines[0], lines[0]
    assert not out.exists() or list(out.iterdir()) == []
    return lines[0]


def test_missing_gmt(tmp_path):
    rpath, _ = _study(tmp_path / "r")
    _bad(tmp_path, [str(rpath), "--gmt", str(tmp_path / "none.gmt")], "GMT file not found")


def test_library_name_points_to_fetch(tmp_path):
    rpath, _ = _study(tmp_path / "r")
    _bad(tmp_path, [str(rpath), "--gmt", "KEGG_2021_Human"], "aprior fetch")


def test_empty_ranking(tmp_path):
    _, gmt = _study(tmp_path / "r")
    empty = tmp_path / "empty.tsv"
    empty.write_text("feature\tmean_abs_attribution\trank\n")
    _bad(tmp_path, [str(empty), "--gmt", str(gmt)], "ranking is empty")


def test_non_numeric_scores(tmp_path):
    _, gmt = _study(tmp_path / "r")
    bad = tmp_path / "bad.tsv"
    bad.write_text("gene\tscore\nGENE1\t0.5\nGENE2\thigh\n")
    _bad(tmp_path, [str(bad), "--gmt", str(gmt)], "non-numeric or non-finite value 'high'")


def test_duplicate_genes_in_ranking(tmp_path):
    _, gmt = _study(tmp_path / "r")
    dup = tmp_path / "dup.tsv"
    dup.write_text("gene\tscore\nGENE1\t0.5\nGENE1\t0.7\n")
    _bad(tmp_path, [str(dup), "--gmt", str(gmt)], "--duplicate-genes keep-highest")


def test_no_identifier_overlap(tmp_path):
    _, gmt = _study(tmp_path / "r")
    entrez = tmp_path / "entrez.rnk"
    entrez.write_text("".join(f"{7000 + i}\t{1.0 / (i + 1)}\n" for i in range(300)))
    line = _bad(tmp_path, [str(entrez), "--gmt", str(gmt)], "no gene identifier matches")
    assert "Entrez ids" in line


@pytest.mark.parametrize("extra, message", [
    (["--min-size", "50", "--max-size", "10"], "--min-size/--max-size"),
    (["--method", "ora,magic"], "--method: magic"),
    (["--top-k", "300"], "--top-k 300: the query covers the whole universe"),
    (["--top-k", "301"], "has only 300 genes"),
    (["--universe", "everything"], "'everything' is not one of 'background', 'annotated'"),
    (["--fdr", "1.5"], "--fdr: must be between 0 and 1"),
    (["--min-size", "100"], "no gene set has between 100 and 500"),
    (["--background", "missing.txt"], "gene list file not found"),
])
def test_bad_options(tmp_path, extra, message):
    rpath, gmt = _study(tmp_path / "r")
    _bad(tmp_path, [str(rpath), "--gmt", str(gmt), "--permutations", "10", *extra], message)


def test_background_without_top_genes(tmp_path):
    rpath, gmt = _study(tmp_path / "r")
    bg = tmp_path / "bg.txt"
    bg.write_text("\n".join(f"GENE{i}" for i in range(250, 300)))
    _bad(tmp_path, [str(rpath), "--gmt", str(gmt), "--top-k", "10", "--background", str(bg),
                    "--min-size", "1"], "is in the universe")


def test_ignore_case_rescues_mouse_symbols(tmp_path):
    rpath, gmt = _study(tmp_path / "r")
    df = pd.read_csv(rpath, sep="\t")
    df["feature"] = df["feature"].str.capitalize()  # GENE1 -> Gene1
    mouse = tmp_path / "mouse.tsv"
    df.to_csv(mouse, sep="\t", index=False)
    line = _bad(tmp_path, [str(mouse), "--gmt", str(gmt)], "no gene identifier matches")
    assert "--ignore-case" in line
    out = tmp_path / "ok"
    res = CliRunner().invoke(cli, ["enrich", str(mouse), "--gmt", str(gmt), "-o", str(out),
                                   "--ignore-case", "--method", "ora", *FAST])
    assert res.exit_code == 0, res.output
    assert pd.read_csv(out / "mouse.ora.tsv", sep="\t").loc[0, "term"] == "DRIVER"


def test_subprocess_entry_point(tmp_path):
    rpath, gmt = _study(tmp_path / "r")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "enrich", str(rpath), "--gmt",
                           str(gmt), "-o", str(out), "--method", "ora", *FAST],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ORA top 30" in proc.stdout
    assert (out / "ranking.ora.tsv").exists()
    # no stray files (gseapy logs, temp files) outside the output folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "r", "sets.gmt"]
    bad = subprocess.run([sys.executable, "-m", "aprior_cli", "enrich", str(rpath), "--gmt",
                          "nope.gmt", "-o", str(tmp_path / "o2")], capture_output=True, text=True)
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0
    assert "nope.gmt: GMT file not found" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.realdata
def test_real_data_prerank_and_ora(shared_data, tmp_path):
    """Broad GSEA example ranking + its gene sets; ORA of the shared 22,922-gene ranking with the
    shared background against Enrichr KEGG 2016."""
    d = shared_data / "gsea"
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, [
        "enrich", str(d / "edb_reference" / "gsea_data.gsea_data.rnk"),
        "--gmt", str(d / "edb_reference" / "gene_sets.gmt"), "-o", str(out),
        "--method", "prerank", "--permutations", "200", "--seed", "0"])
    assert res.exit_code == 0, res.output
    pre = pd.read_csv(out / "gsea_data.gsea_data.prerank.tsv", sep="\t").set_index("term")
    assert pre.loc["ES-SPECIFIC", "es"] == pytest.approx(-0.4856, abs=6e-5)
    assert set(pre.index[pre["significant"]]) == {
        "ES-SPECIFIC", "GATA3 OE-SPECIFIC", "TS-SPECIFIC", "CDX2 OE-SPECIFIC", "OCT4 KD-SPECIFIC"}
    summary = json.loads((out / "gsea_data.gsea_data.summary.json").read_text())
    assert summary["scores_nonnegative"] is False
    assert summary["prerank"]["n_significant_negative_nes"] == 1

    out2 = tmp_path / "out2"
    res = CliRunner().invoke(cli, [
        "enrich", str(d / "rank" / "temp.rnk"), "--gmt", str(d / "gmt" / "enrichr.KEGG_2016.gmt"),
        "--background", str(d / "ora" / "background.txt"), "-o", str(out2), "--method", "ora"])
    assert res.exit_code == 0, res.output
    ora = pd.read_csv(out2 / "temp.ora.tsv", sep="\t")
    assert ora.loc[0, "term"] == "Proteoglycans in cancer Homo sapiens hsa05205"
    assert ora.loc[0, "overlap"] == 38 and ora.loc[0, "set_size"] == 201
    assert ora["fdr_qvalue"].iloc[0] < 1e-30


@pytest.mark.realdata
def test_real_entrez_ranking_against_symbol_sets_fails(shared_data, tmp_path):
    """The classic silent failure, from real identifiers: map the shared ranking's symbols to
    Entrez ids with the shared BioMart table, then enrich against symbol gene sets."""
    d = shared_data / "gsea"
    mapping = pd.read_csv(d / "mapping" / "hsapiens_gene_ensembl.background.genes.txt",
                          sep="\t", dtype=str).dropna()
    to_entrez = mapping.drop_duplicates("external_gene_name").set_index(
        "external_gene_name")["entrezgene_id"]
    rnk = pd.read_csv(d / "rank" / "temp.rnk", sep="\t", header=None, names=["gene", "score"])
    rnk["gene"] = rnk["gene"].map(to_entrez)
    rnk = rnk.dropna().drop_duplicates("gene").head(2000)
    path = tmp_path / "entrez.rnk"
    rnk.to_csv(path, sep="\t", header=False, index=False)
    line = _bad(tmp_path, [str(path), "--gmt", str(d / "gmt" / "h.all.v7.0.symbols.gmt")],
                "no gene identifier matches")
    assert "looks like Entrez ids but the gene sets use gene symbols" in line


def test_same_library_twice(tmp_path):
    rpath, gmt = _study(tmp_path / "r")
    _bad(tmp_path, [str(rpath), "--gmt", str(gmt), "--gmt", str(gmt)],
         "two files share the library name 'sets'")


def test_gzipped_ranking_and_two_libraries(tmp_path):
    rpath, gmt = _study(tmp_path / "r")
    gz = tmp_path / "attr.tsv.gz"
    pd.read_csv(rpath, sep="\t").to_csv(gz, sep="\t", index=False, compression="gzip")
    other = tmp_path / "other.gmt"
    other.write_text("TOP10\t\t" + "\t".join(f"GENE{i}" for i in range(10)) + "\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["enrich", str(gz), "--gmt", str(gmt), "--gmt", str(other),
                                   "-o", str(out), *FAST])
    assert res.exit_code == 0, res.output
    ora = pd.read_csv(out / "attr.ora.tsv", sep="\t")
    assert set(ora["library"]) == {"sets", "other"}
    top10 = ora.set_index("term").loc["TOP10"]
    assert top10["overlap"] == 10 and top10["library"] == "other"
    # BH within each library: the single 'other' set keeps its p-value as q-value
    assert top10["fdr_qvalue"] == pytest.approx(top10["pvalue"], rel=1e-5)
