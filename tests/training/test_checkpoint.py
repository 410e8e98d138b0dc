"""Damaged-but-safe checkpoints end in one line naming the file, never a traceback, and leave
the trainer untouched; crafted pickles never execute (``weights_only=True``)."""

from __future__ import annotations

import copy
import os

import numpy as np
import pandas as pd
import pytest
import torch

from aprior_cli.errors import UserInputError
from aprior_cli.training import checkpoint
from aprior_cli.training.config import resolve
from aprior_cli.training.rng import seed_everything
from aprior_cli.training.run import build_model, prepare, tensors
from aprior_cli.training.trainer import Trainer

CPU = torch.device("cpu")


def make_trainer(hidden="8", ckpt=None, **over):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 6))
    expr = pd.DataFrame(x, index=[f"s{i}" for i in range(60)], columns=[f"g{j}" for j in range(6)])
    labels = pd.DataFrame({"sample": expr.index, "target": x[:, 0] + x[:, 1]})
    cfg = resolve(None, {"expression": "e.tsv", "labels": "l.tsv", "hidden": hidden,
                         "epochs": 2, "batch_size": 16, "prior": "gini", "lambda": 0.5, **over})
    prep = prepare(cfg, expr, labels)
    seed_everything(0)
    model = build_model(prep)
    xt, yt = tensors(prep, "train", CPU)
    xv, yv = tensors(prep, "val", CPU)
    return Trainer(model, prep.task, cfg, xt, yt, xv, yv, prior=prep.prior,
                   checkpoint_path=ckpt, show_progress=False)


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A real checkpoint after 2 epochs (a dict, as torch.load returns it)."""
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    make_trainer(ckpt=path).fit()
    return torch.load(path, weights_only=True)


def damaged(ckpt, what):
    c = copy.deepcopy(ckpt)
    if what == "missing state":
        del c["state"]
    elif what == "missing state.history":
        del c["state"]["history"]
    elif what == "format marker":
        c["format"] = "aprior-checkpoint-0"
    elif what == "wrong shape":
        c["model"]["0.weight"] = torch.zeros(3, 3)
    elif what == "extra tensor":
        c["model"]["9.weight"] = torch.zeros(1)
    elif what == "best model shape":
        c["state"]["best_model"]["0.weight"] = torch.zeros(2)
    elif what == "optimiser state shape":
        state = c["optimizers"]["task"]["state"]
        state[0]["exp_avg"] = torch.zeros(5)
    elif what == "optimiser params":
        c["optimizers"]["task"]["param_groups"][0]["params"] = [0]
    elif what == "phase":
        c["state"]["phase"] = 4
    elif what == "epoch type":
        c["state"]["epoch"] = "two"
    elif what == "rng":
        c["rng"]["torch"] = torch.zeros(3, dtype=torch.float32)
    elif what == "in_epoch":
        c["state"]["in_epoch"] = {"batches": [torch.tensor([0, 1])], "done": 1,
                                  "task_losses": [0.1], "priors": [0.0], "seconds": 0.0}
    else:
        raise AssertionError(what)
    return c


EXPECTED = {
    "missing state": "missing key 'state'",
    "missing state.history": "missing key 'state.history'",
    "format marker": "not an aprior checkpoint (format marker 'aprior-checkpoint-0'",
    "wrong shape": "model tensor '0.weight' has shape (3, 3), this run's has (8, 6)",
    "extra tensor": "'9.weight' this run's model does not have",
    "best model shape": "best model tensor '0.weight' has shape (2,)",
    "optimiser state shape": "'task' optimiser's 'exp_avg' has shape (5,)",
    "optimiser params": "'task' optimiser has 1 parameters",
    "phase": "phase 4 but this run has 1 phase(s)",
    "epoch type": "'state.epoch' is 'two', not a count",
    "rng": "'rng.torch' is not a torch RNG state",
    "in_epoch": "batches do not cover this run's",
}


def assert_refused(path, expected):
    trainer = make_trainer()
    before = copy.deepcopy(trainer.model.state_dict())
    with pytest.raises(UserInputError) as info:
        trainer.load_checkpoint(path)
    text = str(info.value)
    assert "\n" not in text and len(text) < 300, text
    assert text.startswith(f"{path}: ") and text.endswith("delete it or rerun without --resume")
    assert expected in text, text
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # untouched
    assert trainer.state["epoch"] == 0


@pytest.mark.parametrize("what", EXPECTED)
def test_damaged_checkpoint_is_refused_in_one_line(tmp_path, good, what):
    path = tmp_path / "checkpoint.pt"
    torch.save(damaged(good, what), path)
    assert_refused(path, EXPECTED[what])


def test_checkpoint_of_a_different_model_is_refused(tmp_path):
    path = tmp_path / "checkpoint.pt"
    make_trainer(hidden="16,4", ckpt=path).fit()
    assert_refused(path, "model tensor '0.weight' has shape (16, 6), this run's has (8, 6)")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"\x80\x04not a pickle"])
def test_unreadable_file_is_refused(tmp_path, content):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(content)
    assert_refused(path, "cannot read checkpoint (")


def test_not_a_dict_is_refused(tmp_path):
    path = tmp_path / "checkpoint.pt"
    torch.save([torch.zeros(2)], path)
    assert_refused(path, "not an aprior checkpoint (a list, not a dict)")


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_never_executes(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "checkpoint.pt"
    torch.save({"format": checkpoint.FORMAT, "model": Exploit(marker)}, path)
    assert_refused(path, "refused by weights_only")
    assert not marker.exists()


def test_a_good_checkpoint_still_loads(tmp_path, good):
    path = tmp_path / "checkpoint.pt"
    torch.save(good, path)
    trainer = make_trainer()
    trainer.load_checkpoint(path)
    assert trainer.state["epoch"] == 2 and trainer.state["in_epoch"] is None
