"""The ``aprior`` command group.

Subcommands are imported lazily (only the one being run), so ``aprior --help`` is instant and
a command's heavy imports (torch, gseapy, ...) cost nothing to the others. Each subcommand lives
in ``aprior_cli/cli/<name>.py`` and exposes a click command called ``command``.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from aprior_cli import __version__
from aprior_cli.cli.common import one_line_usage_errors

#: subcommand name -> (module, one-line help shown by ``aprior --help``)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("aprior_cli.cli.simulate", "Write a synthetic study whose ground truth is known."),
    "split": ("aprior_cli.cli.split", "Assign samples to train/val/test (patients kept together)."),
    "preprocess": ("aprior_cli.cli.preprocess", "Raw counts -> FPKM/TPM -> filters -> log2 -> z-score."),
    "graph": ("aprior_cli.cli.graph", "Gene-gene edge files -> sparse adjacency + Laplacian (.npz)."),
    "train": ("aprior_cli.cli.train", "Train a model with an attribution prior; write a run directory."),
    "select": ("aprior_cli.cli.select", "Choose among runs (e.g. lambdas) on validation only."),
    "predict": ("aprior_cli.cli.predict", "Predictions of a trained run, in the target's own units."),
    "attribute": ("aprior_cli.cli.attribute", "Expected-gradients attributions and a global ranking."),
    "consensus": ("aprior_cli.cli.consensus", "Consensus ranking and stability over runs of one method."),
    "enrich": ("aprior_cli.cli.enrich", "GSEA prerank and over-representation of a ranking (FDR)."),
    "compare": ("aprior_cli.cli.compare", "Paired comparison of run directories (t-test, Wilcoxon)."),
    "report": ("aprior_cli.cli.report", "One self-contained HTML report of a workflow's runs."),
    "fetch": ("aprior_cli.cli.fetch", "Download and verify an external resource from data_manifests."),
    "bench": ("aprior_cli.cli.bench", "Benchmark expected-gradients training and post-hoc speed."),
    "moons": ("aprior_cli.cli.moons", "DAPr two-moons-with-nuisance-features experiment."),
    "reproduce": ("aprior_cli.cli.reproduce", "Reproduce the papers' headline experiments."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use; their usage errors print
    one line (:func:`aprior_cli.cli.common.one_line_usage_errors`)."""

    invoke = one_line_usage_errors(click.Group.invoke)

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = []
        for name, (module, _) in SUBCOMMANDS.items():
            if importlib.util.find_spec(module) is not None:
                names.append(name)
        return names

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        module_name, _ = SUBCOMMANDS[cmd_name]
        if importlib.util.find_spec(module_name) is None:
            return None
        module = importlib.import_module(module_name)
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aprior")
def cli() -> None:
    """aprior: attribution priors for biology.

    Train networks whose expected-gradients explanations obey biological priors, and turn
    their attributions into pathway findings. Every subcommand reads files, writes files and
    prints a short summary; run ``aprior COMMAND --help`` for details.
    """


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="aprior")
