"""The training protocol on a small simulated study: lambda means what it says in both
schedules, and ``lambda: auto`` lands near the validation-best lambda.

The study is ``aprior simulate`` at 120 samples x 200 genes (4 modules of 12; the default demo
is 240 x 800), split by patient, preprocessed and given its gene graph -- the same chain as
the demo, small enough for the suite. docs/training.md shows the same properties at the
default size.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from aprior_cli.cli.main import cli
from aprior_cli.io.graph_npz import load_graph
from aprior_cli.training.config import resolve
from aprior_cli.training.run import execute, prepare

CPU = torch.device("cpu")
LAMBDAS = (0.1, 1.0, 10.0, 100.0)
#: short, fast training for the suite (the defaults train for up to 500 epochs)
FAST = {"hidden": "32", "epochs": 40, "lr": 1e-3, "batch_size": 32, "fine_tune_epochs": 20,
        "eval_n_samples": 30}


def _train_values(over):
    values = {"expression": "expr.tsv", "labels": "labels.tsv", "prior": "graph",
              "graph": "graph.npz", "meta_features": "meta.tsv", "split": "file",
              "split_file": "splits.tsv", "device": "cpu"}
    values.update(over)
    return values


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    d = tmp_path_factory.mktemp("protocol_study")

    def ok(*args):
        res = CliRunner().invoke(cli, [*map(str, args), "-q"], catch_exceptions=False)
        assert res.exit_code == 0, res.output

    ok("simulate", "-o", d / "sim", "--n-samples", 120, "--n-genes", 200, "--n-modules", 4,
       "--module-size", 12, "--seed", 0)
    ok("split", d / "sim" / "labels.tsv", "--method", "group", "--seed", 0, "-o",
       d / "splits.tsv", "--train-samples", d / "train.txt")
    ok("preprocess", d / "sim" / "counts.tsv", "--genes-as-rows", "--lengths",
       d / "sim" / "gene_lengths.tsv", "--annotation", d / "sim" / "gene_annotation.tsv",
       "--train-samples", d / "train.txt", "-o", d / "expr.tsv")
    ok("graph", "--edges", d / "sim" / "edges.tsv.gz", "--expression", d / "expr.tsv", "-o",
       d / "graph.npz")
    return {"expression": pd.read_csv(d / "expr.tsv", sep="\t", index_col=0),
            "labels": pd.read_csv(d / "sim" / "labels.tsv", sep="\t"),
            "graph": load_graph(d / "graph.npz"),
            "meta_features": pd.read_csv(d / "sim" / "meta_features.tsv", sep="\t"),
            "split_table": pd.read_csv(d / "splits.tsv", sep="\t")}


def train(study, fast=True, **over):
    """Metrics of one run; ``fast``: the short settings above, else the protocol defaults."""
    prep = prepare(resolve(None, _train_values({**(FAST if fast else {}), **over})), **study)
    return execute(prep, CPU, show_progress=False).metrics


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["joint", "fine-tune"])
def test_test_set_penalty_falls_monotonically_over_lambda(study, schedule):
    """Fixed seed, fixed length (no early stopping, so only lambda changes between runs).

    Before the fine-tune phase shared one optimiser between its task and prior steps, its
    penalty was the same for every lambda (Adam is invariant to the prior gradient's scale).
    """
    penalties = [train(study, schedule=schedule, patience=0, **{"lambda": lam})[
        "test_graph_penalty_eg"] for lam in LAMBDAS]
    assert all(a > b for a, b in zip(penalties, penalties[1:], strict=False)), penalties
    # and by a margin: measured 0.032 -> 0.00076 (joint), 0.020 -> 0.0054 (fine-tune)
    assert penalties[0] / penalties[-1] > 3, penalties


@pytest.mark.slow
def test_auto_lambda_lands_within_10x_of_the_validation_best_lambda(study):
    """DAPr with the default protocol (and a small MLP, hidden 32): validation
    loss has an interior optimum over lambda here, so "validation-best" means something.

    Measured on this study, seeds 0/1/2: validation-best lambda 10 on the decade grid, auto
    4.3 / 4.6 / 5.0; at the default size (240 x 800, hidden 512,256) validation-best 3, auto
    within 2.5x (docs/training.md). For the graph prior validation prefers the smallest
    lambda tried on this study, so no calibration can land near an optimum; docs say so.
    """
    over = {"prior": "dapr", "graph": None, "hidden": "32", "eval_n_samples": 20}
    runs = {lam: train(study, fast=False, **over, **{"lambda": lam})
            for lam in (0.1, 1.0, 10.0, 100.0, "auto")}
    val = {lam: m["val_loss"] for lam, m in runs.items() if lam != "auto"}
    best = min(val, key=val.get)
    assert 0.1 < best < 100, val  # an interior optimum, not a grid end
    auto = runs["auto"]["lambda"]
    assert abs(math.log10(auto / best)) <= 1, (auto, best, val)
    assert runs["auto"]["val_loss"] < val[0.1]  # auto's model beats the weakest prior
