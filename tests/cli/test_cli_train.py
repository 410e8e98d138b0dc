"""``aprior train``, ``aprior attribute`` and ``aprior compare`` end to end, and bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
import yaml
from click.testing import CliRunner
from scipy import stats

import aprior_cli.cli.train as train_cli
from aprior_cli.cli.main import cli
from aprior_cli.graph import GeneGraph
from aprior_cli.io.graph_npz import save_graph

SMALL = ["--hidden", "8", "--epochs", "4", "--batch-size", "16", "--eval-n-samples", "10",
         "--device", "cpu", "--threads", "1"]


@pytest.fixture
def study(tmp_path):
    """Small regression study: 60 samples x 10 genes, a 4-gene clique drives the target."""
    rng = np.random.default_rng(0)
    n, p = 60, 10
    x = rng.normal(size=(n, p))
    y = x[:, :4].sum(1) + 0.1 * rng.normal(size=n)
    genes = [f"G{j}" for j in range(p)]
    samples = [f"S{i:02d}" for i in range(n)]
    expr = pd.DataFrame(x, index=pd.Index(samples, name="sample"), columns=genes)
    expr.to_csv(tmp_path / "expr.tsv", sep="\t")
    labels = pd.DataFrame({"sample": samples, "target": y, "group": [f"P{i // 3}" for i in range(n)],
                           "site": np.where(np.arange(n) % 2 == 0, "a", "b")})
    labels.to_csv(tmp_path / "labels.tsv", sep="\t", index=False)
    w = np.zeros((p, p))
    w[:4, :4] = 1 - np.eye(4)
    save_graph(tmp_path / "graph.npz", GeneGraph(genes, sp.csr_matrix(w),
                                                 sp.csr_matrix(np.diag(w.sum(1)) - w), False))
    return tmp_path


def base_args(d):
    return ["train", "--expression", str(d / "expr.tsv"), "--labels", str(d / "labels.tsv"),
            *SMALL]


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


RUN_FILES = {"model.pt", "config.yaml", "model.json", "metrics.json", "history.tsv",
             "splits.tsv", "features.txt", "predictions.tsv", "COMPLETE"}


def test_train_writes_a_complete_run_directory(study):
    out = study / "run"
    res = invoke([*base_args(study), "--graph", str(study / "graph.npz"), "--prior", "graph",
                  "--lambda", "1", "--covariates", "site", "--split", "group", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert {f.name for f in out.iterdir()} == RUN_FILES
    assert not (study / "run.partial").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("train_r2", "val_r2", "test_r2", "test_prior_eg", "test_prior_grad",
                "test_graph_penalty_eg", "test_graph_penalty_grad", "test_graph_roughness_eg",
                "test_graph_roughness_grad", "test_gini_eg"):
        assert isinstance(metrics[key], float), key
    assert 0 <= metrics["test_graph_roughness_eg"] <= 6  # <= the largest eigenvalue of L
    assert metrics["test_prior_eg"] == pytest.approx(metrics["test_graph_penalty_eg"])
    features = (out / "features.txt").read_text().split()
    assert features == [f"G{j}" for j in range(10)] + ["site=a", "site=b"]
    state = torch.load(out / "model.pt", weights_only=True)
    assert state["0.weight"].shape == (8, 12)
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["lambda"] == 1.0 and cfg["prior"] == "graph" and cfg["hidden"] == [8]
    splits = pd.read_csv(out / "splits.tsv", sep="\t")
    labels = pd.read_csv(study / "labels.tsv", sep="\t")
    merged = splits.merge(labels, on="sample")
    assert merged.groupby("group")["split"].nunique().max() == 1
    history = pd.read_csv(out / "history.tsv", sep="\t")
    # --epochs 4: the default 5-epoch warm-up is shortened to 3, so one epoch has the prior
    assert list(history["epoch"]) == [1, 2, 3, 4] and cfg["warmup_epochs"] == 3
    assert list(history["phase"]) == ["warmup"] * 3 + ["joint"]
    assert history["train_prior"].isna().tolist() == [True] * 3 + [False]
    assert history["train_prior"].iloc[-1] > 0
    assert metrics["best_epoch"] == 4 and metrics["prior_steps"] > 0
    assert "test_r2=" in res.output and "epoch 4 kept of 4" in res.output


def test_yaml_config_and_lambda_grid(study):
    cfg = study / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"prior": "gini", "lambda": [0, 0.5], "epochs": 3}))
    out = study / "grid"
    res = invoke([*base_args(study), "--config", str(cfg), "--epochs", "2", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["lambda_0", "lambda_0.5", "selection.json",
                                                     "selection.tsv"]
    for lam in ("0", "0.5"):
        run = out / f"lambda_{lam}"
        assert (run / "COMPLETE").is_file()
        saved = yaml.safe_load((run / "config.yaml").read_text())
        assert saved["lambda"] == float(lam) and saved["epochs"] == 2  # CLI beats YAML


def test_resume_through_the_cli_equals_uninterrupted(study, monkeypatch):
    args = [*base_args(study), "--graph", str(study / "graph.npz"), "--prior", "graph",
            "--lambda", "1", "--dropout", "0.1"]
    assert invoke([*args, "-o", str(study / "full")]).exit_code == 0

    def interrupt(epoch):
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_cli, "_EPOCH_HOOK", interrupt)
    res = CliRunner().invoke(cli, [*args, "-o", str(study / "cut")])
    assert res.exit_code != 0
    assert not (study / "cut").exists() and (study / "cut.partial" / "checkpoint.pt").is_file()
    monkeypatch.setattr(train_cli, "_EPOCH_HOOK", None)
    changed = invoke([*args, "--lr", "0.5", "--resume", "-o", str(study / "cut")])
    assert changed.exit_code != 0 and "'lr' differs" in changed.output
    assert invoke([*args, "--resume", "-o", str(study / "cut")]).exit_code == 0
    a = torch.load(study / "full" / "model.pt", weights_only=True)
    b = torch.load(study / "cut" / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_attribute_writes_ranking_and_matrix(study):
    run = study / "run"
    assert invoke([*base_args(study), "--epochs", "30", "--lr", "0.01", "-o",
                   str(run)]).exit_code == 0
    out = study / "attr"
    res = invoke(["attribute", str(run), "--expression", str(study / "expr.tsv"),
                  "--n-samples", "50", "--threads", "1", "--device", "cpu", "-o", str(out)])
    assert res.exit_code == 0, res.output
    ranking = pd.read_csv(out / "ranking.tsv", sep="\t")
    assert list(ranking.columns) == ["feature", "mean_abs_attribution", "rank"]
    assert list(ranking["rank"]) == list(range(1, 11))
    assert set(ranking["feature"].head(4)) == {"G0", "G1", "G2", "G3"}  # the true drivers
    attributions = pd.read_csv(out / "attributions.tsv", sep="\t", index_col=0)
    splits = pd.read_csv(run / "splits.tsv", sep="\t")
    assert sorted(attributions.index) == sorted(splits.loc[splits["split"] == "test", "sample"])
    np.testing.assert_allclose(attributions.abs().mean().sort_values(ascending=False).to_numpy(),
                               ranking["mean_abs_attribution"].to_numpy(), rtol=1e-5)
    completeness = json.loads((out / "completeness.json").read_text())
    assert completeness["n_samples"] == len(attributions)
    assert completeness["relative_residual"] < 0.5


def test_compare_pairs_runs_by_seed(study):
    runs = []
    for seed in range(3):
        for name, extra in (("base", []), ("graph", ["--graph", str(study / "graph.npz"),
                                                     "--prior", "graph", "--lambda", "1"])):
            out = study / "runs" / name / f"seed{seed}"
            assert invoke([*base_args(study), *extra, "--seed", str(seed), "-o",
                           str(out)]).exit_code == 0
            runs.append(str(out))
    out = study / "cmp"
    res = invoke(["compare", *runs, "--metric", "test_r2", "--metric", "test_graph_penalty_eg",
                  "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert {p.name for p in out.iterdir()} == {"comparison.tsv", "paired_tests.tsv",
                                               "comparison.png", "runs.tsv"}
    tests = pd.read_csv(out / "paired_tests.tsv", sep="\t")
    row = tests[tests["metric"] == "test_r2"].iloc[0]
    assert row["n_pairs"] == 3
    assert {row["method_a"], row["method_b"]} == {"baseline", "graph-eg(graph)-lambda=1"}
    metrics = {r: json.loads((study / "runs" / r.split("/")[-2] / r.split("/")[-1] /
                              "metrics.json").read_text())["test_r2"] for r in runs}
    a = [metrics[r] for r in runs if f"/{'base' if row['method_a'] == 'baseline' else 'graph'}/" in r]
    b = [metrics[r] for r in runs if f"/{'graph' if row['method_a'] == 'baseline' else 'base'}/" in r]
    assert row["t_pvalue"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert row["wilcoxon_pvalue"] == pytest.approx(stats.wilcoxon(a, b).pvalue)
    summary = pd.read_csv(out / "comparison.tsv", sep="\t")
    base = summary[(summary["method"] == "baseline") & (summary["metric"] == "test_r2")].iloc[0]
    base_values = [metrics[r] for r in runs if "/base/" in r]
    assert base["mean"] == pytest.approx(np.mean(base_values))
    assert base["sem"] == pytest.approx(stats.sem(base_values))
    by_dir = invoke(["compare", *runs, "--method-name-from", "dirname", "--metric", "test_r2",
                     "-o", str(study / "cmp2")])
    assert by_dir.exit_code == 0
    assert set(pd.read_csv(study / "cmp2" / "comparison.tsv", sep="\t")["method"]) == {"base",
                                                                                    "graph"}


def test_dapr_prior_and_parameter_penalty(study):
    genes = [f"G{j}" for j in range(10)]
    pd.DataFrame({"gene": genes, "m1": np.arange(10.0), "m2": np.r_[np.ones(4), np.zeros(6)]}
                 ).to_csv(study / "meta.tsv", sep="\t", index=False)
    out = study / "dapr"
    res = invoke([*base_args(study), "--prior", "dapr", "--meta-features",
                  str(study / "meta.tsv"), "--lambda", "1", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "prior.pt").is_file()
    assert torch.load(out / "prior.pt", weights_only=True)  # g's weights
    assert json.loads((out / "metrics.json").read_text())["test_prior_eg"] >= 0
    norms = {}
    for lam in ("0", "1"):
        run = study / f"pp{lam}"
        extra = ["--param-penalty", "l1", "--param-penalty-lambda", "1"] if lam == "1" else []
        assert invoke([*base_args(study), *extra, "--epochs", "10", "--lr", "0.01", "-o",
                       str(run)]).exit_code == 0
        norms[lam] = torch.load(run / "model.pt", weights_only=True)["0.weight"].abs().sum()
    assert norms["1"] < 0.8 * norms["0"]
    # compare lists g's fit for the DAPr run by default, beside the shared test_* metrics
    metrics = json.loads((out / "metrics.json").read_text())
    assert -1 <= metrics["dapr_g_spearman"] <= 1 and metrics["dapr_g_refit_steps"] > 0
    res = invoke(["compare", str(out), str(study / "pp0"), "-o", str(study / "cmp_dapr")])
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(study / "cmp_dapr" / "comparison.tsv", sep="\t")
    assert {"dapr_g_spearman", "test_r2"} <= set(summary["metric"])
    row = summary[(summary["metric"] == "dapr_g_spearman") & (summary["n"] == 1)]
    assert row["mean"].iloc[0] == pytest.approx(metrics["dapr_g_spearman"])


def test_train_as_a_subprocess(study):
    out = study / "sub"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", *base_args(study), "--epochs", "2",
                           "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (out / "COMPLETE").is_file()
    bad = subprocess.run([sys.executable, "-m", "aprior_cli", *base_args(study), "--prior",
                          "graph", "--lambda", "1", "-o", str(study / "bad")],
                         capture_output=True, text=True)
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines() == ["Error: --prior graph needs --graph (an .npz "
                                               "from aprior graph)"]
    assert not (study / "bad").exists() and not (study / "bad.partial").exists()


def _corrupt(study, what):
    d = study
    args = base_args(d)
    if what == "unknown_samples":
        labels = pd.read_csv(d / "labels.tsv", sep="\t")
        labels.loc[0, "sample"] = "NOPE"
        labels.to_csv(d / "labels.tsv", sep="\t", index=False)
        return args, "not in"
    if what == "nan_features":
        expr = pd.read_csv(d / "expr.tsv", sep="\t", index_col=0)
        expr.iloc[3, 2] = np.nan
        expr.to_csv(d / "expr.tsv", sep="\t")
        return args, "missing or infinite"
    if what == "non_numeric_target":
        labels = pd.read_csv(d / "labels.tsv", sep="\t")
        labels["target"] = labels["target"].astype(object)
        labels.loc[5, "target"] = "high"
        labels.to_csv(d / "labels.tsv", sep="\t", index=False)
        return args, "must be numeric"
    if what == "graph_features_not_in_data":
        genes = [f"X{j}" for j in range(3)]
        w = sp.csr_matrix(np.ones((3, 3)) - np.eye(3))
        save_graph(d / "other.npz", GeneGraph(genes, w, sp.csr_matrix(2 * np.eye(3)) - w, False))
        return [*args, "--prior", "graph", "--lambda", "1", "--graph",
                str(d / "other.npz")], "graph feature"
    if what == "missing_config_key":
        return ["train", "--labels", str(d / "labels.tsv"), *SMALL], "missing required key"
    if what == "unknown_config_key":
        (d / "c.yaml").write_text("lamda: 1\n")
        return [*args, "--config", str(d / "c.yaml")], "unknown key 'lamda'"
    if what == "unknown_prior_yaml":
        (d / "c.yaml").write_text("prior: banana\n")
        return [*args, "--config", str(d / "c.yaml")], "unknown value 'banana'"
    if what == "unknown_prior_option":
        return [*args, "--prior", "banana"], "banana"
    if what == "missing_file":
        return ["train", "--expression", str(d / "nope.tsv"), "--labels",
                str(d / "labels.tsv"), *SMALL], "file not found"
    raise AssertionError(what)


@pytest.mark.parametrize("what", ["unknown_samples", "nan_features", "non_numeric_target",
                                  "graph_features_not_in_data", "missing_config_key",
                                  "unknown_config_key", "unknown_prior_yaml",
                                  "unknown_prior_option", "missing_file"])
def test_bad_inputs_fail_with_one_line_and_no_run_dir(study, what):
    args, message = _corrupt(study, what)
    out = study / "run"
    res = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert res.exit_code != 0
    lines = [line for line in res.output.strip().splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and message in lines[0], res.output
    assert not out.exists() and not (study / "run.partial").exists()


def test_existing_run_needs_overwrite_and_divergence_keeps_partial(study):
    out = study / "run"
    assert invoke([*base_args(study), "-o", str(out)]).exit_code == 0
    again = CliRunner().invoke(cli, [*base_args(study), "-o", str(out)])
    assert again.exit_code != 0 and "--overwrite" in again.output
    assert invoke([*base_args(study), "--overwrite", "--epochs", "1", "-o",
                   str(out)]).exit_code == 0
    assert len(pd.read_csv(out / "history.tsv", sep="\t")) == 1
    res = CliRunner().invoke(cli, [*base_args(study), "--lr", "1e30", "-o",
                                   str(study / "boom")])
    assert res.exit_code != 0 and "diverged" in res.output
    assert not (study / "boom").exists()
    assert not (study / "boom.partial" / "COMPLETE").exists()


def test_attribute_bad_inputs(study):
    run = study / "run"
    assert invoke([*base_args(study), "--covariates", "site", "-o", str(run)]).exit_code == 0
    res = CliRunner().invoke(cli, ["attribute", str(run), "--expression",
                                   str(study / "expr.tsv"), "-o", str(study / "a")])
    assert res.exit_code != 0 and "give --labels" in res.output
    assert not (study / "a").exists()
    res = CliRunner().invoke(cli, ["attribute", str(study / "nope"), "--expression",
                                   str(study / "expr.tsv"), "-o", str(study / "a")])
    assert res.exit_code != 0 and "run directory not found" in res.output
    (run / "COMPLETE").unlink()
    res = CliRunner().invoke(cli, ["attribute", str(run), "--expression",
                                   str(study / "expr.tsv"), "-o", str(study / "a")])
    assert res.exit_code != 0 and "not a finished run" in res.output


def test_attribute_multiclass_uses_true_class_or_named_class(study):
    labels = pd.read_csv(study / "labels.tsv", sep="\t")
    labels["target"] = np.where(labels["target"] > 1, "hi", np.where(labels["target"] < -1,
                                                                      "lo", "mid"))
    labels.to_csv(study / "mc.tsv", sep="\t", index=False)
    run = study / "mc"
    assert invoke(["train", "--expression", str(study / "expr.tsv"), "--labels",
                   str(study / "mc.tsv"), *SMALL, "--task", "multiclass", "--split",
                   "stratified", "-o", str(run)]).exit_code == 0
    assert json.loads((run / "model.json").read_text())["classes"] == ["hi", "lo", "mid"]
    no_labels = CliRunner().invoke(cli, ["attribute", str(run), "--expression",
                                         str(study / "expr.tsv"), "-o", str(study / "a")])
    assert no_labels.exit_code != 0 and "--target CLASS" in no_labels.output
    for extra, name in ((["--labels", str(study / "mc.tsv")], "true"),
                        (["--target", "hi", "--split", "all", "--references", "all"], "hi")):
        res = invoke(["attribute", str(run), "--expression", str(study / "expr.tsv"), *extra,
                      "--n-samples", "20", "-o", str(study / name)])
        assert res.exit_code == 0, res.output
    assert len(pd.read_csv(study / "hi" / "attributions.tsv", sep="\t")) == 60
    bad = CliRunner().invoke(cli, ["attribute", str(run), "--expression",
                                   str(study / "expr.tsv"), "--target", "zzz", "-o",
                                   str(study / "b")])
    assert bad.exit_code != 0 and "not a class" in bad.output and not (study / "b").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--warmup-epochs", "4"], "--warmup-epochs (4) must be < --epochs (4)"),
    (["--warmup-epochs", "-1"], "'--warmup-epochs': -1 is not in the range x>=0"),
    (["--batch-norm-mode", "running"], "'running' is not one of"),
    (["--fine-tune-lr", "-0.1"], "'--fine-tune-lr': -0.1 is not in the range [0, inf)"),
    (["--dapr-lr", "-1"], "'--dapr-lr': -1 is not in the range [0, inf)"),
    (["--dapr-refit-steps", "-5"], "'--dapr-refit-steps': -5 is not in the range x>=0"),
    (["--dapr-refit-steps", "2.5"], "'2.5' is not a valid integer"),
    (["--prior-lr", "0.01"], "'prior_lr' was split into fine_tune_lr (--fine-tune-lr) and"),
])
def test_bad_protocol_options_fail_with_one_line_and_no_run_dir(study, extra, message):
    out = study / "run"
    res = CliRunner().invoke(cli, [*base_args(study), *extra, "-o", str(out)])
    assert res.exit_code != 0
    lines = [line for line in res.output.strip().splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and message in lines[0], res.output
    assert not out.exists() and not (study / "run.partial").exists()


def test_old_prior_lr_yaml_key_fails_as_a_subprocess(study):
    (study / "old.yaml").write_text("prior_lr: 0.01\n")
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", *base_args(study), "--config",
                           str(study / "old.yaml"), "-o", str(study / "old")],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and (
        "key 'prior_lr' was split into fine_tune_lr (--fine-tune-lr) and dapr_lr" in lines[0])
    assert not (study / "old").exists() and not (study / "old.partial").exists()
