"""``aprior moons`` through click's runner and a real subprocess; bad options."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.main import cli


def test_moons_cli_writes_table_and_plot(tmp_path):
    out = tmp_path / "moons"
    result = CliRunner().invoke(cli, ["moons", "-o", str(out), "--p", "4,8", "--datasets", "2",
                                      "--epochs", "3", "--threads", "1", "--width", "quarter"])
    assert result.exit_code == 0, result.output
    assert "p=    4" in result.output and "MLP width quarter" in result.output
    table = pd.read_csv(out / "moons.tsv", sep="\t")
    assert list(table.columns) == ["p", "method", "mean_accuracy", "sem", "n_datasets"]
    assert table["p"].tolist() == [4, 4, 8, 8]
    assert table["mean_accuracy"].between(0, 1).all() and (table["n_datasets"] == 2).all()
    runs = pd.read_csv(out / "moons_runs.tsv", sep="\t")
    assert len(runs) == 8
    assert (out / "moons.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("args", "needle"), [
    (["--p", "a,b"], "--p: expected comma-separated integers"),
    (["--p", "0"], "--p: expected positive integers"),
    (["--datasets", "0"], "--datasets must be >= 1"),
    (["--epochs", "0"], "--epochs must be >= 1"),
    (["--patience", "0"], "--patience must be >= 1"),
])
def test_moons_cli_bad_options(tmp_path, args, needle):
    out = tmp_path / "bad"
    result = CliRunner().invoke(cli, ["moons", "-o", str(out), *args])
    assert result.exit_code != 0
    assert needle in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (out / "moons.tsv").exists()


def test_moons_cli_subprocess(tmp_path):
    out = tmp_path / "sub"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "moons", "-o", str(out),
                           "--p", "3", "--datasets", "1", "--epochs", "2", "--threads", "1", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert len(pd.read_csv(out / "moons.tsv", sep="\t")) == 2
