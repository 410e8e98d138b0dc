"""The command group itself: help, version, subprocess entry points."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from aprior_cli import __version__
from aprior_cli.cli.main import cli


def test_help_and_version():
    runner = CliRunner()
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0
    assert "attribution priors" in res.output
    res = runner.invoke(cli, ["--version"])
    assert __version__ in res.output


def test_unknown_command_fails():
    res = CliRunner().invoke(cli, ["no-such-command"])
    assert res.exit_code != 0


def test_python_dash_m_subprocess():
    out = subprocess.run([sys.executable, "-m", "aprior_cli", "--version"], capture_output=True,
                         text=True, check=True)
    assert __version__ in out.stdout
