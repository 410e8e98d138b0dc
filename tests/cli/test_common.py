"""Shared CLI pieces: FiniteFloat, the last-resort error line, one-line usage errors."""

from __future__ import annotations

import errno
import math
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from aprior_cli.cli.common import Command, FiniteFloat, error_line, handle_errors, verbosity_options
from aprior_cli.errors import UserInputError


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999", "abc", ""])
def test_finite_float_rejects_nan_inf_and_text(value):
    with pytest.raises(click.BadParameter):
        FiniteFloat().convert(value, None, None)


def test_finite_float_ranges():
    t = FiniteFloat(0, 1, max_open=True)
    assert t.convert("0", None, None) == 0.0 and t.convert(" 0.5 ", None, None) == 0.5
    for bad in ("1", "-0.01", "2"):
        with pytest.raises(click.BadParameter, match=r"not in the range \[0, 1\)"):
            t.convert(bad, None, None)
    assert FiniteFloat(min=0, min_open=True).convert(3, None, None) == 3.0
    with pytest.raises(click.BadParameter, match=r"\(0, inf\)"):
        FiniteFloat(min=0, min_open=True).convert("0", None, None)
    assert math.isnan(click.FloatRange(0, 1).convert("nan", None, None))  # why it exists


def test_error_line_kinds():
    assert error_line(UserInputError("x.tsv: bad\n  thing")) == "x.tsv: bad thing"
    assert error_line(FileNotFoundError(2, "No such file", "a.tsv")) == "a.tsv: file not found"
    assert error_line(EOFError("Compressed file ended")).startswith(
        "cannot read an input file: truncated")
    assert error_line(OSError(errno.ENOSPC, "No space left on device", "/x")) == \
        "/x: No space left on device"
    bug = error_line(KeyError("n_inputs"))
    assert bug.startswith("internal error: KeyError: 'n_inputs'") and bug.endswith(
        "(rerun with -vv for the traceback)")
    assert len(error_line(RuntimeError("y" * 1000))) < 300


@click.command(cls=Command)
@click.option("--x", type=FiniteFloat(min=0))
@verbosity_options
@handle_errors
def toy(x, verbose, quiet):
    if x == 1:
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
    if x == 2:
        raise ZeroDivisionError("division by zero")


def test_one_line_for_usage_errors_truncated_files_and_bugs():
    runner = CliRunner()
    for args, needle, code in ((["--x", "nan"], "'--x': 'nan' is not a finite number", 2),
                               (["--x", "-1"], "'--x': -1 is not in the range", 2),
                               (["--y"], "No such option '--y'", 2),
                               (["--x", "1"], "cannot read an input file: truncated", 1),
                               (["--x", "2"], "internal error: ZeroDivisionError", 1)):
        res = runner.invoke(toy, args)
        lines = res.stderr.strip().splitlines()
        assert res.exit_code == code and len(lines) == 1 and needle in lines[0], res.stderr
        assert "Aborted" not in res.stderr and "Traceback" not in res.stderr


def test_vv_shows_the_traceback_then_the_line():
    res = CliRunner().invoke(toy, ["--x", "2", "-vv"])
    assert res.exit_code == 1
    assert "Traceback" in res.stderr and "ZeroDivisionError" in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("Error: internal error")


def test_real_subprocess_usage_error_is_one_line():
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "split", "x.tsv", "--method",
                           "kfold", "-o", "y.tsv"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "Error: Invalid value for '--method': 'kfold' is not one of 'random', 'stratified', "
        "'group'. (see 'aprior split --help')"]


def test_ctrl_c_in_a_short_command_is_one_line_exit_130_and_nothing_written(tmp_path,
                                                                          monkeypatch):
    """Ctrl-C (KeyboardInterrupt) in a command without its own stop handling: one line,
    exit 130, the staged outputs discarded (not click's bare ``Aborted!``)."""
    from click.testing import CliRunner

    import aprior_cli.training.paired_rows as paired_rows
    from aprior_cli.cli.main import cli

    labels = tmp_path / "labels.tsv"
    labels.write_text("sample\ttarget\n" + "".join(f"S{i}\t{i}\n" for i in range(20)))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(paired_rows, "split_rows", interrupted)
    out = tmp_path / "out" / "splits.tsv"
    result = CliRunner().invoke(cli, ["split", str(labels), "--method", "random", "-o",
                                      str(out)])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 130 and len(lines) == 1, result.output
    assert "interrupted (SIGINT)" in lines[0] and "Aborted" not in result.output
    left = list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    assert left == []  # no output, no staging folder, no lock file
