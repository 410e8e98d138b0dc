"""ORA of a plain gene list, the universe conventions, and prerank's log2err / NaN notes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.special import polygamma
from scipy.stats import hypergeom

from aprior_cli.cli.main import cli
from aprior_cli.enrichment.prerank import prerank


def study(d):
    """Universe of 400 genes, 3 sets (annotating 120 of them), a 40-gene query list."""
    universe = [f"G{i}" for i in range(400)]
    sets = {"HIT": universe[:30], "HALF": universe[15:75], "FAR": universe[300:330]}
    (d / "sets.gmt").write_text("".join(f"{k}\tna\t" + "\t".join(v) + "\n"
                                        for k, v in sets.items()))
    query = universe[:20] + universe[200:220]
    (d / "list.txt").write_text("# my hits\n" + "\n".join([*query, query[0]]) + "\n")
    (d / "bg.txt").write_text("\n".join(universe) + "\n")
    return universe, sets, query


def run(d, *extra):
    return CliRunner().invoke(cli, ["enrich", str(d / "list.txt"), "--method", "ora",
                                    "--background", str(d / "bg.txt"), "--gmt",
                                    str(d / "sets.gmt"), "--min-size", "5", "-o",
                                    str(d / "out"), *extra])


@pytest.mark.parametrize("convention", ["background", "annotated"])
def test_gene_list_ora_against_scipy(tmp_path, convention):
    universe, sets, query = study(tmp_path)
    res = run(tmp_path, "--universe", convention)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(tmp_path / "out" / "list.ora.tsv", sep="\t").set_index("term")
    annotated = set().union(*map(set, sets.values()))
    u = [g for g in universe if convention == "background" or g in annotated]
    q = [g for g in query if g in u]
    for term, genes in sets.items():
        m = len(set(genes) & set(u))
        x = len(set(genes) & set(q))
        p = hypergeom.sf(x - 1, len(u), m, len(q))  # independent: P(X >= x)
        assert table.loc[term, "pvalue"] == pytest.approx(p, rel=1e-5)
        assert table.loc[term, "universe_size"] == len(u)
        assert table.loc[term, "universe"] == convention
    summary = json.loads((tmp_path / "out" / "list.summary.json").read_text())["ora"]
    assert summary["top_k"] == 40 and summary["query"] == "plain gene list (file order)"
    assert ("clusterProfiler" if convention == "annotated" else "Enrichr/gseapy") \
        in summary["universe"]
    assert summary["universe_by_library"]["sets"]["universe_size"] == len(u)
    assert f"(universe: {convention})" in res.output


def test_top_k_may_equal_the_list_and_bad_inputs(tmp_path):
    study(tmp_path)
    assert run(tmp_path, "--top-k", "40").exit_code == 0
    bad = [
        (run(tmp_path, "--top-k", "41"), "has only 40 genes"),
        (CliRunner().invoke(cli, ["enrich", str(tmp_path / "list.txt"), "--method", "ora",
                                  "--gmt", str(tmp_path / "sets.gmt"), "-o",
                                  str(tmp_path / "out2")]), "needs --background"),
        (CliRunner().invoke(cli, ["enrich", str(tmp_path / "list.txt"), "--background",
                                  str(tmp_path / "bg.txt"), "--gmt", str(tmp_path / "sets.gmt"),
                                  "-o", str(tmp_path / "out2")]), "has no scores for prerank"),
    ]
    (tmp_path / "small_bg.txt").write_text("\n".join(f"G{i}" for i in range(20)) + "\n")
    bad.append((run(tmp_path, "--background", str(tmp_path / "small_bg.txt"), "--min-size", "1"),
                "the query covers the whole universe"))
    for res, message in bad:
        lines = [ln for ln in res.stderr.splitlines() if ln.startswith("Error")]
        assert res.exit_code != 0 and len(lines) == 1 and message in lines[0], res.stderr
    assert not (tmp_path / "out2").exists()


def test_multilevel_log2err_is_fgsea_multilevel_error_and_nan_p_says_why(caplog):
    rng = np.random.default_rng(0)
    genes = [f"g{i}" for i in range(300)]
    ranking = pd.Series(np.sort(np.abs(rng.normal(size=300)))[::-1], index=genes)
    sets = {"top": genes[:20], "mid": genes[100:130], "bottom": genes[-20:]}
    t = prerank(ranking, sets, permutations=100, seed=0, min_size=5, method="multilevel")
    t = t.set_index("term")
    for term in ("top", "mid"):
        p = t.loc[term, "pvalue"]
        # fgsea's multilevelError(pval, sampleSize = 101)
        expected = np.sqrt(np.floor(-np.log2(p) + 1)
                           * (polygamma(1, 51) - polygamma(1, 102))) / np.log(2)
        assert t.loc[term, "log2err"] == pytest.approx(expected, rel=1e-9)
        assert t.loc[term, "pvalue_note"] == ""
    assert np.isnan(t.loc["bottom", "pvalue"])
    note = t.loc["bottom", "pvalue_note"]
    assert note.startswith("no random gene set of size 20 reaches this tail (ES < 0) in the "
                           "permutations")
    assert "more permutations" not in note
    assert any("1 set(s) have no p-value, e.g. 'bottom'" in r.getMessage()
               for r in caplog.records)
    perm = prerank(ranking, sets, permutations=50, seed=0, min_size=5)
    assert perm["log2err"].isna().all()  # no such error estimate for plain permutations


def test_default_top_k():
    from aprior_cli.enrichment.analysis import effective_top_k
    from aprior_cli.io.ranking import GENE_LIST_SCORE

    ranking = pd.Series(np.arange(1000.0, 0, -1), index=[f"g{i}" for i in range(1000)])
    assert effective_top_k(ranking, None) == 200
    assert effective_top_k(ranking.iloc[:114], None) == 28  # a quarter of a short ranking
    assert effective_top_k(ranking.iloc[:114], 50) == 50
    assert effective_top_k(ranking.rename(GENE_LIST_SCORE).iloc[:40], None) == 40
