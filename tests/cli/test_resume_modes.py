"""``--resume`` of train, attribute and moons: start afresh when there is nothing to resume,
skip what is finished with the same options, refuse (one line) what does not match."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from aprior_cli.cli.main import cli
from aprior_cli.interrupt import PAUSE_ENV

SMALL = ["--hidden", "8", "--epochs", "3", "--batch-size", "16", "--eval-n-samples", "10",
         "--device", "cpu", "--threads", "1"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    d = tmp_path_factory.mktemp("resume")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 6))
    samples = [f"S{i:02d}" for i in range(50)]
    pd.DataFrame(x, index=pd.Index(samples, name="sample"),
                 columns=[f"G{j}" for j in range(6)]).to_csv(d / "expr.tsv", sep="\t")
    pd.DataFrame({"sample": samples, "target": x[:, 0] + x[:, 1]}).to_csv(
        d / "labels.tsv", sep="\t", index=False)
    return d


def train(d, *extra):
    return ["train", "--expression", str(d / "expr.tsv"), "--labels", str(d / "labels.tsv"),
            *SMALL, *extra]


def run(args):
    return CliRunner().invoke(cli, args)


def error_lines(output):
    return [line for line in output.splitlines() if line.startswith("Error")]


def test_resume_with_nothing_to_resume_starts_fresh(study, tmp_path):
    out = tmp_path / "run"
    res = run([*train(study), "--resume", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert f"nothing to resume (no {out}.partial/checkpoint.pt); starting a fresh run" in res.output
    assert (out / "COMPLETE").is_file()
    fresh = tmp_path / "fresh"
    assert run([*train(study), "-o", str(fresh)]).exit_code == 0
    a = torch.load(out / "model.pt", weights_only=True)
    b = torch.load(fresh / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_of_a_finished_run_skips_it_and_checks_its_options(study, tmp_path):
    out = tmp_path / "run"
    assert run([*train(study), "-o", str(out)]).exit_code == 0
    stamp = (out / "model.pt").stat().st_mtime_ns
    again = run([*train(study), "--threads", "2", "--resume", "-o", str(out)])  # threads free
    assert again.exit_code == 0, again.output
    assert f"{out}: already finished, skipped" in again.output
    assert (out / "model.pt").stat().st_mtime_ns == stamp
    other = run([*train(study), "--lr", "0.5", "--resume", "-o", str(out)])
    assert other.exit_code == 1
    lines = error_lines(other.output)
    assert lines == [f"Error: {out}: already holds a finished run with other options "
                     "(lr: 0.5 now, 0.0001 before); choose another -o/--outdir or pass "
                     "--overwrite"], other.output
    assert (out / "model.pt").stat().st_mtime_ns == stamp


def test_damaged_checkpoint_is_one_line_through_the_cli_and_a_subprocess(study, tmp_path):
    out = tmp_path / "run"
    assert run([*train(study), "--epochs", "1", "-o", str(out)]).exit_code == 0
    partial = tmp_path / "run.partial"
    os.rename(out, partial)  # looks like an interrupted run: config.yaml, no COMPLETE
    (partial / "COMPLETE").unlink()
    torch.save({"format": "aprior-checkpoint-1", "model": {}}, partial / "checkpoint.pt")
    res = run([*train(study), "--epochs", "1", "--resume", "-o", str(out)])
    assert res.exit_code == 1
    expected = (f"Error: {partial}/checkpoint.pt: does not match this run (missing key "
                "'prior'); delete it or rerun without --resume")
    assert error_lines(res.output) == [expected]
    assert "Traceback" not in res.output and not out.exists()
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", *train(study), "--epochs", "1",
                           "--resume", "-q", "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [expected]


def test_attribute_resume_skips_complete_outputs_of_the_same_options(study, tmp_path):
    runs = tmp_path / "run"
    assert run([*train(study), "-o", str(runs)]).exit_code == 0
    base = ["attribute", str(runs), "--expression", str(study / "expr.tsv"), "--n-samples",
            "20", "--threads", "1", "--device", "cpu", "-o", str(tmp_path / "attr")]
    assert run([*base, "--resume"]).exit_code == 0  # nothing there yet: computed
    files = ["attributions.tsv", "ranking.tsv", "completeness.json"]
    stamps = {f: (tmp_path / "attr" / f).stat().st_mtime_ns for f in files}
    skipped = run([*base, "--resume"])
    assert skipped.exit_code == 0 and "already complete, skipped" in skipped.output
    assert {f: (tmp_path / "attr" / f).stat().st_mtime_ns for f in files} == stamps
    summary = json.loads((tmp_path / "attr" / "completeness.json").read_text())
    assert summary["n_samples_per_input"] == 20 and summary["references"] == "train"
    changed = run([*base[:-2], "--n-samples", "25", "-o", str(tmp_path / "attr"), "--resume"])
    assert changed.exit_code == 0 and "skipped" not in changed.output
    assert json.loads((tmp_path / "attr" / "completeness.json").read_text())[
        "n_samples_per_input"] == 25


@pytest.mark.slow
def test_attribute_interrupted_writes_nothing(study, tmp_path):
    runs = tmp_path / "run"
    assert run([*train(study), "-o", str(runs)]).exit_code == 0
    out = tmp_path / "attr"
    env = {**os.environ, PAUSE_ENV: "attribute"}
    proc = subprocess.Popen([sys.executable, "-m", "aprior_cli", "attribute", str(runs),
                             "--expression", str(study / "expr.tsv"), "--threads", "1", "-q",
                             "-o", str(out)], env=env, text=True, stderr=subprocess.PIPE)
    assert proc.stderr.readline().startswith("aprior-test: paused at attribute")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 75
    assert err.splitlines() == [f"{out}: interrupted by SIGTERM; nothing was written; rerun "
                                "to start again"]
    assert not out.exists()


def test_moons_resume_refuses_other_settings(tmp_path):
    out = tmp_path / "m"
    partial = tmp_path / "m.partial"
    partial.mkdir()
    (partial / "progress.json").write_text(json.dumps({
        "format": "aprior-progress-1", "units": {"4,0": {"MLP": 0.5}},
        "settings": {"p": [4], "datasets": 3, "seed": 0, "epochs": 3, "patience": 50,
                     "attribution": "signed", "width": "quarter"}}))
    res = run(["moons", "--p", "4", "--datasets", "2", "--epochs", "3", "--width", "quarter",
               "--threads", "1", "--resume", "-o", str(out)])
    assert res.exit_code == 1
    assert error_lines(res.output) == [
        f"Error: --resume: datasets differs from the interrupted run (2 now, 3 before); "
        f"delete {partial} or rerun without --resume"]
    assert not out.exists() and partial.exists()
    (partial / "progress.json").write_text("{not json")
    res = run(["moons", "--p", "4", "--datasets", "2", "--epochs", "3", "--resume", "-o",
               str(out)])
    assert res.exit_code == 1 and len(error_lines(res.output)) == 1
    assert "progress.json: cannot read" in res.output
