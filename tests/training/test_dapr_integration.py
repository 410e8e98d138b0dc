"""``aprior train --prior dapr`` end to end: options reach g, the run directory explains g,
the best epoch's g is the one kept, and resume restores g and its optimiser exactly."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from click.testing import CliRunner

import aprior_cli.cli.train as train_cli
from aprior_cli.cli.main import cli
from aprior_cli.dapr import DAPrPrior, build_dapr_prior
from aprior_cli.io.dapr_outputs import DAPR_FILES
from aprior_cli.training.config import resolve
from aprior_cli.training.optim import LEARNABLE_PRIOR_LR_FACTOR
from aprior_cli.training.run import execute, prepare
from aprior_cli.training.trainer import Trainer

CPU = torch.device("cpu")
META = ["mutation_frequency", "cnv_frequency", "hubness", "noise_1", "noise_2"]
SMALL = ["--hidden", "8", "--epochs", "4", "--batch-size", "16", "--eval-n-samples", "10",
         "--device", "cpu", "--threads", "1", "--lambda", "1"]


def invoke(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    """``aprior simulate`` (60 samples x 120 genes) + ``aprior preprocess`` (110 genes kept);
    the meta-feature table lacks 10 of the expression genes."""
    d = tmp_path_factory.mktemp("dapr_study")
    assert invoke(["simulate", "-o", str(d), "--n-samples", "60", "--n-genes", "120",
                   "--n-modules", "3", "--module-size", "10", "--seed", "0", "-q"]).exit_code == 0
    assert invoke(["preprocess", str(d / "counts.tsv"), "--genes-as-rows", "--lengths",
                   str(d / "gene_lengths.tsv"), "--annotation", str(d / "gene_annotation.tsv"),
                   "-o", str(d / "expr.tsv"), "-q"]).exit_code == 0
    genes = pd.read_csv(d / "expr.tsv", sep="\t", nrows=0).columns[1:].tolist()
    meta = pd.read_csv(d / "meta_features.tsv", sep="\t")
    assert list(meta.columns) == ["gene", *META]
    meta[~meta["gene"].isin(genes[:10])].to_csv(d / "meta.tsv", sep="\t", index=False)
    return d, genes


def train_args(d, *extra):
    return ["train", "--expression", str(d / "expr.tsv"), "--labels", str(d / "labels.tsv"),
            "--prior", "dapr", "--meta-features", str(d / "meta.tsv"), *SMALL, *extra]


def test_run_directory_holds_the_dapr_outputs(tiny_study, tmp_path):
    d, genes = tiny_study
    out = tmp_path / "run"
    res = invoke([*train_args(d, "--dapr-hidden", "4", "--patience", "0", "--val-fraction",
                               "0"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    names = {f.name for f in out.iterdir()}
    assert set(DAPR_FILES.values()) | {"prior.pt", "COMPLETE", "model.pt"} <= names
    assert not (tmp_path / "run.partial").exists()

    importance = pd.read_csv(out / DAPR_FILES["importance"], sep="\t")
    assert list(importance.columns) == ["gene", "g_M", "rank"]
    assert len(importance) == 100  # 110 genes, 10 without meta-features excluded
    assert set(importance["gene"]) == set(genes[10:])
    assert importance["rank"].tolist() == list(range(1, 101))
    assert importance["g_M"].is_monotonic_decreasing

    second = pd.read_csv(out / DAPR_FILES["second_order"], sep="\t")
    assert list(second.columns) == ["gene", "g_M", "rank", *META, "completeness_residual"]
    assert len(second) == 100
    pdp = pd.read_csv(out / DAPR_FILES["partial_dependence"], sep="\t")
    assert list(pdp.columns) == ["meta_feature", "value", "value_standardized",
                                 "partial_dependence"]
    assert set(pdp["meta_feature"]) == set(META)
    weights = pd.read_csv(out / DAPR_FILES["g_weights"], sep="\t")
    assert sorted(set(weights["parameter"])) == ["layers.0.bias", "layers.0.weight",
                                                 "layers.2.bias", "layers.2.weight"]
    assert len(weights) == 4 * 5 + 4 + 4 + 1  # g: 5 -> 4 -> 1
    for png in ("second_order_plot", "partial_dependence_plot"):
        assert (out / DAPR_FILES[png]).read_bytes()[:4] == b"\x89PNG"

    # the tables describe the saved g (prior.pt), not an initial or intermediate one
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["dapr_hidden"] == [4] and cfg["dapr_attribution"] == "abs"
    features = (out / "features.txt").read_text().split()
    g = build_dapr_prior(pd.read_csv(d / "meta.tsv", sep="\t"), features, hidden=(4,), seed=0)
    init = dict(zip(g.genes, g.predicted_importance().numpy(), strict=True))
    g.load_state_dict(torch.load(out / "prior.pt", weights_only=True))
    saved = dict(zip(g.genes, g.predicted_importance().numpy().astype(float), strict=True))
    np.testing.assert_allclose(importance["g_M"], [saved[x] for x in importance["gene"]],
                               rtol=1e-5, atol=1e-7)
    assert max(abs(saved[x] - init[x]) for x in saved) > 1e-3  # g was trained

    metrics = json.loads((out / "metrics.json").read_text())
    cov = metrics["prior_coverage"]
    assert cov["n_matched"] == 100 and cov["n_unmatched"] == 10 and cov["n_penalised"] == 100
    assert cov["policy"] == "exclude" and cov["meta_features"] == META
    assert set(cov["unmatched_examples"]) == set(genes[:10])


def _prep(d, **over):
    base = {"expression": "expr.tsv", "labels": "labels.tsv", "hidden": "8", "epochs": 3,
            "batch_size": 16, "prior": "dapr", "meta_features": "meta.tsv", "lambda": 1.0,
            "threads": 1, "device": "cpu"}
    base.update(over)
    expr = pd.read_csv(d / "expr.tsv", sep="\t", index_col=0)
    labels = pd.read_csv(d / "labels.tsv", sep="\t")
    meta = pd.read_csv(d / "meta.tsv", sep="\t")
    return prepare(resolve(None, base), expr, labels, meta_features=meta)


def test_options_reach_the_prior(tiny_study):
    d, genes = tiny_study
    linear = _prep(d).prior
    assert isinstance(linear, DAPrPrior) and linear.net.hidden == ()
    assert linear.attribution == "abs" and linear.meta.shape == (100, 5)
    mlp = _prep(d, dapr_hidden="6,3").prior
    shapes = [tuple(m.weight.shape) for m in mlp.net.layers if isinstance(m, torch.nn.Linear)]
    assert shapes == [(6, 5), (3, 6), (1, 3)]
    assert _prep(d, dapr_attribution="signed").prior.attribution == "signed"
    imputed = _prep(d, dapr_missing="impute-mean").prior
    assert imputed.meta.shape == (110, 5) and set(imputed.genes) == set(genes)
    assert torch.equal(imputed.meta[100:], torch.zeros(10, 5))  # mean after standardising
    noise = _prep(d, dapr_noise=True).prior
    assert noise.meta.shape == linear.meta.shape
    assert not torch.allclose(noise.meta, linear.meta)
    assert abs(float(torch.corrcoef(torch.stack([noise.meta[:, 0], linear.meta[:, 0]]))[0, 1])
               ) < 0.3
    assert torch.equal(_prep(d, dapr_noise=True).prior.meta, noise.meta)  # seeded
    assert not torch.equal(_prep(d, dapr_noise=True, seed=1).prior.meta, noise.meta)
    assert noise.coverage["noise_control"] is True


def test_learnable_prior_lr_default_and_override(tiny_study):
    d, _ = tiny_study
    prep = _prep(d, lr=2e-3)
    x = torch.zeros(4, len(prep.data.features))
    y = torch.zeros(4)

    def lrs(p):
        t = Trainer(torch.nn.Linear(x.shape[1], 1), p.task, p.cfg, x, y, x[:0], y[:0],
                    prior=p.prior, show_progress=False)
        return t.optimizer.param_groups[0]["lr"], t.learnable_optimizer.param_groups[0]["lr"]

    assert lrs(prep) == (2e-3, pytest.approx(LEARNABLE_PRIOR_LR_FACTOR * 2e-3))
    assert lrs(_prep(d, lr=2e-3, dapr_lr=5e-4)) == (2e-3, 5e-4)
    # --fine-tune-lr is the fine-tune phase's (one optimiser for its task and prior steps)
    ft = _prep(d, lr=2e-3, fine_tune_lr=3e-4, schedule="fine-tune", dapr_lr=5e-4)
    t = Trainer(torch.nn.Linear(x.shape[1], 1), ft.task, ft.cfg, x, y, x[:0], y[:0],
                prior=ft.prior, show_progress=False)
    assert t.optimizer.param_groups[0]["lr"] == 2e-3  # the plain phase
    t._new_optimizers(phase=1)
    assert t.optimizer.param_groups[0]["lr"] == 3e-4
    assert t.learnable_optimizer.param_groups[0]["lr"] == 5e-4


def test_the_old_prior_lr_key_is_refused_with_its_successors_and_old_runs_still_load():
    from aprior_cli.errors import UserInputError
    from aprior_cli.training.config import from_run_yaml, save_yaml

    with pytest.raises(UserInputError, match="'prior_lr' was split into fine_tune_lr"):
        resolve(None, {"expression": "e", "labels": "l", "prior_lr": 1e-3})
    old = yaml.safe_load(save_yaml(resolve(None, {"expression": "e", "labels": "l"})))
    for key in ("fine_tune_lr", "dapr_lr"):
        del old[key]
    old["prior_lr"] = 0.02  # a config.yaml written before the split
    cfg = from_run_yaml(yaml.safe_dump(old), "run/config.yaml")
    assert cfg.fine_tune_lr == 0.02 and cfg.dapr_lr == 0.02


def test_best_epoch_restores_g_too(tiny_study):
    d, _ = tiny_study
    # overfits: the best epoch is early; no refit, so g stays as it was at that epoch
    prep = _prep(d, epochs=12, patience=20, lr=0.05, warmup_epochs=0, dapr_refit_steps=0)
    states = {}

    def record(epoch):
        states[epoch] = {k: v.clone() for k, v in prep.prior.state_dict().items()}

    result = execute(prep, CPU, on_epoch_end=record, show_progress=False)
    best, last = result.fit.best_epoch, len(result.fit.history)
    assert best < last - 1
    # g kept moving after the best epoch (the last hook already sees the restored state) ...
    assert not torch.equal(states[best]["net.layers.0.weight"],
                           states[last - 1]["net.layers.0.weight"])
    # ... and ends as it was at the best epoch, like the model
    for k, v in prep.prior.state_dict().items():
        assert torch.equal(v, states[best][k]), k


@pytest.mark.parametrize("update", ["joint", "alternating"])
def test_resume_equals_uninterrupted_with_dapr(tiny_study, tmp_path, monkeypatch, update):
    d, _ = tiny_study
    args = train_args(d, "--dapr-hidden", "3", "--dapr-noise", "--prior-update", update,
                      "--epochs", "5", "--patience", "0", "--warmup-epochs", "1")
    assert invoke([*args, "-o", str(tmp_path / "full")]).exit_code == 0

    def interrupt(epoch):
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_cli, "_EPOCH_HOOK", interrupt)
    assert CliRunner().invoke(cli, [*args, "-o", str(tmp_path / "cut")]).exit_code != 0
    ckpt = torch.load(tmp_path / "cut.partial" / "checkpoint.pt", weights_only=True)
    assert "learnable_prior" in ckpt["optimizers"] and ckpt["optimizers"]["learnable_prior"][
        "state"]  # g's Adam moments are in the checkpoint
    monkeypatch.setattr(train_cli, "_EPOCH_HOOK", None)
    changed = CliRunner().invoke(cli, [*args, "--dapr-hidden", "4", "--resume", "-o",
                                       str(tmp_path / "cut")])
    assert changed.exit_code != 0 and "'dapr_hidden' differs" in changed.output
    assert invoke([*args, "--resume", "-o", str(tmp_path / "cut")]).exit_code == 0
    for name in ("model.pt", "prior.pt"):
        a = torch.load(tmp_path / "full" / name, weights_only=True)
        b = torch.load(tmp_path / "cut" / name, weights_only=True)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    for name in ("history.tsv", DAPR_FILES["importance"], DAPR_FILES["g_weights"]):
        a = pd.read_csv(tmp_path / "full" / name, sep="\t").drop(columns="seconds",
                                                                  errors="ignore")
        b = pd.read_csv(tmp_path / "cut" / name, sep="\t").drop(columns="seconds",
                                                                 errors="ignore")
        pd.testing.assert_frame_equal(a, b)


def _bad_meta(d, tmp_path, what):
    meta = pd.read_csv(d / "meta.tsv", sep="\t")
    path = tmp_path / "bad_meta.tsv"
    extra: list[str] = []
    if what == "no_overlap":
        meta["gene"] = "X" + meta["gene"]
        message = "none of its 110 gene ids match"
    elif what == "non_numeric":
        meta["hubness"] = meta["hubness"].astype(object)
        meta.loc[3, "hubness"] = "high"
        message = "column 'hubness' is not numeric"
    elif what == "nan":
        meta.loc[5, "cnv_frequency"] = np.nan
        message = "column 'cnv_frequency' has 1 missing/NaN/infinite"
    elif what == "gene_column_only":
        meta = meta[["gene"]]
        message = "needs a gene id column and at least one meta-feature column"
    elif what == "bad_hidden":
        extra, message = ["--dapr-hidden", "4,0"], "--dapr-hidden sizes must be >= 1"
    elif what == "bad_policy":
        extra, message = ["--dapr-missing", "drop"], "'drop' is not one of"
    else:
        raise AssertionError(what)
    meta.to_csv(path, sep="\t", index=False)
    args = train_args(d, *extra)
    args[args.index("--meta-features") + 1] = str(path)
    return args, message, path


@pytest.mark.parametrize("what", ["no_overlap", "non_numeric", "nan", "gene_column_only",
                                  "bad_hidden", "bad_policy"])
def test_bad_meta_features_fail_with_one_line_and_no_run_dir(tiny_study, tmp_path, what):
    d, _ = tiny_study
    args, message, path = _bad_meta(d, tmp_path, what)
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, [*args, "-o", str(out)])
    assert res.exit_code != 0
    lines = [line for line in res.output.strip().splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and message in lines[0], res.output
    if what not in ("bad_hidden", "bad_policy"):
        assert str(path) in lines[0]  # names the file
    assert not out.exists() and not (tmp_path / "run.partial").exists()


def test_bad_meta_features_as_a_subprocess(tiny_study, tmp_path):
    d, _ = tiny_study
    args, message, _ = _bad_meta(d, tmp_path, "no_overlap")
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", *args, "-o",
                           str(tmp_path / "run")], capture_output=True, text=True)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_yaml_keys(tiny_study, tmp_path):
    d, _ = tiny_study
    (tmp_path / "c.yaml").write_text("dapr_hidden: [5]\ndapr_missing: impute-mean\n"
                                     "dapr_attribution: phibar\ndapr_noise: true\n")
    out = tmp_path / "run"
    assert invoke([*train_args(d, "--epochs", "1"), "-c", str(tmp_path / "c.yaml"), "-o",
                   str(out)]).exit_code == 0
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert (cfg["dapr_hidden"], cfg["dapr_missing"], cfg["dapr_attribution"],
            cfg["dapr_noise"]) == ([5], "impute-mean", "phibar", True)
    assert len(pd.read_csv(out / DAPR_FILES["importance"], sep="\t")) == 110
    assert json.loads((out / "metrics.json").read_text())["prior_coverage"]["noise_control"]


def test_dapr_lr_help_states_the_factor():
    from aprior_cli.training.config import OPTIONS_BY_NAME

    assert f"{LEARNABLE_PRIOR_LR_FACTOR:g} x --lr" in OPTIONS_BY_NAME["dapr_lr"].help


def test_planted_negative_relation_is_reported_as_lowering_importance():
    """Drivers have LOW values of one meta-feature: after training (and g's refit on the kept
    model) the signed summary must say that meta-feature lowers predicted importance."""
    from aprior_cli.dapr.explain import second_order_attributions, second_order_summary

    rng = np.random.default_rng(0)
    n, p, drivers = 200, 40, np.arange(8)
    x = rng.normal(size=(n, p))
    y = x[:, drivers].sum(1) + 0.3 * rng.normal(size=n)
    genes = [f"G{j}" for j in range(p)]
    protective = np.where(np.isin(np.arange(p), drivers), -2.0, 0.0) + 0.3 * rng.normal(size=p)
    meta = pd.DataFrame({"gene": genes, "protective": protective, "noise": rng.normal(size=p)})
    expr = pd.DataFrame(x, index=[f"s{i}" for i in range(n)], columns=genes)
    labels = pd.DataFrame({"sample": expr.index, "target": y})
    cfg = resolve(None, {"expression": "e", "labels": "l", "prior": "dapr", "meta_features": "m",
                         "lambda": 1.0, "hidden": "16", "epochs": 30, "lr": 0.01,
                         "eval_n_samples": 30, "device": "cpu"})
    prep = prepare(cfg, expr, labels, meta_features=meta)
    result = execute(prep, CPU, show_progress=False)
    m = result.metrics
    assert m["dapr_g_refit_steps"] > 0 and m["dapr_g_refit_loss_after"] <= m[
        "dapr_g_refit_loss_before"]
    assert m["dapr_g_spearman"] > 0.3  # g ranks genes roughly as the final model does
    summary = second_order_summary(prep.prior, second_order_attributions(prep.prior)).set_index(
        "meta_feature")
    # measured: effect -0.10, Spearman with g -0.99, share 0.93; g's top 8 = the 8 drivers
    assert summary.loc["protective", "direction"] == "lowers"
    assert summary.loc["protective", "effect"] < 0
    assert summary.loc["protective", "spearman_with_g"] < -0.8
    assert summary.loc["protective", "share"] > 0.7  # the largest share, and it is negative
    top = pd.Series(prep.prior.predicted_importance().numpy(), index=prep.prior.genes)
    assert len(set(top.nlargest(8).index) & {f"G{j}" for j in drivers}) >= 6
