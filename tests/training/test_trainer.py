"""The trainer: priors change attributions as intended, resume is exact, divergence stops."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from torch import nn

from aprior_cli.errors import TrainingDivergedError
from aprior_cli.graph import GeneGraph
from aprior_cli.training.auto_lambda import AUTO_FRACTION
from aprior_cli.training.config import resolve
from aprior_cli.training.run import execute, prepare, tensors
from aprior_cli.training.tasks import get_task
from aprior_cli.training.trainer import Trainer

CPU = torch.device("cpu")


def planted_module(n: int = 240, p: int = 20, m: int = 5, seed: int = 0):
    """Target driven by a latent factor that the first ``m`` genes (a graph clique) share.

    Without a prior the network may use the module genes unevenly; the graph prior should
    spread the attribution evenly over the clique (and over the chain of noise genes).
    """
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x = rng.normal(size=(n, p))
    x[:, :m] = z[:, None] + 0.5 * rng.normal(size=(n, m))
    y = z + 0.1 * rng.normal(size=n)
    genes = [f"g{j}" for j in range(p)]
    w = np.zeros((p, p))
    w[:m, :m] = 1 - np.eye(m)
    for a in range(m, p - 1):
        w[a, a + 1] = w[a + 1, a] = 1
    graph = GeneGraph(features=genes, adjacency=sp.csr_matrix(w),
                      laplacian=sp.csr_matrix(np.diag(w.sum(1)) - w), normalized=False)
    expr = pd.DataFrame(x, index=[f"s{i}" for i in range(n)], columns=genes)
    return expr, pd.DataFrame({"sample": expr.index, "target": y}), graph


def cfg_for(**over):
    base = {"expression": "expr.tsv", "labels": "labels.tsv", "hidden": "16", "epochs": 40,
            "batch_size": 32, "patience": 0, "lr": 0.01}
    base.update(over)
    if base.get("prior") == "graph":
        base.setdefault("graph", "graph.npz")
    return resolve(None, base)


def run(expr, labels, graph=None, **over):
    prep = prepare(cfg_for(**over), expr, labels, graph=graph)
    return prep, execute(prep, CPU, show_progress=False)


def test_graph_prior_makes_test_attributions_smoother_on_the_graph():
    expr, labels, graph = planted_module()
    _, base = run(expr, labels, graph, prior="graph", **{"lambda": 0.0})
    _, prior = run(expr, labels, graph, prior="graph", **{"lambda": 10.0})
    # the scale-free roughness phibar'L phibar / phibar'phibar: not lowered by mere shrinkage
    # (measured 0.085 -> 0.012 with the default 5-epoch warm-up)
    rough = base.metrics["test_graph_roughness_eg"] / prior.metrics["test_graph_roughness_eg"]
    assert rough >= 4, rough
    raw = base.metrics["test_graph_penalty_eg"] / prior.metrics["test_graph_penalty_eg"]
    assert raw >= 4, raw
    assert prior.metrics["test_r2"] >= base.metrics["test_r2"] - 0.05
    assert prior.metrics["test_r2"] > 0.8
    # the gradient versions are reported too and also fall
    assert prior.metrics["test_graph_penalty_grad"] < base.metrics["test_graph_penalty_grad"]
    assert (prior.metrics["test_graph_roughness_grad"]
            < base.metrics["test_graph_roughness_grad"])
    # (40 - 5 warm-up) epochs x 5 batches (144 training rows, batches of 32)
    assert prior.metrics["prior_steps"] == 35 * 5
    assert base.metrics["prior_steps"] == 0


def test_sparsity_prior_raises_gini():
    expr, labels, _ = planted_module(seed=1)
    _, base = run(expr, labels, prior="gini", **{"lambda": 0.0})
    _, sparse = run(expr, labels, prior="gini", **{"lambda": 1.0})
    assert sparse.metrics["test_gini_eg"] > base.metrics["test_gini_eg"] + 0.1
    assert sparse.metrics["test_prior_eg"] < base.metrics["test_prior_eg"]  # -Gini lower
    assert sparse.metrics["test_r2"] > 0.7


def _fresh_trainer(prep, checkpoint=None, hook=None):
    from aprior_cli.training.rng import seed_everything
    from aprior_cli.training.run import build_model

    seed_everything(prep.cfg.seed)
    model = build_model(prep)
    xt, yt = tensors(prep, "train", CPU)
    xv, yv = tensors(prep, "val", CPU)
    return Trainer(model, prep.task, prep.cfg, xt, yt, xv, yv, prior=prep.prior,
                   checkpoint_path=checkpoint, on_epoch_end=hook, show_progress=False)


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("over", [
    {"prior": "graph", "lambda": 1.0, "dropout": 0.2, "k": 2},
    {"prior": "graph", "lambda": "auto", "schedule": "fine-tune", "fine_tune_epochs": 3,
     "patience": 2, "optimizer": "sgd"},
])
def test_resume_is_bit_identical(tmp_path, over):
    expr, labels, graph = planted_module(n=120)
    over = {"epochs": 6, **over}
    prep = prepare(cfg_for(**over), expr, labels, graph=graph)
    full = _fresh_trainer(prep)
    full.fit()

    def stop_at_3(epoch):
        if epoch == 3:
            raise Interrupt

    ckpt = tmp_path / "checkpoint.pt"
    first = _fresh_trainer(prep, ckpt, stop_at_3)
    with pytest.raises(Interrupt):
        first.fit()
    resumed = _fresh_trainer(prep, ckpt)
    resumed.load_checkpoint(ckpt)
    assert resumed.state["epoch"] == 3
    resumed.fit()
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values(),
                         strict=True):
        assert torch.equal(a, b), k
    assert [h["train_loss"] for h in full.state["history"]] == \
        [h["train_loss"] for h in resumed.state["history"]]


def test_fine_tune_schedule_phases():
    expr, labels, graph = planted_module(n=120)
    _, res = run(expr, labels, graph, prior="graph", schedule="fine-tune", fine_tune_epochs=3,
                 epochs=5, **{"lambda": 1.0})
    phases = [h["phase"] for h in res.fit.history]
    assert phases == ["plain"] * 5 + ["fine-tune"] * 3
    assert all(math.isnan(h["train_prior"]) for h in res.fit.history[:5])
    assert all(h["train_prior"] > 0 for h in res.fit.history[5:])
    assert res.fit.best_epoch == 8


def test_auto_lambda_is_calibrated_on_the_model_after_the_warm_up():
    from aprior_cli.attribution import attribution_mode, training_attributions

    expr, labels, graph = planted_module(n=120)
    prep = prepare(cfg_for(prior="graph", warmup_epochs=2, epochs=4, batch_size=16,
                           **{"lambda": "auto"}), expr, labels, graph=graph)
    seen = {}

    def at_epoch(epoch):
        if epoch == 2:  # the warm-up is over; lambda was calibrated on this very model
            seen["lambda"] = trainer.state["lambda"]
            seen["model"] = copy.deepcopy(trainer.model)

    trainer = _fresh_trainer(prep, hook=at_epoch)
    assert trainer.state["lambda"] is None  # not on the initial model
    trainer.fit()
    # recompute independently: fraction x mean task loss / mean prior, first 8 batches of 16
    model, x, y = seen["model"], trainer.x_train, trainer.y_train
    gen = torch.Generator().manual_seed(prep.cfg.seed + 2)
    losses, omegas = [], []
    for start in range(0, min(x.shape[0], 8 * 16), 16):
        xb, yb = x[start:start + 16], y[start:start + 16]
        with attribution_mode(model):
            losses.append(float(get_task("regression").loss(model(xb), yb).detach()))
        phi = training_attributions(model, xb, method="eg", k=1, generator=gen)
        omegas.append(float(prep.prior(phi).detach()))
    assert len(losses) == 5  # 72 training rows: 4 full batches and one of 8
    assert seen["lambda"] == pytest.approx(AUTO_FRACTION * np.mean(losses) / np.mean(omegas),
                                           rel=1e-5)
    history = trainer.state["history"]
    assert [h["phase"] for h in history] == ["warmup", "warmup", "joint", "joint"]
    assert [h["lambda"] for h in history] == [0.0, 0.0, seen["lambda"], seen["lambda"]]
    assert all(math.isnan(h["train_prior"]) for h in history[:2])


def _fake_epochs(trainer, val_losses):
    """Replace the trainer's epochs: weights filled with the epoch number, given val losses."""
    val_losses = iter(val_losses)

    def fake_epoch():
        epoch = trainer.state["epoch"] + 1
        with torch.no_grad():
            for p in trainer.model.parameters():
                p.fill_(float(epoch))
        return {"epoch": epoch, "phase": "plain", "train_loss": 1.0,
                "train_prior": float("nan"), "val_loss": next(val_losses)}

    trainer._run_epoch = fake_epoch


