"""The trainer: priors change attributions as intended, resume is exact, divergence stops."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from torch import nn

from aprior_cli.errors import TrainingDivergedError
from aprior_cli.graph import GeneGraph
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


def test_graph_prior_lowers_test_graph_penalty_10x():
    expr, labels, graph = planted_module()
    _, base = run(expr, labels, graph, prior="graph", **{"lambda": 0.0})
    _, prior = run(expr, labels, graph, prior="graph", **{"lambda": 10.0})
    ratio = base.metrics["test_graph_penalty_eg"] / prior.metrics["test_graph_penalty_eg"]
    assert ratio >= 10, ratio
    assert prior.metrics["test_r2"] >= base.metrics["test_r2"] - 0.05
    assert prior.metrics["test_r2"] > 0.8
    # the gradient-version penalty is reported too and also falls
    assert prior.metrics["test_graph_penalty_grad"] < base.metrics["test_graph_penalty_grad"]


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


def test_auto_lambda_matches_task_loss_on_first_batch():
    from aprior_cli.attribution import attribution_mode, training_attributions

    expr, labels, graph = planted_module(n=120)
    prep = prepare(cfg_for(prior="graph", **{"lambda": "auto"}), expr, labels, graph=graph)
    trainer = _fresh_trainer(prep)
    lam = trainer.state["lambda"]
    # recompute independently from the same initial weights
    fresh = _fresh_trainer(prepare(cfg_for(prior="graph", **{"lambda": 1.0}), expr, labels,
                                   graph=graph))
    xb, yb = fresh.x_train[:32], fresh.y_train[:32]
    with attribution_mode(fresh.model):
        loss = float(get_task("regression").loss(fresh.model(xb), yb).detach())
        phi = training_attributions(fresh.model, xb, method="eg", k=1,
                                    generator=torch.Generator().manual_seed(2))
        omega = float(prep.prior(phi).detach())
    assert lam * omega == pytest.approx(loss, rel=1e-5)


def test_early_stopping_keeps_best_weights():
    expr, labels, _ = planted_module(n=120)
    prep = prepare(cfg_for(epochs=20, patience=2), expr, labels)
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
    prep = prepare(cfg_for(epochs=5), expr, labels)
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
