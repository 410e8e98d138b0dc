"""The report's pure functions: summaries, pathway positions, plots and the HTML page."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest

from aprior_cli.report import (
    Figure,
    Section,
    format_mean_sd,
    metric_plot,
    pathway_position_table,
    pathway_positions,
    png_data_uri,
    render_html,
    summarize_runs,
    top_pathways,
)


@pytest.fixture
def runs() -> pd.DataFrame:
    return pd.DataFrame({
        "method": ["baseline"] * 3 + ["graph_eg"] * 3,
        "lambda": ["0"] * 3 + ["1"] * 3,
        "seed": ["0", "1", "2"] * 2,
        "test_r2": [0.5, 0.6, 0.7, 0.55, 0.65, 0.60],
        "test_graph_penalty_eg": [4.0, 5.0, 6.0, 1.0, 2.0, 1.5],
    })


def test_summarize_runs_mean_and_sd_per_method(runs):
    table = summarize_runs(runs, ["test_graph_penalty_eg", "test_r2", "absent_metric"])
    assert list(table.columns) == ["method", "lambda", "n_seeds", "test_graph_penalty_eg",
                                   "test_r2"]
    assert list(table["method"]) == ["baseline", "graph_eg"]  # first-seen order
    assert list(table["n_seeds"]) == [3, 3]
    values = np.array([1.0, 2.0, 1.5])
    expected = f"{values.mean():.4g} ± {values.std(ddof=1):.2g}"
    assert table.loc[1, "test_graph_penalty_eg"] == expected == "1.5 ± 0.5"
    assert table.loc[0, "test_graph_penalty_eg"] == "5 ± 1"


def test_format_mean_sd_edge_cases():
    assert format_mean_sd(np.array([])) == "n/a"
    assert format_mean_sd(np.array([0.123456])) == "0.1235"
    assert format_mean_sd(np.array([1.0, 3.0])) == "2 ± 1.4"


@pytest.fixture
def enrichment_tables() -> dict:
    def table(*terms):
        return pd.DataFrame({"term": list(terms), "fdr_qvalue": np.linspace(0, 1, len(terms))})

    return {
        ("baseline", "0", "0"): table("B", "A", "C", "P"),
        ("baseline", "0", "1"): table("P", "B", "A", "C"),
        ("graph_eg", "1", "0"): table("P", "A", "B", "C"),
        ("graph_eg", "1", "1"): table("P", "B", "C"),  # A not tested in this run
    }


def test_pathway_positions_number_rows_from_one(enrichment_tables):
    positions = pathway_positions(enrichment_tables)
    assert len(positions) == 15
    first = positions[(positions["method"] == "baseline") & (positions["seed"] == "0")]
    assert list(first["term"]) == ["B", "A", "C", "P"]
    assert list(first["position"]) == [1, 2, 3, 4]
    assert set(first["n_terms"]) == {4}


def test_top_pathways_by_median_position(enrichment_tables):
    top = top_pathways(pathway_positions(enrichment_tables), n=2)
    baseline = top[top["method"] == "baseline"]
    # medians: B (1, 2) -> 1.5; A (2, 3) -> 2.5; P (4, 1) -> 2.5; C (3, 4) -> 3.5
    assert list(baseline["term"]) == ["B", "A"]  # A before P: same median, same top-2 count, name
    assert list(baseline["median_position"]) == [1.5, 2.5]
    assert list(baseline["seeds_in_top_n"]) == [2, 1]
    graph = top[top["method"] == "graph_eg"]
    assert list(graph["term"]) == ["P", "A"]
    assert list(graph["rank"]) == [1, 2]
    assert set(graph["n_seeds"]) == {2}


def test_pathway_position_table_for_the_planted_pathway(enrichment_tables):
    positions = pathway_positions(enrichment_tables)
    planted = pathway_position_table(positions, "P")
    assert list(planted["positions"]) == ["4, 1", "1, 1"]
    assert list(planted["seeds_at_top"]) == [1, 2]
    assert list(planted["median_position"]) == [2.5, 1.0]
    missing = pathway_position_table(positions, "A")
    assert list(missing["positions"]) == ["2, 3", "2, -"]
    absent = pathway_position_table(positions, "NOT_A_PATHWAY")
    assert absent["median_position"].isna().all()
    assert list(absent["positions"]) == ["-, -", "-, -"]


def test_metric_plot_is_a_deterministic_png(runs):
    png = metric_plot(runs, "test_graph_penalty_eg")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert metric_plot(runs, "test_graph_penalty_eg") == png


def test_render_html_is_self_contained_and_escaped(runs):
    png = metric_plot(runs, "test_r2")
    table = pd.DataFrame({"term": ["<script>alert(1)</script>", "PLANTED"], "q": [0.5, np.nan]})
    page = render_html("Title & more", [
        Section("Results", paragraphs=["a < b"], tables=[("caption", table)],
                figures=[Figure("a plot", png)]),
    ], highlight="PLANTED")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Title &amp; more</title>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<p>a &lt; b</p>" in page
    assert '<tr class="hit"><td>PLANTED</td><td>n/a</td></tr>' in page
    # the figure is embedded: no external file is referenced, and it decodes back to the PNG
    sources = re.findall(r'src="([^"]+)"', page)
    assert sources == [png_data_uri(png)]
    assert base64.b64decode(sources[0].split(",", 1)[1]) == png
    assert "href=" not in page


def test_driver_recovery_against_sklearn_style_hand_counts():
    from scipy.stats import mannwhitneyu

    from aprior_cli.findings import driver_recovery

    rng = np.random.default_rng(0)
    genes = [f"G{i}" for i in range(40)]
    score = rng.normal(size=40)
    drivers = genes[:8]
    score[:8] += 1.0
    top, auc = driver_recovery(genes, score, drivers, top=10)
    order = np.argsort(-score)[:10]
    assert top == sum(i < 8 for i in order)
    u = mannwhitneyu(score[:8], score[8:]).statistic  # P(driver > other), ties 1/2
    assert auc == pytest.approx(u / (8 * 32))
    assert np.isnan(driver_recovery(genes, score, [], top=10)[1])
