"""``aprior simulate``: write a synthetic study whose ground truth is known.

Files written into ``-o DIR`` (each atomically; ``truth.json`` last):
``counts.tsv`` (genes x samples, first column ``gene``), ``gene_lengths.tsv``,
``gene_annotation.tsv``, ``edges.tsv.gz`` (headerless ``gene1 gene2 weight``), ``labels.tsv``
(``sample, target, group, batch``), ``meta_features.tsv``, ``pathways.gmt`` and ``truth.json``.
The same ``--seed`` gives byte-identical files.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import click

from aprior_cli.cli.common import (
    Command,
    echo_summary,
    handle_errors,
    outdir_option,
    seed_option,
    verbosity_options,
)
from aprior_cli.io.atomic import atomic_path, atomic_write_json, atomic_write_text
from aprior_cli.io.outputs import claim_outputs
from aprior_cli.simulate import TASKS, SimulatedStudy, SimulationConfig, simulate_study

DEFAULTS = SimulationConfig()

#: output file name -> what it holds (also the order in which they are written)
OUTPUT_FILES = {
    "counts.tsv": "raw read counts, genes x samples",
    "gene_lengths.tsv": "gene, length (bp)",
    "gene_annotation.tsv": "gene, biotype",
    "edges.tsv.gz": "HumanBase-style gene1 gene2 weight (headerless)",
    "labels.tsv": "sample, target, group (patient), batch",
    "meta_features.tsv": "gene, per-gene meta-features",
    "pathways.gmt": "gene sets: the driver module among decoys",
    "truth.json": "driver module/genes/pathway and all parameters",
}


def gmt_text(pathways: dict[str, list[str]], description: str = "aprior simulated gene set") -> str:
    """GMT text: one line per set, ``name<TAB>description<TAB>gene<TAB>gene...``."""
    return "".join(f"{name}\t{description}\t" + "\t".join(genes) + "\n"
                   for name, genes in pathways.items())


def write_study(study: SimulatedStudy, outdir: Path) -> list[Path]:
    """Write the files of ``study`` into ``outdir`` (atomically, reproducibly); return them."""
    outdir.mkdir(parents=True, exist_ok=True)
    tables = {
        "counts.tsv": (study.counts, True),
        "gene_lengths.tsv": (study.gene_lengths, False),
        "gene_annotation.tsv": (study.gene_annotation, False),
        "labels.tsv": (study.labels, False),
        "meta_features.tsv": (study.meta_features, False),
    }
    written = []
    for name in OUTPUT_FILES:
        path = outdir / name
        if name in tables:
            df, index = tables[name]
            with atomic_path(path) as tmp:
                df.to_csv(tmp, sep="\t", index=index, lineterminator="\n")
        elif name == "edges.tsv.gz":
            buffer = io.StringIO()
            study.edges.to_csv(buffer, sep="\t", index=False, header=False, lineterminator="\n")
            with atomic_path(path) as tmp, open(tmp, "wb") as raw, \
                    gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                # fixed mtime and no file name in the header: same seed -> same bytes
                gz.write(buffer.getvalue().encode())
        elif name == "pathways.gmt":
            atomic_write_text(path, gmt_text(study.pathways))
        elif name == "truth.json":
            atomic_write_json(path, study.truth)
        written.append(path)
    return written


@click.command("simulate", cls=Command)
@outdir_option(help="Directory to write the study into (created if missing).")
@click.option("--n-samples", type=int, default=DEFAULTS.n_samples, show_default=True,
              help="Samples (columns of counts.tsv).")
@click.option("--n-genes", type=int, default=DEFAULTS.n_genes, show_default=True,
              help="Genes (rows of counts.tsv).")
@click.option("--n-modules", type=int, default=DEFAULTS.n_modules, show_default=True,
              help="Co-expressed gene modules; one drives the phenotype.")
@click.option("--module-size", type=int, default=DEFAULTS.module_size, show_default=True,
              help="Genes per module.")
@click.option("--n-batches", type=int, default=DEFAULTS.n_batches, show_default=True,
              help="Sequencing batches (with a batch effect).")
@click.option("--task", type=click.Choice(TASKS), default=DEFAULTS.task, show_default=True,
              help="Continuous target, or a 0/1 target.")
@seed_option(help="Random seed; the same seed writes identical files.")
@verbosity_options
@handle_errors
def command(outdir: str, n_samples: int, n_genes: int, n_modules: int, module_size: int,
            n_batches: int, task: str, seed: int, verbose: int, quiet: bool) -> None:
    """Write a realistic synthetic RNA-seq study whose ground truth is known.

    Negative-binomial counts with realistic library sizes and gene lengths, patients and
    batches, co-expressed modules, a HumanBase-style edge file, a phenotype driven by ONE
    module, per-gene meta-features and a GMT in which the driver module is one pathway among
    decoys. truth.json names the driver module, its genes and its pathway.

    \b
    Example:
      aprior simulate -o sim --seed 1
    """
    config = SimulationConfig(n_samples=n_samples, n_genes=n_genes, n_modules=n_modules,
                              module_size=module_size, n_batches=n_batches, task=task, seed=seed)
    outs = claim_outputs(directory=outdir)
    study = simulate_study(config)          # validates before anything is written
    write_study(study, outs.staging)
    outs.publish()
    truth = study.truth
    lib = study.counts.sum(axis=0)
    echo_summary(quiet, (
        f"simulated {n_samples} samples x {n_genes} genes ({truth['n_patients']} patients, "
        f"{n_batches} batches; library sizes {lib.min() / 1e6:.1f}-{lib.max() / 1e6:.1f} M reads), "
        f"{len(study.edges)} edges, {len(study.pathways)} pathways, task {task}\n"
        f"driver: {truth['driver_module']} ({module_size} genes) = {truth['driver_pathway']}\n"
        f"wrote {', '.join(OUTPUT_FILES)} to {outdir}"))
