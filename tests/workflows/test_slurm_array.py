"""The job-array example (workflows/slurm/train-array.sbatch) against a fake ``sbatch`` on
PATH (tests/workflows/fake_slurm): every array task trains its seed; a simulated time limit
(SIGUSR1 to the batch shell, as ``--signal=B:USR1@120`` does) is forwarded by the trap,
aprior checkpoints and exits 75, the task requeues itself and the rerun resumes to the same
weights as an uninterrupted run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from aprior_cli.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "workflows" / "slurm" / "train-array.sbatch"
FAKE = Path(__file__).resolve().parent / "fake_slurm"
OPTIONS = ("--prior gini --lambda 0.5 --hidden 8 --epochs 3 --batch-size 16 "
           "--eval-n-samples 10 --device cpu --dropout 0.1")


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_array_job_trains_every_seed_and_resumes_after_a_simulated_time_limit(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 8))
    samples = [f"S{i}" for i in range(60)]
    pd.DataFrame(x, index=pd.Index(samples, name="sample"),
                 columns=[f"G{j}" for j in range(8)]).to_csv(tmp_path / "expr.tsv", sep="\t")
    pd.DataFrame({"sample": samples, "target": x[:, 0] - x[:, 1]}).to_csv(
        tmp_path / "labels.tsv", sep="\t", index=False)
    slurm = tmp_path / "slurm"
    slurm.mkdir()
    env = {**os.environ, "FAKE_SLURM_DIR": str(slurm), "OMP_NUM_THREADS": "1",
           "PATH": os.pathsep.join([str(FAKE), str(Path(sys.executable).parent),
                                    os.environ["PATH"]]),
           "EXPRESSION": "expr.tsv", "LABELS": "labels.tsv", "OUTDIR": "runs",
           "TRAIN_OPTIONS": OPTIONS, "FAKE_PREEMPT_TASK": "1",
           "FAKE_PREEMPT_AT": "epoch 2 step 1"}
    proc = subprocess.run(["sbatch", "--array=0-1", str(SCRIPT)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Submitted batch job 1000"

    call = jsonl(slurm / "sbatch-calls.jsonl")[0]["options"]
    assert call["--signal"] == "B:USR1@120" and call["--requeue"] is True
    assert call["--open-mode"] == "append"
    jobs = jsonl(slurm / "jobs.jsonl")
    assert [(j["task"], j["attempt"], j["rc"], j["signal"]) for j in jobs] == [
        (0, 0, 0, None),      # seed 0: trained in one go
        (1, 0, 75, "USR1"),   # seed 1: "time limit" -> checkpoint, exit 75, requeue
        (1, 1, 0, None),      # the requeued task resumed and finished
    ]
    assert (slurm / "requeued.txt").read_text().split() == ["1002"]
    log = (tmp_path / jobs[1]["log"]).read_text()
    assert "interrupted by SIGUSR1 after epoch 1, step 1 of epoch 2" in log
    assert "requeueing job 1002" in log and "(restart 1)" in log
    assert "resuming after epoch 1, step 1 of epoch 2" in log
    for seed in (0, 1):
        run = tmp_path / "runs" / f"seed_{seed}"
        assert (run / "COMPLETE").is_file()
    assert "threads: 2 (from $SLURM_CPUS_PER_TASK)" in log  # --cpus-per-task=2
    # the same training, uninterrupted, in this process
    ref = tmp_path / "ref"
    res = CliRunner().invoke(cli, ["train", "--expression", str(tmp_path / "expr.tsv"),
                                   "--labels", str(tmp_path / "labels.tsv"), "--seed", "1",
                                   "--threads", "2", *OPTIONS.split(), "-o", str(ref)])
    assert res.exit_code == 0, res.output
    a = torch.load(ref / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "runs" / "seed_1" / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
