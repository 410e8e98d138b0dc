"""Output sets, locks and kills at the command level: train run directories, preprocess sets.

Kills are simulated in-process (an exception raised at the chosen moment, which is what a
signal handler does) or, for the lock, with a real SIGKILL of a real ``aprior train``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import aprior_cli.cli.train as train_cli
from aprior_cli.cli.main import cli
from aprior_cli.io import run_dir
from aprior_cli.io.locks import OutputLock, lock_path_for

SMALL = ["--hidden", "8", "--epochs", "4", "--batch-size", "16", "--eval-n-samples", "10",
         "--device", "cpu", "--threads", "1", "--patience", "0"]


@pytest.fixture
def study(tmp_path):
    rng = np.random.default_rng(0)
    n, p = 48, 8
    x = rng.normal(size=(n, p))
    samples = [f"S{i:02d}" for i in range(n)]
    pd.DataFrame(x, index=pd.Index(samples, name="sample"),
                 columns=[f"G{j}" for j in range(p)]).to_csv(tmp_path / "expr.tsv", sep="\t")
    pd.DataFrame({"sample": samples, "target": x[:, :3].sum(1)}).to_csv(
        tmp_path / "labels.tsv", sep="\t", index=False)
    return tmp_path


def train_args(d):
    return ["train", "--expression", str(d / "expr.tsv"), "--labels", str(d / "labels.tsv"),
            *SMALL]


def invoke(args):
    return CliRunner().invoke(cli, args)


def one_line(res) -> str:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.exit_code != 0 and len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    return lines[0]


def weights(path):
    return torch.load(path / "model.pt", weights_only=True)


def same_weights(a, b) -> bool:
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


# --------------------------------------------------------------------------- train


def test_second_writer_and_resume_during_a_live_run_are_refused(study):
    out = study / "run"
    holder = OutputLock(out).acquire()          # what a live `aprior train -o run` holds
    try:
        for extra in ([], ["--resume"], ["--overwrite"]):
            line = one_line(invoke([*train_args(study), *extra, "-o", str(out)]))
            assert f"run is being written by another aprior process (pid {os.getpid()})" in line
            assert "wait for it or choose another output" in line
        assert not out.exists() and not run_dir.partial_dir(out).exists()
    finally:
        holder.release()
    assert sorted(p.name for p in study.iterdir()) == ["expr.tsv", "labels.tsv"]


@pytest.mark.parametrize("moment", ["after_run_files", "before_rename"])
def test_a_kill_in_the_final_phase_stays_resumable(study, monkeypatch, moment):
    """Killed while the finished run is written or published: --resume completes it with the
    weights of an uninterrupted run (before: 3 of 10 final-phase kills lost the run)."""
    assert invoke([*train_args(study), "-o", str(study / "full")]).exit_code == 0
    cut = study / "cut"
    real_replace = os.replace

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    if moment == "after_run_files":
        monkeypatch.setattr(train_cli, "write_prior_outputs", killed)
    else:
        def replace(src, dst):
            if str(src).endswith(".partial"):
                raise KeyboardInterrupt
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", replace)
    res = invoke([*train_args(study), "-o", str(cut)])
    assert res.exit_code != 0 and not cut.exists()
    partial = run_dir.partial_dir(cut)
    assert (partial / run_dir.CHECKPOINT).is_file()         # resumable, never lost
    assert (partial / "COMPLETE").is_file() == (moment == "before_rename")
    monkeypatch.undo()
    res = invoke([*train_args(study), "--resume", "-o", str(cut)])
    assert res.exit_code == 0, res.output
    assert run_dir.is_complete(cut) and not partial.exists()
    assert not (cut / run_dir.CHECKPOINT).exists()
    assert same_weights(study / "full", cut)
    assert not list(study.glob(".*"))                       # no lock or temp litter


def test_resume_of_a_finished_run_drops_a_left_checkpoint(study):
    out = study / "run"
    assert invoke([*train_args(study), "-o", str(out)]).exit_code == 0
    (out / run_dir.CHECKPOINT).write_bytes(b"left by a kill after the rename")
    res = invoke([*train_args(study), "--resume", "-o", str(out)])
    assert res.exit_code == 0 and "already finished" in res.stderr
    assert not (out / run_dir.CHECKPOINT).exists() and run_dir.is_complete(out)


@pytest.mark.slow
def test_sigkill_of_a_live_run_leaves_no_stale_lock_and_resumes_exactly(study):
    """A real `aprior train` holds the lock; a --resume is refused while it lives; after a
    SIGKILL the lock is free and --resume gives the weights of an uninterrupted run."""
    assert invoke([*train_args(study), "-o", str(study / "full")]).exit_code == 0
    cut = study / "cut"
    script = textwrap.dedent(f"""
        import sys, time
        import aprior_cli.cli.train as t
        from aprior_cli.cli.main import cli
        def hook(epoch):
            if epoch == 2:
                print("epoch 2 done", flush=True)
                time.sleep(120)
        t._EPOCH_HOOK = hook
        cli(prog_name="aprior", args={[*train_args(study), "-o", str(cut)]!r})
    """)
    live = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline().strip() == "epoch 2 done"
        refused = subprocess.run([sys.executable, "-m", "aprior_cli", *train_args(study),
                                  "--resume", "-o", str(cut)], capture_output=True, text=True,
                                 timeout=120)
        lines = refused.stderr.strip().splitlines()
        assert refused.returncode == 1 and len(lines) == 1, refused.stderr
        assert f"(pid {live.pid})" in lines[0] and "being written" in lines[0]
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait()
    assert lock_path_for(cut).exists()                      # the file, not the lock, is left
    res = invoke([*train_args(study), "--resume", "-o", str(cut)])
    assert res.exit_code == 0, res.output
    assert same_weights(study / "full", cut)
    assert not lock_path_for(cut).exists()


# --------------------------------------------------------------------------- preprocess


def write_counts(folder, seed=0):
    rng = np.random.default_rng(seed)
    genes, samples = [f"G{j}" for j in range(6)], [f"s{i}" for i in range(8)]
    counts = pd.DataFrame(rng.integers(5, 500, size=(6, 8)), index=pd.Index(genes, name="gene"),
                          columns=samples)
    counts.to_csv(folder / f"counts{seed}.tsv", sep="\t")
    pd.DataFrame({"gene": genes, "length": [1000] * 6}).to_csv(folder / "len.tsv", sep="\t",
                                                               index=False)
    return folder / f"counts{seed}.tsv"


def pre_args(folder, counts, out="expr.tsv", *extra):
    return ["preprocess", str(counts), "--genes-as-rows", "--lengths", str(folder / "len.tsv"),
            "--no-biotype-filter", *extra, "-o", str(folder / out)]


def test_preprocess_set_shares_an_id_and_apply_scaler_checks_it(tmp_path):
    counts = write_counts(tmp_path)
    assert invoke(pre_args(tmp_path, counts)).exit_code == 0
    scaler = json.loads((tmp_path / "expr.scaler.json").read_text())
    report = json.loads((tmp_path / "expr.report.json").read_text())
    assert scaler["set"]["id"] == report["set"]["id"] == report["set"]["scaler_id"]
    assert scaler["set"]["matrix"] == "expr.tsv"
    apply = pre_args(tmp_path, counts, "test.tsv", "--apply-scaler",
                     str(tmp_path / "expr.scaler.json"))
    assert invoke(apply).exit_code == 0
    applied = json.loads((tmp_path / "test.report.json").read_text())
    assert applied["set"]["scaler_id"] == scaler["set"]["id"]
    # a scaler copied elsewhere alone, and a scaler written before sets existed, still work
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "s.json").write_text(json.dumps(scaler))
    legacy = {k: v for k, v in scaler.items() if k != "set"}
    (alone / "legacy.json").write_text(json.dumps(legacy))
    for s in ("s.json", "legacy.json"):
        args = pre_args(tmp_path, counts, f"alone/{s}.tsv", "--apply-scaler", str(alone / s))
        assert invoke(args).exit_code == 0


def test_preprocess_killed_between_renames_leaves_a_detectably_incomplete_set(tmp_path,
                                                                             monkeypatch):
    counts0, counts1 = write_counts(tmp_path, 0), write_counts(tmp_path, 1)
    assert invoke(pre_args(tmp_path, counts0)).exit_code == 0
    old_matrix = (tmp_path / "expr.tsv").read_bytes()
    real_replace = os.replace
    renamed = []

    def replace(src, dst):        # a kill right after the first rename of the set
        if os.path.dirname(dst) == str(tmp_path):       # a publish rename, not a staging write
            if renamed:
                raise KeyboardInterrupt
            renamed.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    assert invoke(pre_args(tmp_path, counts1)).exit_code != 0
    monkeypatch.undo()
    assert renamed == [tmp_path / "expr.scaler.json"]
    assert (tmp_path / "expr.tsv").read_bytes() == old_matrix        # new scaler, old matrix
    assert not (tmp_path / "expr.report.json").exists()              # manifest removed first
    line = one_line(invoke(pre_args(tmp_path, counts1, "t.tsv", "--apply-scaler",
                                    str(tmp_path / "expr.scaler.json"))))
    assert "expr.scaler.json: incomplete output set" in line
    assert invoke(pre_args(tmp_path, counts1)).exit_code == 0       # the rerun repairs it
    assert invoke(pre_args(tmp_path, counts1, "t.tsv", "--apply-scaler",
                           str(tmp_path / "expr.scaler.json"))).exit_code == 0


def test_preprocess_cleans_stale_temps_and_refuses_a_concurrent_writer(tmp_path):
    counts = write_counts(tmp_path)
    stale = [tmp_path / ".expr.tsv.k1ll3d00.tmp.tsv", tmp_path / ".expr.scaler.json.k1ll3d00.tmp"]
    stale[0].write_text("half a matrix from a SIGKILL")
    stale[1].mkdir()
    holder = OutputLock(tmp_path / "expr.report.json").acquire()
    try:
        line = one_line(invoke(pre_args(tmp_path, counts)))
        assert "report: " in line and "being written by another aprior process" in line
        assert all(p.exists() for p in stale)               # not touched without the lock
    finally:
        holder.release()
    assert invoke(pre_args(tmp_path, counts)).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counts0.tsv", "expr.report.json", "expr.scaler.json", "expr.tsv", "len.tsv"]
