"""Every registered subcommand's --help carries a runnable example."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from aprior_cli.cli.main import SUBCOMMANDS, cli


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_help_has_an_example(name):
    res = CliRunner().invoke(cli, [name, "--help"])
    assert res.exit_code == 0, res.output
    text = res.output
    assert "Example" in text, f"aprior {name} --help has no Example block"
    block = text[text.index("Example"):].splitlines()[1:]
    assert any(line.strip().startswith(f"aprior {name}") for line in block), text