@pytest.mark.parametrize(("warmup", "patience", "val_losses", "n_epochs", "kept", "early"), [
    (0, 2, [3.0, 2.0, 1.0, 1.5, 2.5, 0.5], 5, 3, True),
    # the warm-up's epochs are neither kept (epoch 1 was best) nor counted for patience
    (2, 2, [0.1, 0.2, 3.0, 2.0, 1.0, 1.5, 2.5], 7, 5, True),
    # patience 0: no early stopping, the last epoch is kept even though epoch 1 was best
    (0, 0, [0.5, 1.0, 2.0, 3.0, 4.0, 5.0], 6, 6, False),
])
def test_early_stopping_keeps_the_right_epoch(warmup, patience, val_losses, n_epochs, kept,
                                              early):
    expr, labels, _ = planted_module(n=120)
    prep = prepare(cfg_for(epochs=6 if not early else 20, patience=patience,
                           warmup_epochs=warmup), expr, labels)
    trainer = _fresh_trainer(prep)
    _fake_epochs(trainer, val_losses)
    result = trainer.fit()
    assert len(result.history) == n_epochs and result.stopped_early is early
    assert result.best_epoch == kept
    assert all(torch.all(p == float(kept)) for p in trainer.model.parameters())


def test_early_stopping_keeps_best_weights():
    expr, labels, _ = planted_module(n=120)
    prep = prepare(cfg_for(epochs=20, patience=2, warmup_epochs=0), expr, labels)
    trainer = _fresh_trainer(prep)
    val_losses = iter([3.0, 2.0, 1.0, 1.5, 2.5, 0.5])

    def fake_epoch():
        epoch = trainer.state["epoch"] + 1
        with torch.no_grad():
            for p in trainer.model.parameters():
                p.fill_(float(epoch))
        return {"epoch": epoch, "phase": "plain", "train_loss": 1.0,
                "train_prior": float("nan"), "val_loss": next(val_losses)}

    trainer._run_epoch = fake_epoch
    result = trainer.fit()
    assert len(result.history) == 5 and result.stopped_early and result.best_epoch == 3
    assert all(torch.all(p == 3.0) for p in trainer.model.parameters())


