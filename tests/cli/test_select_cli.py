"""Lambda chosen on validation: `aprior train --lambda a,b,c --select`, `aprior select`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.main import cli

SMALL = ["--hidden", "8", "--epochs", "6", "--batch-size", "16", "--eval-n-samples", "5",
         "--device", "cpu", "--threads", "1", "--patience", "0"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """60 samples x 12 genes; a grid of three lambdas (gini prior) trained once."""
    d = tmp_path_factory.mktemp("select")
    rng = np.random.default_rng(1)
    n, p = 60, 12
    x = rng.normal(size=(n, p))
    y = x[:, :3].sum(1) + 0.3 * rng.normal(size=n)
    samples = [f"S{i:02d}" for i in range(n)]
    pd.DataFrame(x, index=pd.Index(samples, name="sample"),
                 columns=[f"G{j}" for j in range(p)]).to_csv(d / "expr.tsv", sep="\t")
    pd.DataFrame({"sample": samples, "target": y}).to_csv(d / "labels.tsv", sep="\t",
                                                          index=False)
    res = invoke(["train", *data_args(d), "--prior", "gini", "--lambda", "0,1,30",
                  "--select", "best", "-o", str(d / "grid")])
    assert res.exit_code == 0, res.output
    return d


def data_args(d):
    return ["--expression", str(d / "expr.tsv"), "--labels", str(d / "labels.tsv"), *SMALL]


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def read_json(path):
    return json.loads(path.read_text())


def test_grid_records_every_candidate_and_marks_the_validation_choice(study):
    grid = study / "grid"
    record = read_json(grid / "selection.json")
    table = pd.read_csv(grid / "selection.tsv", sep="\t")
    assert list(table["candidate"]) == ["lambda_0", "lambda_1", "lambda_30"]
    # the chosen candidate has the lowest mean validation loss, recomputed from the
    # per-sample losses of every run's predictions.tsv
    means = {}
    for name in table["candidate"]:
        pred = pd.read_csv(grid / name / "predictions.tsv", sep="\t")
        means[name] = pred.loc[pred["split"] == "val", "loss"].mean()
        metrics = read_json(grid / name / "metrics.json")
        assert means[name] == pytest.approx(metrics["val_loss"], rel=1e-5)
        assert pred.loc[pred["split"] == "test", "loss"].mean() == pytest.approx(
            metrics["test_loss"], rel=1e-5)
    assert record["chosen"] == min(means, key=means.get)
    assert table.loc[table["chosen"], "candidate"].tolist() == [record["chosen"]]
    assert record["rule"] == "best" and record["test_metrics_used_for_choice"] is False
    # test figures are kept for the record
    assert {"test_loss", "test_r2", "val_r2"} <= set(table.columns)
    assert all("test_r2" in c["test"] for c in record["candidates"])
    # the grid directory stands for its chosen run
    out = study / "attr_grid"
    res = invoke(["attribute", str(grid), "--expression", str(study / "expr.tsv"),
                  "--n-samples", "5", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert read_json(out / "completeness.json")["run_path"].endswith(record["chosen"])


def _copy_runs(study, name):
    dst = study / name
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir()
    for lam in ("0", "1", "30"):
        shutil.copytree(study / "grid" / f"lambda_{lam}", dst / f"lambda_{lam}")
    return [dst / f"lambda_{lam}" for lam in ("0", "1", "30")]


def _poison(run, split, loss, metrics_update):
    pred = pd.read_csv(run / "predictions.tsv", sep="\t")
    pred.loc[pred["split"] == split, "loss"] = loss
    pred.to_csv(run / "predictions.tsv", sep="\t", index=False)
    metrics = read_json(run / "metrics.json")
    metrics.update(metrics_update)
    (run / "metrics.json").write_text(json.dumps(metrics))


@pytest.mark.parametrize("rule", ["best", "one-se"])
def test_poisoned_test_metrics_do_not_change_the_choice(study, rule):
    runs = _copy_runs(study, f"poison_{rule}")
    clean = invoke(["select", *map(str, runs), "--rule", rule, "-o", str(study / f"c_{rule}")])
    assert clean.exit_code == 0, clean.output
    chosen = read_json(study / f"c_{rule}" / "selection.json")["chosen"]
    # every other run now looks perfect on the test split, the chosen one terrible
    for run in runs:
        good = run.name != chosen.split("/")[-1]
        _poison(run, "test", 0.0 if good else 1e9,
                {"test_loss": 0.0 if good else 1e9, "test_r2": 1.0 if good else -1e9,
                 "test_mse": 0.0 if good else 1e9})
    res = invoke(["select", *map(str, runs), "--rule", rule, "-o", str(study / f"p_{rule}")])
    assert res.exit_code == 0, res.output
    poisoned = read_json(study / f"p_{rule}" / "selection.json")
    assert poisoned["chosen"] == chosen
    # ... while the same poison on the validation split does change it (the test can fail)
    other = next(r for r in runs if r.name != chosen.split("/")[-1])
    _poison(other, "val", 0.0, {"val_loss": 0.0})
    res = invoke(["select", *map(str, runs), "--rule", rule, "-o", str(study / f"v_{rule}")])
    assert res.exit_code == 0, res.output
    assert read_json(study / f"v_{rule}" / "selection.json")["chosen"].endswith(other.name)


def test_select_output_feeds_compare_and_a_selection_of_selections(study):
    sel = study / "sel_again"
    chosen = read_json(study / "grid" / "selection.json")["chosen"]
    others = [str(study / "grid" / f"lambda_{v}") for v in ("0", "1", "30")
              if f"lambda_{v}" != chosen]
    res = invoke(["select", str(study / "grid"), *others, "--rule", "best", "-o", str(sel)])
    assert res.exit_code == 0, res.output
    again = read_json(sel / "selection.json")
    assert again["chosen"] == f"../grid/{chosen}"  # the grid stood for its choice
    res = invoke(["select", str(study / "grid"), str(study / "grid" / chosen), "-o",
                  str(study / "twice")])
    assert res.exit_code != 0 and "given twice" in res.output
    out = study / "cmp"
    res = invoke(["compare", str(study / "grid"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    runs = pd.read_csv(out / "runs.tsv", sep="\t")
    assert runs["method"].tolist() == ["gini-eg-lambda=selected"]


def _other_seed_run(study):
    out = study / "seed7"
    if not out.exists():
        res = invoke(["train", *data_args(study), "--prior", "gini", "--lambda", "1", "--seed",
                      "7", "-o", str(out)])
        assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize("case", ["other_seed", "not_a_run", "exists", "no_val_grid"])
def test_bad_input_one_line_and_nothing_written(study, case):
    out = study / f"bad_{case}"
    args = ["select", str(study / "grid" / "lambda_0"), str(study / "grid" / "lambda_1"),
            "-o", str(out)]
    if case == "other_seed":
        args.insert(2, str(_other_seed_run(study)))
        expect = "validation samples differ"
    elif case == "not_a_run":
        (study / "plain_folder").mkdir(exist_ok=True)
        args.insert(2, str(study / "plain_folder"))
        expect = "not a finished run"
    elif case == "exists":
        out.mkdir()
        (out / "old.txt").write_text("an earlier result\n")
        expect = "already exists"
    else:
        args = ["train", *data_args(study), "--prior", "gini", "--lambda", "0,1",
                "--val-fraction", "0", "-o", str(out)]
        expect = "needs validation samples"
    res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0
    lines = [line for line in res.output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error:") and expect in lines[0], res.output
    if case == "exists":
        assert [p.name for p in out.iterdir()] == ["old.txt"]
    else:
        assert not out.exists()
    assert not list(study.glob(f".bad_{case}*"))  # no temporary directory left


def test_select_none_trains_a_grid_without_validation(study):
    out = study / "grid_noval"
    res = invoke(["train", *data_args(study), "--prior", "gini", "--lambda", "0,1",
                  "--val-fraction", "0", "--select", "none", "--epochs", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert not (out / "selection.json").exists()


def test_select_in_a_subprocess(study):
    out = study / "sub_sel"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "select",
                           str(study / "grid" / "lambda_1"), str(study / "nope"), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "nope" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_compare_shows_the_new_metric_keys_when_present(study):
    runs = _copy_runs(study, "keys")
    for i, run in enumerate(runs):
        metrics = read_json(run / "metrics.json")
        metrics.update(test_graph_roughness_eg=0.1 * (i + 1), graph_coverage=0.8,
                       graph_components=3, graph_isolated=2, dapr_g_spearman=0.4 + i / 10)
        (run / "metrics.json").write_text(json.dumps(metrics))
    out = study / "cmp_keys"
    res = invoke(["compare", *map(str, runs), "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "comparison.tsv", sep="\t")
    for key in ("test_graph_roughness_eg", "graph_coverage", "graph_components",
                "graph_isolated", "dapr_g_spearman"):
        assert key in set(table["metric"]), key
    rough = table[table["metric"] == "test_graph_roughness_eg"].set_index("method")["mean"]
    assert sorted(rough.round(6)) == [0.1, 0.2, 0.3]


def test_select_option_bad_values(study, tmp_path):
    res = CliRunner().invoke(cli, ["train", *data_args(study), "--prior", "gini", "--lambda",
                                   "0,1", "--select", "median", "-o", str(tmp_path / "g")])
    assert res.exit_code == 2 and "median" in res.output and not (tmp_path / "g").exists()
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("select: median\n")
    res = CliRunner().invoke(cli, ["train", *data_args(study), "--config", str(cfg), "-o",
                                   str(tmp_path / "h")])
    lines = [line for line in res.output.strip().splitlines() if line]
    assert res.exit_code == 1 and len(lines) == 1 and "select" in lines[0], res.output
    assert not (tmp_path / "h").exists()
    res = CliRunner().invoke(cli, ["select", str(study / "grid" / "lambda_0"), "--rule", "x",
                                   "-o", str(tmp_path / "s")])
    assert res.exit_code == 2 and not (tmp_path / "s").exists()
