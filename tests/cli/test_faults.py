"""Fault tests with real processes and real signals.

Each test starts ``python -m aprior_cli ...`` with the pause hook
(:data:`aprior_cli.interrupt.PAUSE_ENV`): at the named step the process prints
``aprior-test: paused at ...`` and waits; the test then sends the signal to its pid, so the
interruption happens at a known step without racing the process. Interrupted runs must end
with exactly one line on stderr, the documented exit code (75 for SIGTERM/SIGUSR1, 130 for
SIGINT), nothing at the output path, and ``--resume`` must give weights equal bit for bit to
an uninterrupted run (CPU, one thread).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from click.testing import CliRunner

from aprior_cli.cli.main import cli
from aprior_cli.graph import GeneGraph
from aprior_cli.interrupt import PAUSE_ENV
from aprior_cli.io.graph_npz import save_graph

SMALL = ["--hidden", "8", "--epochs", "4", "--batch-size", "16", "--eval-n-samples", "10",
         "--device", "cpu", "--threads", "1", "-q"]
CODES = {signal.SIGTERM: 75, signal.SIGUSR1: 75, signal.SIGINT: 130}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """60 samples x 10 genes (36 training rows: 3 batches of 16, 16, 4 per epoch)."""
    d = tmp_path_factory.mktemp("faults")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 10))
    genes = [f"G{j}" for j in range(10)]
    samples = [f"S{i:02d}" for i in range(60)]
    pd.DataFrame(x, index=pd.Index(samples, name="sample"), columns=genes).to_csv(
        d / "expr.tsv", sep="\t")
    pd.DataFrame({"sample": samples, "target": x[:, :4].sum(1)}).to_csv(
        d / "labels.tsv", sep="\t", index=False)
    w = np.zeros((10, 10))
    w[:4, :4] = 1 - np.eye(4)
    save_graph(d / "graph.npz", GeneGraph(genes, sp.csr_matrix(w),
                                          sp.csr_matrix(np.diag(w.sum(1)) - w), False))
    return d


def train_args(d: Path, *extra: str) -> list[str]:
    return ["train", "--expression", str(d / "expr.tsv"), "--labels", str(d / "labels.tsv"),
            *SMALL, *extra]


def invoke(args: list[str]) -> None:
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output


def interrupt_subprocess(args: list[str], pause_at: str, sig: int) -> tuple[int, list[str]]:
    """Run ``aprior ARGS`` until it pauses at ``pause_at``, send ``sig``; (exit code, stderr
    lines without the pause line)."""
    env = {**os.environ, PAUSE_ENV: pause_at, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "aprior_cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    before = []
    for line in proc.stderr:  # the pause line arrives before the process waits
        if line.startswith("aprior-test: paused at"):
            break
        before.append(line.rstrip("\n"))
    else:
        _, err = proc.communicate(timeout=60)
        pytest.fail(f"the process never reached {pause_at!r}: {before} {err}")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, before + err.splitlines()


def assert_one_line(lines: list[str], pattern: str) -> None:
    lines = [line for line in lines if not line.startswith("[aprior] warning:")]
    assert len(lines) == 1, lines
    assert re.fullmatch(pattern, lines[0]), lines[0]
    assert "Traceback" not in lines[0] and "Aborted" not in lines[0]


def assert_same_weights(a: Path, b: Path, name: str = "model.pt") -> None:
    sa = torch.load(a / name, weights_only=True)
    sb = torch.load(b / name, weights_only=True)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


JOINT = ("--prior", "graph", "--lambda", "1", "--dropout", "0.2")


@pytest.fixture(scope="module")
def joint_reference(study):
    out = study / "joint_full"
    invoke([*train_args(study, "--graph", str(study / "graph.npz"), *JOINT), "-o", str(out)])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGUSR1],
                         ids=["SIGTERM", "SIGINT", "SIGUSR1"])
def test_signal_mid_epoch_then_resume_equals_uninterrupted(study, joint_reference, sig):
    out = study / f"cut_{sig.name}"
    args = [*train_args(study, "--graph", str(study / "graph.npz"), *JOINT), "-o", str(out)]
    code, lines = interrupt_subprocess(args, "epoch 2 step 1", sig)
    assert code == CODES[sig]
    assert_one_line(lines, rf"{re.escape(str(out))}: interrupted by {sig.name} after epoch 1, "
                           r"step 1 of epoch 2 \(checkpoint .*cut_\w+\.partial/checkpoint\.pt\); "
                           r"rerun with --resume to continue")
    assert not out.exists() and (study / f"{out.name}.partial" / "checkpoint.pt").is_file()
    invoke([*args, "--resume"])
    assert_same_weights(joint_reference, out)
    full = pd.read_csv(joint_reference / "history.tsv", sep="\t")
    cut = pd.read_csv(out / "history.tsv", sep="\t")
    assert full["train_loss"].tolist() == cut["train_loss"].tolist()


@pytest.mark.slow
def test_signal_in_the_fine_tune_phase(study, tmp_path):
    extra = ("--prior", "graph", "--graph", str(study / "graph.npz"), "--lambda", "1",
             "--schedule", "fine-tune", "--fine-tune-epochs", "2", "--epochs", "3",
             "--patience", "0", "--optimizer", "sgd")
    invoke([*train_args(study, *extra), "-o", str(tmp_path / "full")])
    args = [*train_args(study, *extra), "-o", str(tmp_path / "cut")]
    code, lines = interrupt_subprocess(args, "epoch 5 step 2", signal.SIGTERM)  # fine-tune
    assert code == 75
    assert_one_line(lines, r".*cut: interrupted by SIGTERM after epoch 4, step 2 of epoch 5 .*")
    invoke([*args, "--resume"])
    assert_same_weights(tmp_path / "full", tmp_path / "cut")
    phases = pd.read_csv(tmp_path / "cut" / "history.tsv", sep="\t")["phase"].tolist()
    assert phases == ["plain"] * 3 + ["fine-tune"] * 2


@pytest.mark.slow
def test_signal_during_a_lambda_grid(study, tmp_path):
    extra = ("--prior", "gini", "--lambda", "0.5,1", "--epochs", "3")
    invoke([*train_args(study, *extra), "-o", str(tmp_path / "full")])
    out = tmp_path / "cut"
    args = [*train_args(study, *extra), "-o", str(out)]
    code, lines = interrupt_subprocess(args, "epoch 2 step 1@2", signal.SIGUSR1)  # 2nd run
    assert code == 75
    assert_one_line(lines, rf"{re.escape(str(out / 'lambda_1'))}: interrupted by SIGUSR1 "
                           r"after epoch 1, step 1 of epoch 2 .*")
    assert (out / "lambda_0.5" / "COMPLETE").is_file() and not (out / "lambda_1").exists()
    invoke([*args, "--resume"])
    for lam in ("lambda_0.5", "lambda_1"):
        assert_same_weights(tmp_path / "full" / lam, out / lam)


@pytest.mark.slow
def test_reproduce_interrupted_prints_the_line_and_writes_nothing(tmp_path):
    out = tmp_path / "conv"
    code, lines = interrupt_subprocess(["reproduce", "eg-convergence", "--quick", "--threads",
                                        "1", "-q", "-o", str(out)], "epoch 2 step 1",
                                       signal.SIGTERM)
    assert code == 75
    assert_one_line(lines, rf"{re.escape(str(out))}: interrupted by SIGTERM during "
                           r"eg-convergence; nothing was written; rerun to start again")
    assert not out.exists()


@pytest.mark.slow
def test_moons_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    base = ["moons", "--p", "4,8", "--datasets", "2", "--epochs", "3", "--threads", "1",
            "--width", "quarter", "-q"]
    invoke([*base, "-o", str(tmp_path / "full")])
    out = tmp_path / "cut"
    code, lines = interrupt_subprocess([*base, "-o", str(out)], "moons p=8 dataset 0",
                                       signal.SIGINT)
    assert code == 130
    assert_one_line(lines, rf"{re.escape(str(out))}: interrupted by SIGINT after 2 of 4 "
                           r"dataset\(s\) \(finished ones kept in .*progress\.json\); "
                           r"rerun with --resume to continue")
    assert not out.exists()
    invoke([*base, "--resume", "-o", str(out)])
    for name in ("moons_runs.tsv", "moons.tsv"):
        assert (tmp_path / "full" / name).read_text() == (out / name).read_text()
    assert not (tmp_path / "cut.partial").exists()


@pytest.mark.slow
@pytest.mark.realdata
def test_reproduce_keeps_finished_replicates_for_resume(shared_data, tmp_path):
    base = ["reproduce", "nhanes-sparsity", "--quick", "--replicates", "2", "--data-dir",
            str(shared_data), "--threads", "1", "-q"]
    invoke([*base, "-o", str(tmp_path / "full")])
    out = tmp_path / "cut"
    code, lines = interrupt_subprocess([*base, "-o", str(out)], "replicate 1", signal.SIGTERM)
    assert code == 75
    assert_one_line(lines, rf"{re.escape(str(out))}: interrupted by SIGTERM during "
                           r"nhanes-sparsity, after 1 of 2 replicate\(s\) \(finished ones kept "
                           r"in .*progress\.json\); rerun with --resume to continue")
    assert not out.exists()
    invoke([*base, "--resume", "-o", str(out)])
    assert (tmp_path / "full" / "results.tsv").read_text() == (out / "results.tsv").read_text()
    assert not (tmp_path / "cut.partial").exists()
