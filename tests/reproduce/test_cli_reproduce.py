"""``aprior reproduce``: an end-to-end quick run and every bad input (one line, no output)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
from click.testing import CliRunner

from aprior_cli.cli.reproduce import command


def test_quick_eg_convergence_writes_table_figure_summary(tmp_path) -> None:
    out = tmp_path / "conv"
    res = CliRunner().invoke(command, ["eg-convergence", "--quick", "-o", str(out),
                                       "--threads", "1"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "results.tsv", sep="\t")
    assert len(table) == 4 and table["rel_l2_error"].gt(0).all()
    assert (out / "figure.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] is True and summary["experiment"] == "eg-convergence"
    assert (out / "mean_by_n.tsv").exists()


def _fails(args, tmp_path, env=None, message="") -> None:
    res = CliRunner(env=env).invoke(command, args)
    assert res.exit_code != 0
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], res.output


def test_missing_data_dir_is_one_line_and_no_output(tmp_path) -> None:
    out = tmp_path / "o"
    _fails(["nhanes-sparsity", "--quick", "-o", str(out)], tmp_path,
           env={"APRIOR_SHARED_DATA": None}, message="APRIOR_SHARED_DATA")
    _fails(["nhanes-sparsity", "-o", str(out), "--data-dir", str(tmp_path / "none")], tmp_path,
           message="is not a directory")
    (tmp_path / "partial" / "nhanes1").mkdir(parents=True)
    _fails(["expression-graph", "-o", str(out), "--data-dir", str(tmp_path / "partial")],
           tmp_path, message="not found")
    assert not out.exists()


def test_bad_options(tmp_path) -> None:
    out = tmp_path / "o"
    _fails(["eg-convergence", "--replicates", "0", "-o", str(out)], tmp_path,
           message="--replicates")
    res = CliRunner().invoke(command, ["no-such-experiment", "-o", str(out)])
    assert res.exit_code == 2 and "'no-such-experiment' is not one of" in res.output
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    res = CliRunner().invoke(command, ["eg-convergence", "--quick", "-o", str(afile)])
    assert res.exit_code == 2 and "is a file" in res.output
    assert not out.exists() and afile.read_text() == "x"


def test_subprocess_reports_missing_data(tmp_path) -> None:
    out = tmp_path / "o"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "reproduce", "expression-graph",
                           "--data-dir", str(tmp_path / "absent"), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "absent" in proc.stderr
    assert not out.exists()
