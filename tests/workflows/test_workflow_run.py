"""A real end-to-end run of the workflow on the tiny `.test` study (what `make test` runs)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

#: every command the workflow calls; a missing one makes the run skip, naming it
COMMANDS = ["simulate", "split", "preprocess", "graph", "train", "select", "attribute",
            "consensus", "enrich", "compare", "report"]


def missing_commands() -> list[str]:
    import importlib.util

    from aprior_cli.cli.main import SUBCOMMANDS

    return [name for name in COMMANDS if importlib.util.find_spec(SUBCOMMANDS[name][0]) is None]


@pytest.mark.slow
def test_test_config_runs_end_to_end(snakemake, workflow, tmp_path):
    missing = missing_commands()
    if missing:
        pytest.skip(f"aprior command(s) not available yet: {', '.join(missing)}")
    if shutil.which("aprior") is None and not (workflow.dir.parent / ".venv/bin/aprior").exists():
        pytest.skip("the aprior console script is not installed")
    tmp_path = tmp_path / "dir with spaces"  # every rule quotes its paths
    result = snakemake("--cores", "2", "--configfile", str(workflow.test_config),
                       "--directory", str(tmp_path), timeout=600)
    assert result.returncode == 0, (result.stdout[-3000:] + result.stderr[-3000:])

    results = tmp_path / "results"
    page = (results / "report" / "report.html").read_text()
    truth = json.loads((tmp_path / "resources" / "study" / "truth.json").read_text())
    planted = truth["driver_pathway"]
    # the report answers in order: headline, genes, pathways, diagnostics
    order = [page.index(h) for h in ("1. Headline", "2. Top genes", "3. Pathways",
                                     "4. Diagnostics")]
    assert order == sorted(order)
    for method in ("baseline", "graph_eg", "graph_grad", "random_graph", "dapr"):
        assert f"{method} vs baseline" in page or method == "baseline"
        assert f"<td>{method}</td>" in page
    assert "test_r2" in page and "rule one-se" in page
    assert planted in page  # the planted pathway is named (and highlighted)
    # plots are embedded, nothing external
    assert page.count("data:image/png;base64,") >= 2
    assert 'src="http' not in page
    # lambda chosen per seed on validation among the grid of graph_eg (0.1, 1)
    for seed in (0, 1):
        record = json.loads((results / "select/graph_eg" / f"seed_{seed}" / "selection.json")
                            .read_text())
        assert record["rule"] == "one-se" and len(record["candidates"]) == 2
        assert record["test_metrics_used_for_choice"] is False
    # an ensemble per method over the two seeds, enriched as a whole
    stability = json.loads((results / "consensus/graph_eg/stability.json").read_text())
    assert stability["n_runs"] == 2
    assert (results / "enrich/graph_eg/ranking.prerank.tsv").is_file()

    # every rule kept a log and a benchmark
    assert (tmp_path / "logs" / "simulate.log").is_file()
    benchmarks = list((tmp_path / "benchmarks").rglob("*.tsv"))
    # simulate, 2 x (split, preprocess, graph, random graph), 12 trainings, 10 selections,
    # 10 attributions, 5 consensus, 5 enrichments, compare, report
    assert len(benchmarks) == 1 + 2 * 4 + 12 + 10 + 10 + 5 + 5 + 1 + 1
    # the random-graph run trained on the control but reports the penalty on the real graph
    cfg = (tmp_path / "results/runs/random_graph/lambda_1/seed_0/config.yaml").read_text()
    assert "random.npz" in cfg and "graph.npz" in cfg
    # preprocessing and training used the same split
    split = pd.read_csv(tmp_path / "results/splits/seed_0/splits.tsv", sep="\t")
    run_split = pd.read_csv(tmp_path / "results/runs/graph_eg/lambda_1/seed_0/splits.tsv",
                            sep="\t")
    merged = split.merge(run_split, on="sample", suffixes=("_workflow", "_run"))
    assert len(merged) == len(split)
    assert (merged["split_workflow"] == merged["split_run"]).all()
    train_ids = (tmp_path / "results/splits/seed_0/train_samples.txt").read_text().split()
    assert sorted(train_ids) == sorted(split.loc[split["split"] == "train", "sample"])
