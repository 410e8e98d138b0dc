"""A stop signal mid-epoch: the trainer checkpoints at the step boundary and a resumed run is
bit-identical to an uninterrupted one (joint with dropout, fine-tune phase, learnable prior);
a second signal during the checkpoint write does not corrupt it."""

from __future__ import annotations

import os
import signal

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from aprior_cli import interrupt
from aprior_cli.graph import GeneGraph
from aprior_cli.interrupt import Interrupted
from aprior_cli.training import checkpoint
from aprior_cli.training.config import resolve
from aprior_cli.training.rng import seed_everything
from aprior_cli.training.run import build_model, prepare, tensors
from aprior_cli.training.trainer import Trainer

CPU = torch.device("cpu")


def study(n: int = 100, p: int = 12, seed: int = 0):
    """Regression on a 4-gene clique; a chain graph over the other genes."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    y = x[:, :4].sum(1) + 0.1 * rng.normal(size=n)
    genes = [f"g{j}" for j in range(p)]
    w = np.zeros((p, p))
    w[:4, :4] = 1 - np.eye(4)
    for a in range(4, p - 1):
        w[a, a + 1] = w[a + 1, a] = 1
    graph = GeneGraph(genes, sp.csr_matrix(w), sp.csr_matrix(np.diag(w.sum(1)) - w), False)
    expr = pd.DataFrame(x, index=[f"s{i}" for i in range(n)], columns=genes)
    return expr, pd.DataFrame({"sample": expr.index, "target": y}), graph


def prepared(**over):
    expr, labels, graph = study()
    base = {"expression": "e.tsv", "labels": "l.tsv", "hidden": "8", "epochs": 4,
            "batch_size": 16, "patience": 0, "lr": 0.01, "prior": "graph", "graph": "g.npz",
            "lambda": 1.0}
    base.update(over)
    return prepare(resolve(None, base), expr, labels, graph=graph)


def trainer_for(prep, ckpt=None):
    seed_everything(prep.cfg.seed)
    model = build_model(prep)
    xt, yt = tensors(prep, "train", CPU)
    xv, yv = tensors(prep, "val", CPU)
    return Trainer(model, prep.task, prep.cfg, xt, yt, xv, yv, prior=prep.prior,
                   checkpoint_path=ckpt, show_progress=False)


def signal_at(monkeypatch, label, signum=signal.SIGTERM, extra=None):
    """Send ``signum`` to this process when the trainer reaches safe point ``label``."""
    real = interrupt.safe_point

    def point(name):
        real(name)
        if name == label:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(interrupt, "safe_point", point)


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


CASES = {
    "joint, dropout": ({"dropout": 0.2, "k": 2}, "epoch 2 step 2"),
    "fine-tune phase": ({"schedule": "fine-tune", "fine_tune_epochs": 3, "optimizer": "sgd",
                         "lambda": "auto"}, "epoch 6 step 1"),
    "batch norm, first step": ({"batch_norm": True}, "epoch 1 step 1"),
}


@pytest.mark.parametrize("case", CASES)
def test_mid_epoch_stop_resumes_bit_identically(tmp_path, monkeypatch, case):
    over, label = CASES[case]
    full = trainer_for(prepared(**over))
    full.fit()

    ckpt = tmp_path / "checkpoint.pt"
    signal_at(monkeypatch, label)
    first = trainer_for(prepared(**over), ckpt)
    with pytest.raises(Interrupted) as info, interrupt.handling():
        first.fit()
    epoch, step = (int(v) for v in label.split()[1::2])
    assert info.value.where == f"after epoch {epoch - 1}, step {step} of epoch {epoch}"
    assert info.value.exit_code == 75 and str(ckpt) in info.value.checkpoint
    saved = torch.load(ckpt, weights_only=True)
    assert saved["state"]["epoch"] == epoch - 1 and saved["state"]["in_epoch"]["done"] == step

    monkeypatch.undo()
    resumed = trainer_for(prepared(**over), ckpt)
    resumed.load_checkpoint(ckpt)
    resumed.fit()
    assert_same_weights(full.model, resumed.model)
    assert [h["train_loss"] for h in full.state["history"]] == \
        [h["train_loss"] for h in resumed.state["history"]]
    assert [h["phase"] for h in resumed.state["history"]] == \
        [h["phase"] for h in full.state["history"]]


def test_a_signal_at_the_last_step_of_an_epoch_stops_after_the_epoch(tmp_path, monkeypatch):
    prep = prepared()
    n_batches = len(trainer_for(prep)._batches())
    signal_at(monkeypatch, f"epoch 1 step {n_batches}", signal.SIGINT)
    first = trainer_for(prep, tmp_path / "c.pt")
    with pytest.raises(Interrupted) as info, interrupt.handling():
        first.fit()
    assert info.value.where == "after epoch 1" and info.value.exit_code == 130
    assert torch.load(tmp_path / "c.pt", weights_only=True)["state"].get("in_epoch") is None


def test_learnable_prior_resumes_mid_epoch(tmp_path, monkeypatch):
    from torch import nn

    class ScalePrior(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.tensor(0.0))

        def forward(self, phi):
            return ((phi.abs().mean(0) - self.scale) ** 2).mean()

    def with_prior():
        prep = prepared(prior="none", **{"lambda": 0.0})
        prep.prior, prep.cfg.lambda_ = ScalePrior(), 1.0
        return prep

    p_full = with_prior()
    full = trainer_for(p_full)
    full.fit()
    signal_at(monkeypatch, "epoch 3 step 1", signal.SIGUSR1)
    p_first = with_prior()
    with pytest.raises(Interrupted), interrupt.handling():
        trainer_for(p_first, tmp_path / "c.pt").fit()
    monkeypatch.undo()
    p_resumed = with_prior()
    resumed = trainer_for(p_resumed, tmp_path / "c.pt")
    resumed.load_checkpoint(tmp_path / "c.pt")
    resumed.fit()
    assert_same_weights(full.model, resumed.model)
    assert torch.equal(p_full.prior.scale, p_resumed.prior.scale)


def test_second_signal_during_the_checkpoint_write_does_not_corrupt_it(tmp_path, monkeypatch):
    prep = prepared(dropout=0.1)
    full = trainer_for(prep)
    full.fit()
    signal_at(monkeypatch, "epoch 2 step 1")
    real_save = torch.save
    writes = []

    def save_with_signals(obj, path, *a, **kw):  # SIGTERM, then SIGINT, mid-write
        os.kill(os.getpid(), signal.SIGTERM)
        with open(path, "wb") as fh:
            fh.write(b"partial")
            os.kill(os.getpid(), signal.SIGINT)
        real_save(obj, path, *a, **kw)
        writes.append(path)

    monkeypatch.setattr(checkpoint.torch, "save", save_with_signals)
    ckpt = tmp_path / "checkpoint.pt"
    with pytest.raises(Interrupted) as info, interrupt.handling():
        trainer_for(prep, ckpt).fit()
    assert info.value.signum == signal.SIGTERM  # the first signal is the one reported
    assert writes  # every write ran to its end
    monkeypatch.undo()
    resumed = trainer_for(prep, ckpt)
    resumed.load_checkpoint(ckpt)
    resumed.fit()
    assert_same_weights(full.model, resumed.model)
    assert not list(tmp_path.glob(".checkpoint.pt.*"))  # no temp file left behind