def test_divergence_stops_with_clear_message_and_keeps_checkpoint(tmp_path):
    expr, labels, _ = planted_module(n=120)
    prep = prepare(cfg_for(epochs=5, warmup_epochs=0), expr, labels)
    calls = {"n": 0}

    def exploding(phi):
        calls["n"] += 1
        return phi.abs().mean() * (float("nan") if calls["n"] > 5 else 1.0)

    prep.prior = exploding
    prep.cfg.lambda_ = 1.0
    ckpt = tmp_path / "checkpoint.pt"
    trainer = _fresh_trainer(prep, ckpt)
    with pytest.raises(TrainingDivergedError, match=r"loss is NaN at epoch 2.*epoch 1"):
        trainer.fit()
    saved = torch.load(ckpt, weights_only=True)
    assert saved["state"]["epoch"] == 1


class ScalePrior(nn.Module):
    """A learnable prior: penalty pulls |phi| towards a learnable scale."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.0))

    def forward(self, phi):
        return ((phi.abs().mean(0) - self.scale) ** 2).mean()


@pytest.mark.parametrize("update", ["joint", "alternating"])
def test_learnable_prior_gets_its_own_optimizer(update):
    expr, labels, _ = planted_module(n=120)
    prep = prepare(cfg_for(epochs=3, prior_update=update), expr, labels)
    prep.prior = ScalePrior()
    prep.cfg.lambda_ = 1.0
    trainer = _fresh_trainer(prep)
    assert trainer.learnable_optimizer is not None
    trainer.fit()
    assert float(prep.prior.scale.detach()) > 0.0  # moved towards the positive mean |phi|
    assert "learnable_prior" in trainer.checkpoint()["optimizers"]


def test_multiclass_and_binary_train():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 6))
    cls = np.argmax(x[:, :3], axis=1)
    expr = pd.DataFrame(x, index=[f"s{i}" for i in range(150)],
                        columns=[f"g{j}" for j in range(6)])
    labels = pd.DataFrame({"sample": expr.index, "target": np.array(["a", "b", "c"])[cls]})
    prep, res = run(expr, labels, task="multiclass", prior="gini", split="stratified",
                    **{"lambda": 0.1})
    assert prep.n_outputs == 3 and res.metrics["test_accuracy"] > 0.7
    labels2 = labels.assign(target=(cls == 0).astype(int))
    _, res2 = run(expr, labels2, task="binary", split="stratified")
    assert res2.metrics["test_auc"] > 0.85


def test_divergent_attributions_message_is_grammatical():
    expr, labels, graph = planted_module(n=120)
    prep = prepare(cfg_for(prior="graph", epochs=2, warmup_epochs=0, **{"lambda": 1.0}), expr,
                   labels, graph=graph)
    trainer = _fresh_trainer(prep)
    real = trainer._attributions

    def infinite(xb, yb, return_output):
        phi, out = real(xb, yb, return_output=True)
        return phi * float("inf"), out

    trainer._attributions = infinite
    with pytest.raises(TrainingDivergedError, match=r"the attributions contain Inf at epoch 1"):
        trainer.fit()


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batch_norm_mode_reaches_the_training_attributions(mode, monkeypatch):
    import aprior_cli.attribution as attribution

    seen = []
    real = attribution.training_attributions

    def spy(*args, **kwargs):
        seen.append(kwargs["batch_norm"])
        return real(*args, **kwargs)

    monkeypatch.setattr(attribution, "training_attributions", spy)
    expr, labels, graph = planted_module(n=120)
    run(expr, labels, graph, prior="graph", batch_norm=True, batch_norm_mode=mode, epochs=2,
        warmup_epochs=0, **{"lambda": 1.0})
    assert seen and set(seen) == {mode}
