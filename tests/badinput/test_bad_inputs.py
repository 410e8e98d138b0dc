"""The bad-input regression suite: every subcommand, hostile and edge-case inputs.

Each case asserts the promise of the CLI: exit code != 0, **exactly one line on stderr**
(under 300 characters) naming the file or option at fault, no traceback, and **nothing left at
the output path** — no file, directory, ``.partial``, temp or lock file in the case's folder,
and the inputs (the shared ``world`` folder, see ``conftest.py``) byte-for-byte unchanged.

To add a case, append a :class:`Case` to :data:`CASES`: ``args`` may use ``{w}`` (the world of
valid inputs), ``{c}`` (the case's own empty folder, where outputs go) and ``setup`` writes bad
files into ``{c}`` first (helpers below). ``needle`` must appear in the error line.
Cases run in-process through click's ``CliRunner`` (fast); :data:`SUBPROCESS` repeats a few
through a real ``python -m aprior_cli``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from aprior_cli.cli.main import cli

Setup = Callable[[Path, Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    needle: str
    setup: Setup | None = None


# --------------------------------------------------------------------------- setup helpers

def text(name: str, content: str) -> Setup:
    """Write ``content`` to ``{c}/name``."""
    def setup(w: Path, c: Path) -> None:
        (c / name).parent.mkdir(parents=True, exist_ok=True)
        (c / name).write_text(content)
    return setup


def raw(name: str, content: bytes) -> Setup:
    def setup(w: Path, c: Path) -> None:
        (c / name).write_bytes(content)
    return setup


def truncated_gz(name: str, source: str) -> Setup:
    """``{c}/name``: the world file ``source`` gzip-compressed, then cut in half."""
    def setup(w: Path, c: Path) -> None:
        data = gzip.compress((w / source).read_bytes() * 20)
        (c / name).write_bytes(data[: len(data) // 2])
    return setup


def edited(name: str, source: str, edit: Callable[[str], str]) -> Setup:
    """``{c}/name``: the world file ``source`` with its text changed by ``edit``."""
    def setup(w: Path, c: Path) -> None:
        (c / name).write_text(edit((w / source).read_text()))
    return setup


def dup_first_gene_column(t: str) -> str:
    """Rename the second gene column to the first's name (G01 -> G00)."""
    lines = t.splitlines()
    lines[0] = lines[0].replace("G01", "G00", 1)
    return "\n".join(lines) + "\n"


def dup_first_row(t: str) -> str:
    """Repeat the first data row (sample S00 twice)."""
    lines = t.splitlines()
    return "\n".join([lines[0], lines[1], *lines[1:]]) + "\n"


def link(name: str, target: str, hard: bool = False) -> Setup:
    """``{c}/name``: a symbolic (or hard) link to ``{c}/target``, copied from the world."""
    def setup(w: Path, c: Path) -> None:
        (c / target).write_bytes((w / target).read_bytes())
        (os.link if hard else os.symlink)(c / target, c / name)
    return setup


def copy(*names: str) -> Setup:
    """Copy world files into ``{c}`` (for cases whose output would land on an input)."""
    def setup(w: Path, c: Path) -> None:
        for n in names:
            (c / n).write_bytes((w / n).read_bytes())
    return setup


def copy_as(source: str, name: str) -> Setup:
    """``{c}/name``: a copy of the world file ``source``."""
    def setup(w: Path, c: Path) -> None:
        (c / name).parent.mkdir(parents=True, exist_ok=True)
        (c / name).write_bytes((w / source).read_bytes())
    return setup


def copy_run(name: str, damage: Callable[[Path], None] | None = None) -> Setup:
    """``{c}/name``: a copy of the world's finished run, optionally damaged."""
    def setup(w: Path, c: Path) -> None:
        import shutil

        shutil.copytree(w / "run", c / name)
        if damage is not None:
            damage(c / name)
    return setup


def both(*setups: Setup) -> Setup:
    def setup(w: Path, c: Path) -> None:
        for s in setups:
            s(w, c)
    return setup


def manifest(name: str, **fields: object) -> Setup:
    """``{c}/m/<name>.yaml`` (plus the packaged schema) with valid defaults and ``fields``."""
    def setup(w: Path, c: Path) -> None:
        folder = c / "m"
        folder.mkdir(exist_ok=True)
        if not (folder / "schema.json").exists():
            (folder / "schema.json").write_bytes((w / "manifests" / "schema.json").read_bytes())
        data = {"name": name, "url": "http://127.0.0.1:9/sets.gmt", "sha256": "0" * 64,
                "size": 10, "licence": "CC0", "citation": "test", "description": "a test file"}
        data.update(fields)
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(data))
    return setup


def permissive_schema(w: Path, c: Path) -> None:
    """A manifest folder whose own schema.json drops every rule (it must not win)."""
    (c / "m").mkdir(exist_ok=True)
    (c / "m" / "schema.json").write_text(json.dumps({"type": "object"}))


def remove(rel: str) -> Callable[[Path], None]:
    return lambda run: (run / rel).unlink()


def overwrite(rel: str, content: str) -> Callable[[Path], None]:
    return lambda run: (run / rel).write_text(content)


def npz_with_negative_weight(w: Path, c: Path) -> None:
    with np.load(w / "graph.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["adjacency_data"] = -arrays["adjacency_data"]
    np.savez(c / "neg.npz", **arrays)


def stale_scaler_set(w: Path, c: Path) -> None:
    """A scaler beside a matrix whose report names another scaler (a mixed set)."""
    for ext in ("tsv", "scaler.json", "report.json"):
        (c / f"expr.{ext}").write_bytes((w / "pre" / f"expr.{ext}").read_bytes())
    report = json.loads((c / "expr.report.json").read_text())
    report["set"]["scaler_id"] = "0123456789abcdef"
    (c / "expr.report.json").write_text(json.dumps(report))


def incomplete_scaler_set(w: Path, c: Path) -> None:
    """Matrix and scaler without their report (a publish killed before its manifest)."""
    for ext in ("tsv", "scaler.json"):
        (c / f"expr.{ext}").write_bytes((w / "pre" / f"expr.{ext}").read_bytes())


# --------------------------------------------------------------------------- the cases

W, C = "{w}", "{c}"
SIM = ("simulate", "-o", f"{C}/out")
SPLIT = ("split", f"{W}/labels.tsv", "-o", f"{C}/out.tsv")
PRE = ("preprocess", f"{W}/counts.tsv", "--genes-as-rows", "--lengths", f"{W}/lengths.tsv",
       "--no-biotype-filter", "-o", f"{C}/out.tsv")
GRAPH = ("graph", "--edges", f"{W}/edges.tsv", "--expression", f"{W}/expr.tsv",
         "-o", f"{C}/out.npz")
TRAIN = ("train", "--expression", f"{W}/expr.tsv", "--labels", f"{W}/labels.tsv",
         "--hidden", "4", "--epochs", "2", "--device", "cpu", "--threads", "1",
         "-o", f"{C}/run")
ATTR = ("attribute", f"{W}/run", "--expression", f"{W}/expr.tsv", "--n-samples", "5",
        "--device", "cpu", "-o", f"{C}/attr")
ENRICH = ("enrich", f"{W}/ranking.tsv", "--gmt", f"{W}/sets.gmt", "--min-size", "2",
          "--permutations", "10", "-o", f"{C}/enr")
COMPARE = ("compare", f"{W}/run", "-o", f"{C}/cmp")
FETCH = ("fetch", "--manifest-dir", f"{C}/m", "--cache-dir", f"{C}/cache")


def without(args: tuple[str, ...], *drop: str) -> tuple[str, ...]:
    """``args`` with the options in ``drop`` (and their value) removed."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a in drop:
            skip = True
            continue
        out.append(a)
    return tuple(out)


def replace(args: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    return tuple(new if a == old else a for a in args)


CASES: list[Case] = [
    # ---- simulate
    Case("simulate-too-few-samples", (*SIM, "--n-samples", "5"), "--n-samples"),
    Case("simulate-non-integer", (*SIM, "--n-genes", "many"), "--n-genes"),
    Case("simulate-unknown-task", (*SIM, "--task", "survival"), "--task"),
    Case("simulate-negative-seed", (*SIM, "--seed", "-3"), "--seed"),
    Case("simulate-one-module", (*SIM, "--n-modules", "1"), "--n-modules"),
    Case("simulate-outdir-is-file", ("simulate", "-o", f"{C}/afile"), "afile",
         text("afile", "x")),
    # ---- split
    Case("split-missing-file", ("split", f"{C}/nope.tsv", "-o", f"{C}/out.tsv"), "nope.tsv"),
    Case("split-directory-as-file", ("split", f"{W}/run", "-o", f"{C}/out.tsv"), "run"),
    Case("split-empty-file", ("split", f"{C}/l.tsv", "-o", f"{C}/out.tsv"), "l.tsv",
         text("l.tsv", "")),
    Case("split-truncated-gz", ("split", f"{C}/l.tsv.gz", "-o", f"{C}/out.tsv"), "l.tsv.gz",
         truncated_gz("l.tsv.gz", "labels.tsv")),
    Case("split-not-gzip", ("split", f"{C}/l.tsv.gz", "-o", f"{C}/out.tsv"), "l.tsv.gz",
         text("l.tsv.gz", "sample\ttarget\nA\t1\n")),
    Case("split-wrong-delimiter", ("split", f"{C}/l.tsv", "-o", f"{C}/out.tsv"), "l.tsv",
         edited("l.tsv", "labels.tsv", lambda t: t.replace("\t", ","))),
    Case("split-labels-where-no-match", ("split", f"{W}/labels.tsv", "--labels-where",
                                         "group=nobody", "-o", f"{C}/out.tsv"), "nobody"),
    Case("split-duplicated-column", ("split", f"{C}/l.tsv", "-o", f"{C}/out.tsv"), "target",
         edited("l.tsv", "labels.tsv", lambda t: t.replace("\tgroup\t", "\ttarget\t", 1))),
    Case("split-not-utf8", ("split", f"{C}/l.tsv", "-o", f"{C}/out.tsv"), "l.tsv",
         raw("l.tsv", b"sample\ttarget\n\xe9\xff\t1\n")),
    Case("split-unknown-method", (*SPLIT, "--method", "kfold"), "--method"),
    Case("split-nan-fraction", (*SPLIT, "--val-fraction", "nan"), "--val-fraction"),
    Case("split-inf-fraction", (*SPLIT, "--test-fraction", "inf"), "--test-fraction"),
    Case("split-negative-fraction", (*SPLIT, "--val-fraction", "-0.1"), "--val-fraction"),
    Case("split-fractions-sum-to-one", (*SPLIT, "--val-fraction", "0.5", "--test-fraction",
                                        "0.5"), "fraction"),
    Case("split-stratified-continuous", (*SPLIT, "--method", "stratified"), "looks continuous"),
    Case("split-group-without-column", ("split", f"{C}/l.tsv", "--method", "group", "-o",
                                        f"{C}/out.tsv"), "group",
         text("l.tsv", "sample\ttarget\n" + "".join(f"S{i}\t{i}\n" for i in range(20)))),
    Case("split-empty-val", ("split", f"{C}/l.tsv", "--method", "random", "--val-fraction",
                             "0.05", "-o", f"{C}/out.tsv"), "val",
         text("l.tsv", "sample\ttarget\n" + "".join(f"S{i}\t{i}\n" for i in range(6)))),
    Case("split-output-is-input", ("split", f"{C}/labels.tsv", "-o", f"{C}/labels.tsv"),
         "is also an input", copy("labels.tsv")),
    Case("split-output-symlink-to-input", ("split", f"{C}/labels.tsv", "-o", f"{C}/l.tsv"),
         "is also an input", link("l.tsv", "labels.tsv")),
    Case("split-output-hardlink-to-input", ("split", f"{C}/labels.tsv", "-o", f"{C}/l.tsv"),
         "is also an input", link("l.tsv", "labels.tsv", hard=True)),
    Case("split-train-samples-equals-output", (*SPLIT, "--train-samples", f"{C}/out.tsv"),
         "--train-samples"),
    # ---- preprocess
    Case("preprocess-no-orientation", tuple(a for a in PRE if a != "--genes-as-rows"),
         "--genes-as-rows"),
    Case("preprocess-missing-counts", replace(PRE, f"{W}/counts.tsv", f"{C}/nope.tsv"),
         "nope.tsv"),
    Case("preprocess-truncated-gz", replace(PRE, f"{W}/counts.tsv", f"{C}/c.tsv.gz"),
         "c.tsv.gz", truncated_gz("c.tsv.gz", "counts.tsv")),
    Case("preprocess-output-is-input", ("preprocess", f"{C}/counts.tsv", "--genes-as-rows",
                                        "--lengths", f"{W}/lengths.tsv", "-o",
                                        f"{C}/counts.tsv"), "is also an input",
         copy("counts.tsv")),
    Case("preprocess-zero-fraction-out-of-range", (*PRE, "--max-zero-fraction", "2"),
         "--max-zero-fraction"),
    Case("preprocess-zero-fraction-nan", (*PRE, "--max-zero-fraction", "nan"),
         "--max-zero-fraction"),
    Case("preprocess-duplicated-gene", replace(PRE, f"{W}/counts.tsv", f"{C}/c.tsv"),
         "G00", edited("c.tsv", "counts.tsv", lambda t: t.replace("\nG01\t", "\nG00\t"))),
    Case("preprocess-negative-length", replace(PRE, f"{W}/lengths.tsv", f"{C}/len.tsv"),
         "len.tsv", text("len.tsv", "gene\tlength\nG00\t-5\n")),
    Case("preprocess-lengths-and-gtf", (*PRE, "--gtf", f"{W}/edges.tsv"), "--gtf"),
    Case("preprocess-bad-gtf", (*without(PRE, "--lengths"), "--gtf", f"{C}/x.gtf.gz"), "x.gtf",
         truncated_gz("x.gtf.gz", "edges.tsv")),
    Case("preprocess-scaler-bad-json", (*PRE, "--apply-scaler", f"{C}/s.json"), "s.json",
         text("s.json", "{not json")),
    Case("preprocess-scaler-not-a-scaler", (*PRE, "--apply-scaler", f"{C}/s.json"), "s.json",
         text("s.json", '{"format": "something else"}')),
    Case("preprocess-scaler-of-another-matrix", (*PRE, "--apply-scaler",
                                                 f"{C}/expr.scaler.json"),
         "does not belong", stale_scaler_set),
    Case("preprocess-scaler-set-incomplete", (*PRE, "--apply-scaler", f"{C}/expr.scaler.json"),
         "incomplete output set", incomplete_scaler_set),
    Case("preprocess-duplicate-train-sample", (*PRE, "--train-samples", f"{C}/t.txt"), "t.txt",
         text("t.txt", "S00\nS01\nS00\n")),
    Case("preprocess-unknown-normalization", (*PRE, "--normalization", "rpkm"),
         "--normalization"),
    Case("preprocess-non-numeric-counts", replace(PRE, f"{W}/counts.tsv", f"{C}/c.tsv"),
         "c.tsv", edited("c.tsv", "counts.tsv", lambda t: re.sub(r"\nG03\t\d+", "\nG03\tten", t))),
    # ---- graph
    Case("graph-missing-edges", replace(GRAPH, f"{W}/edges.tsv", f"{C}/nope.tsv"), "nope.tsv"),
    Case("graph-negative-weight", replace(GRAPH, f"{W}/edges.tsv", f"{C}/e.tsv"), "line 2",
         text("e.tsv", "G00\tG01\t0.5\nG01\tG02\t-0.7\n")),
    Case("graph-nan-weight", replace(GRAPH, f"{W}/edges.tsv", f"{C}/e.tsv"), "line 1",
         text("e.tsv", "G00\tG01\tnan\nG01\tG02\t0.7\n")),
    Case("graph-negative-weight-after-header", replace(GRAPH, f"{W}/edges.tsv", f"{C}/e.tsv"),
         "line 3", text("e.tsv", "gene1\tgene2\tweight\nG00\tG01\t0.5\nG01\tG02\t-1\n")),
    Case("graph-negative-seed", (*GRAPH, "--random", "same-edges", "--seed", "-1"), "--seed"),
    Case("graph-infinite-weight", replace(GRAPH, f"{W}/edges.tsv", f"{C}/e.tsv"), "line 2",
         text("e.tsv", "G00\tG01\t0.5\nG01\tG02\tinf\n")),
    Case("graph-truncated-gz", replace(GRAPH, f"{W}/edges.tsv", f"{C}/e.tsv.gz"), "e.tsv.gz",
         truncated_gz("e.tsv.gz", "edges.tsv")),
    Case("graph-one-column", replace(GRAPH, f"{W}/edges.tsv", f"{C}/e.tsv"), "e.tsv",
         text("e.tsv", "G00\nG01\n")),
    Case("graph-output-not-npz", replace(GRAPH, f"{C}/out.npz", f"{C}/out.tsv"), "--output"),
    Case("graph-threshold-nan", (*GRAPH, "--threshold", "nan"), "--threshold"),
    Case("graph-threshold-text", (*GRAPH, "--threshold", "high"), "--threshold"),
    Case("graph-negative-swaps", (*GRAPH, "--random", "degree-preserving", "--swaps-per-edge",
                                  "-1"), "--swaps-per-edge"),
    Case("graph-features-and-expression", (*GRAPH, "--features", f"{W}/train.txt"),
         "--features"),
    Case("graph-duplicated-feature", replace(GRAPH, f"{W}/expr.tsv", f"{C}/x.tsv"), "G00",
         edited("x.tsv", "expr.tsv", dup_first_gene_column)),
    Case("graph-unknown-random", (*GRAPH, "--random", "shuffle"), "--random"),
    Case("graph-mapping-without-columns", (*GRAPH, "--mapping", f"{W}/annotation.tsv"),
         "--map-from"),
    # ---- train
    Case("train-lr-nan", (*TRAIN, "--lr", "nan"), "--lr"),
    Case("train-lr-inf", (*TRAIN, "--lr", "inf"), "--lr"),
    Case("train-lambda-nan", (*TRAIN, "--prior", "l1", "--lambda", "nan"), "lambda"),
    Case("train-lambda-grid-nan", (*TRAIN, "--prior", "l1", "--lambda", "1,nan"), "lambda"),
    Case("train-lambda-negative", (*TRAIN, "--prior", "l1", "--lambda", "-1"), "lambda"),
    Case("train-epochs-zero", (*TRAIN, "--epochs", "0"), "--epochs"),
    Case("train-dropout-too-large", (*TRAIN, "--dropout", "1.5"), "--dropout"),
    Case("train-batch-size-text", (*TRAIN, "--batch-size", "big"), "--batch-size"),
    Case("train-threads-zero", (*TRAIN, "--threads", "0"), "--threads"),
    Case("train-negative-seed", (*TRAIN, "--seed", "-1"), "--seed"),
    Case("train-yaml-negative-seed", (*TRAIN, "--config", f"{C}/c.yaml"), "seed",
         text("c.yaml", "seed: -5\n")),
    Case("train-unknown-prior", (*TRAIN, "--prior", "banana"), "--prior"),
    Case("train-duplicated-gene-column", replace(TRAIN, f"{W}/expr.tsv", f"{C}/x.tsv"), "G00",
         edited("x.tsv", "expr.tsv", dup_first_gene_column)),
    Case("train-duplicated-sample-row", replace(TRAIN, f"{W}/expr.tsv", f"{C}/x.tsv"), "S00",
         edited("x.tsv", "expr.tsv", dup_first_row)),
    Case("train-missing-labels", replace(TRAIN, f"{W}/labels.tsv", f"{C}/nope.tsv"),
         "nope.tsv"),
    Case("train-truncated-expression", replace(TRAIN, f"{W}/expr.tsv", f"{C}/x.tsv.gz"),
         "x.tsv.gz", truncated_gz("x.tsv.gz", "expr.tsv")),
    Case("train-bad-yaml", (*TRAIN, "--config", f"{C}/c.yaml"), "c.yaml",
         text("c.yaml", "lr: [1,\n")),
    Case("train-yaml-not-mapping", (*TRAIN, "--config", f"{C}/c.yaml"), "c.yaml",
         text("c.yaml", "- 1\n- 2\n")),
    Case("train-yaml-unknown-key", (*TRAIN, "--config", f"{C}/c.yaml"), "lamda",
         text("c.yaml", "lamda: 1\n")),
    Case("train-yaml-nan", (*TRAIN, "--config", f"{C}/c.yaml"), "lr",
         text("c.yaml", "lr: .nan\n")),
    Case("train-yaml-not-utf8", (*TRAIN, "--config", f"{C}/c.yaml"), "c.yaml",
         raw("c.yaml", b"lr: \xff\xfe\n")),
    Case("train-graph-prior-without-graph", (*TRAIN, "--prior", "graph", "--lambda", "1"),
         "--graph"),
    Case("train-corrupt-graph-npz", (*TRAIN, "--prior", "graph", "--lambda", "1", "--graph",
                                     f"{C}/g.npz"), "g.npz", text("g.npz", "PK not a zip")),
    Case("train-negative-weights-npz", (*TRAIN, "--prior", "graph", "--lambda", "1", "--graph",
                                        f"{C}/neg.npz"), "neg.npz", npz_with_negative_weight),
    Case("train-input-inside-replaced-outdir",
         ("train", "--expression", f"{C}/run/expr.tsv", "--labels", f"{W}/labels.tsv",
          "--epochs", "1", "--overwrite", "-o", f"{C}/run"), "inside",
         text("run/expr.tsv", "sample\tG00\nS00\t1\n")),
    Case("train-resume-finished-other-options", (*TRAIN, "--resume", "--lr", "0.5"),
         "other options", copy_run("run")),
    Case("train-stratified-regression", (*TRAIN, "--split", "stratified"), "--split stratified"),
    Case("train-unknown-device", replace(TRAIN, "cpu", "tpu"), "tpu"),
    # ---- attribute
    Case("attribute-missing-run", replace(ATTR, f"{W}/run", f"{C}/nope"), "nope"),
    Case("attribute-run-not-finished", replace(ATTR, f"{W}/run", f"{C}/r"), "COMPLETE",
         copy_run("r", remove("COMPLETE"))),
    Case("attribute-run-corrupt-model-json", replace(ATTR, f"{W}/run", f"{C}/r"), "model.json",
         copy_run("r", overwrite("model.json", "{broken"))),
    Case("attribute-run-model-json-keys", replace(ATTR, f"{W}/run", f"{C}/r"), "model.json",
         copy_run("r", overwrite("model.json", "{}"))),
    Case("attribute-run-garbage-weights", replace(ATTR, f"{W}/run", f"{C}/r"), "model.pt",
         copy_run("r", overwrite("model.pt", "not a torch file"))),
    Case("attribute-run-missing-features", replace(ATTR, f"{W}/run", f"{C}/r"), "features.txt",
         copy_run("r", remove("features.txt"))),
    Case("attribute-output-inside-run", (*without(replace(ATTR, f"{W}/run", f"{C}/r"), "-o"),
                                         "-o", f"{C}/r/attr"),
         "inside the input directory", copy_run("r")),
    Case("attribute-output-is-run", replace(ATTR, f"{W}/run", f"{C}/r") + ("-o", f"{C}/r"),
         "is also an input", copy_run("r")),
    Case("attribute-n-samples-zero", (*ATTR, "--n-samples", "0"), "--n-samples"),
    Case("attribute-negative-seed", (*ATTR, "--seed", "-2"), "--seed"),
    Case("attribute-unknown-split", (*ATTR, "--split", "holdout"), "--split"),
    Case("attribute-expression-missing-genes", replace(ATTR, f"{W}/expr.tsv", f"{C}/x.tsv"),
         "x.tsv", text("x.tsv", "sample\tA\tB\nS00\t1\t2\n")),
    Case("attribute-truncated-expression", replace(ATTR, f"{W}/expr.tsv", f"{C}/x.tsv.gz"),
         "x.tsv.gz", truncated_gz("x.tsv.gz", "expr.tsv")),
    # ---- enrich
    Case("enrich-missing-ranking", replace(ENRICH, f"{W}/ranking.tsv", f"{C}/nope.tsv"),
         "nope.tsv"),
    Case("enrich-missing-gmt", replace(ENRICH, f"{W}/sets.gmt", f"{C}/nope.gmt"), "nope.gmt"),
    Case("enrich-truncated-gmt", replace(ENRICH, f"{W}/sets.gmt", f"{C}/s.gmt.gz"), "s.gmt.gz",
         truncated_gz("s.gmt.gz", "sets.gmt")),
    Case("enrich-gmt-not-utf8", replace(ENRICH, f"{W}/sets.gmt", f"{C}/s.gmt"), "s.gmt",
         raw("s.gmt", b"SET\tdesc\t\xff\xfe\n")),
    Case("enrich-nan-score", replace(ENRICH, f"{W}/ranking.tsv", f"{C}/r.tsv"), "r.tsv",
         text("r.tsv", "gene\tscore\nG00\t1\nG01\tnan\n")),
    Case("enrich-duplicated-gene", replace(ENRICH, f"{W}/ranking.tsv", f"{C}/r.tsv"), "r.tsv",
         text("r.tsv", "gene\tscore\nG00\t1\nG00\t2\n")),
    Case("enrich-fdr-nan", (*ENRICH, "--fdr", "nan"), "--fdr"),
    Case("enrich-fdr-too-large", (*ENRICH, "--fdr", "2"), "--fdr"),
    Case("enrich-permutations-zero", (*ENRICH, "--permutations", "0"), "--permutations"),
    Case("enrich-unknown-method", (*ENRICH, "--method", "gsva"), "gsva"),
    Case("enrich-top-k-zero", (*ENRICH, "--top-k", "0"), "--top-k"),
    Case("enrich-outdir-is-file", replace(ENRICH, f"{C}/enr", f"{C}/afile"), "afile",
         text("afile", "x")),
    Case("enrich-top-k-above-ranking", (*ENRICH, "--top-k", "100000"), "--top-k"),
    Case("enrich-output-is-ranking", replace(ENRICH, f"{W}/ranking.tsv", f"{C}/ranking.tsv")
         [:-1] + (f"{C}/ranking.tsv",), "ranking.tsv", copy("ranking.tsv")),
    # ---- compare
    Case("compare-missing-run", replace(COMPARE, f"{W}/run", f"{C}/nope"), "nope"),
    Case("compare-unfinished-run", replace(COMPARE, f"{W}/run", f"{C}/r"), "COMPLETE",
         copy_run("r", remove("COMPLETE"))),
    Case("compare-output-inside-run", replace(COMPARE, f"{C}/cmp", f"{W}/run/cmp"),
         "inside the input directory"),
    Case("compare-unknown-metric", (*COMPARE, "--metric", "test_magic"), "--metric"),
    Case("compare-unknown-correction", (*COMPARE, "--correction", "sidak"), "--correction"),
    # ---- report
    Case("report-run-not-laid-out", ("report", f"{W}/run", "-o", f"{C}/r.html"), "run"),
    Case("report-output-is-truth", ("report", f"{C}/m/lambda_0/seed_0", "--truth",
                                    f"{C}/truth.json", "-o", f"{C}/truth.json"),
         "is also an input", both(copy("truth.json"), copy_run("m/lambda_0/seed_0"))),
    Case("report-bad-truth-json", ("report", f"{C}/m/lambda_0/seed_0", "--truth", f"{C}/t.json",
                                   "-o", f"{C}/r.html"), "t.json",
         both(text("t.json", "[1, 2"), copy_run("m/lambda_0/seed_0"))),
    Case("report-top-zero", ("report", f"{W}/run", "--top", "0", "-o", f"{C}/r.html"), "--top"),
    # ---- fetch
    Case("fetch-url-path-traversal", (*FETCH, "evil"), "unsafe cache file name",
         manifest("evil", url="http://127.0.0.1:9/x/..%2F..%2Fpwned.txt")),
    Case("fetch-filename-traversal", (*FETCH, "evil"), "filename",
         manifest("evil", filename="../../pwned.txt")),
    Case("fetch-own-schema-drops-rules", (*FETCH, "evil"), "filename",
         both(permissive_schema, manifest("evil", filename="../pwned.txt"))),
    Case("fetch-filename-dotdot", (*FETCH, "evil"), "evil.yaml",
         both(permissive_schema, manifest("evil", filename=".."))),
    Case("fetch-unknown-name", (*FETCH, "nothing"), "nothing", manifest("good")),
    Case("fetch-bad-yaml", (*FETCH, "bad"), "bad.yaml",
         both(manifest("good"), text("m/bad.yaml", "name: [bad\n"))),
    Case("fetch-unverified-without-flag", (*FETCH, "unv"), "--allow-unverified",
         manifest("unv", sha256=None)),
    Case("fetch-offline-not-cached", (*FETCH, "good", "--offline"), "--offline",
         manifest("good")),
    Case("fetch-manifest-dir-missing", ("fetch", "--manifest-dir", f"{C}/absent", "x"),
         "absent"),
    # ---- bench
    Case("bench-repeats-zero", ("bench", "--quick", "--repeats", "0"), "--repeats"),
    Case("bench-bad-shapes", ("bench", "--shapes", "big"), "--shapes"),
    Case("bench-output-is-directory", ("bench", "--quick", "--output", f"{C}/d"), "d",
         text("d/x", "")),
    # ---- moons
    Case("moons-bad-p", ("moons", "--p", "many", "-o", f"{C}/m"), "--p"),
    Case("moons-zero-datasets", ("moons", "--datasets", "0", "-o", f"{C}/m"), "--datasets"),
    Case("moons-zero-epochs", ("moons", "--epochs", "0", "-o", f"{C}/m"), "--epochs"),
    # ---- reproduce
    Case("reproduce-unknown-experiment", ("reproduce", "fig9", "-o", f"{C}/r"), "fig9"),
    Case("reproduce-zero-replicates", ("reproduce", "eg-convergence", "--replicates", "0",
                                       "-o", f"{C}/r"), "--replicates"),
    Case("reproduce-outdir-is-file", ("reproduce", "eg-convergence", "--quick", "-o",
                                      f"{C}/afile"), "afile", text("afile", "x")),
    Case("reproduce-output-inside-data-dir", ("reproduce", "eg-convergence", "--quick",
                                              "--data-dir", f"{W}", "-o", f"{W}/out"),
         "inside the input directory"),
    # ---- select (lambda chosen on validation)
    Case("select-missing-run", ("select", f"{C}/nope", "-o", f"{C}/sel"), "nope"),
    Case("select-not-a-run", ("select", f"{W}/pre", "-o", f"{C}/sel"), "not a finished run"),
    Case("select-unknown-rule", ("select", f"{W}/run", "--rule", "median", "-o", f"{C}/sel"),
         "median"),
    Case("select-output-is-the-run", ("select", f"{W}/run", "-o", f"{W}/run"), "run"),
    Case("select-existing-outdir", ("select", f"{W}/run", "-o", f"{C}/sel"), "already exists",
         text("sel/old.txt", "an earlier selection\n")),
    # ---- consensus (seed ensembles)
    Case("consensus-missing-ranking", ("consensus", f"{C}/nope", f"{W}/ranking.tsv", "-o",
                                       f"{C}/cons"), "nope"),
    Case("consensus-same-ranking-twice", ("consensus", f"{W}/ranking.tsv", f"{W}/ranking.tsv",
                                          "-o", f"{C}/cons"), "twice"),
    Case("consensus-top-k-zero", ("consensus", f"{W}/ranking.tsv", "--top-k", "0", "-o",
                                  f"{C}/cons"), "--top-k"),
    Case("consensus-interval-nan", ("consensus", f"{W}/ranking.tsv", "--interval", "nan", "-o",
                                    f"{C}/cons"), "--interval"),
    Case("consensus-negative-importance", ("consensus", f"{C}/r.tsv", f"{W}/ranking.tsv", "-o",
                                           f"{C}/cons"), "r.tsv",
         text("r.tsv", "feature\tmean_abs_attribution\nG00\t-1\nG01\t2\n")),
    Case("consensus-output-holds-input", ("consensus", f"{C}/in/ranking.tsv", "--overwrite",
                                          "-o", f"{C}/in"),
         "inside", copy_as("ranking.tsv", "in/ranking.tsv")),
    # ---- predict
    Case("predict-missing-run", ("predict", f"{C}/nope", "--expression", f"{W}/expr.tsv", "-o",
                                 f"{C}/p.tsv"), "nope"),
    Case("predict-output-is-expression", ("predict", f"{W}/run", "--expression", f"{C}/x.tsv",
                                          "-o", f"{C}/x.tsv"), "x.tsv",
         copy_as("expr.tsv", "x.tsv")),
    Case("predict-missing-genes", ("predict", f"{W}/run", "--expression", f"{C}/x.tsv", "-o",
                                   f"{C}/p.tsv"), "x.tsv",
         edited("x.tsv", "expr.tsv", lambda t: "\n".join(
             "\t".join(line.split("\t")[:3]) for line in t.splitlines()) + "\n")),
    Case("predict-unknown-split", ("predict", f"{W}/run", "--expression", f"{W}/expr.tsv",
                                   "--split", "holdout", "-o", f"{C}/p.tsv"), "holdout"),
    # ---- label columns, filters, long tables (own layouts)
    Case("train-target-column-missing", (*TRAIN, "--target-column", "LN_IC50"), "LN_IC50"),
    Case("train-labels-where-without-equals", (*TRAIN, "--labels-where", "DRUG_NAME"),
         "--labels-where"),
    Case("train-labels-where-matches-nothing", (*TRAIN, "--labels-where", "group=nobody"),
         "nobody"),
    Case("train-expression-long-two-columns", (*TRAIN, "--expression-long", "a,b"),
         "--expression-long"),
    Case("train-unknown-target-scaling", (*TRAIN, "--target-scaling", "minmax"), "minmax"),
    Case("split-sample-column-missing", (*SPLIT, "--sample-column", "SANGER_MODEL_ID"),
         "SANGER_MODEL_ID"),
    Case("preprocess-long-column-missing", ("preprocess", f"{W}/counts.tsv", "--long",
                                            "model_id,gene,count", "--lengths",
                                            f"{W}/lengths.tsv", "--no-biotype-filter", "-o",
                                            f"{C}/out.tsv"), "model_id"),
    Case("preprocess-long-repeated-pair", ("preprocess", f"{C}/long.tsv", "--long",
                                           "s,g,v", "--lengths", f"{W}/lengths.tsv",
                                           "--no-biotype-filter", "-o", f"{C}/out.tsv"),
         "appears twice", text("long.tsv", "s\tg\tv\nS1\tG00\t3\nS1\tG00\t4\n")),
    Case("enrich-unknown-universe", (*ENRICH, "--universe", "genome"), "genome"),
]

#: ids of the cases also run through a real subprocess (one per kind of failure)
SUBPROCESS = ["split-truncated-gz", "preprocess-output-is-input", "train-lr-nan",
              "graph-negative-weight", "fetch-url-path-traversal", "attribute-output-inside-run",
              "consensus-same-ranking-twice", "train-labels-where-matches-nothing"]


# --------------------------------------------------------------------------- the checks

def _fill(args: tuple[str, ...], w: Path, c: Path) -> list[str]:
    return [a.replace("{w}", str(w)).replace("{c}", str(c)) for a in args]


def _snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 (files) or 'dir' / 'link' for everything under ``folder``."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = "link"
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _check(case: Case, stderr: str, code: int, world: Path, c: Path,
           before_world: dict, before_case: dict) -> None:
    assert code != 0, f"{case.id}: exit code 0"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{case.id}: stderr has {len(lines)} lines:\n{stderr}"
    line = lines[0]
    assert len(line) < 300, f"{case.id}: {len(line)} characters: {line}"
    assert "Traceback" not in stderr and "Aborted" not in line, f"{case.id}: {stderr}"
    assert case.needle in line, f"{case.id}: {case.needle!r} not in {line!r}"
    assert _snapshot(c) == before_case, f"{case.id}: left files in the case folder"
    assert _snapshot(world) == before_world, f"{case.id}: changed the inputs"


@pytest.fixture
def case_dir(tmp_path) -> Path:
    c = tmp_path / "case"
    c.mkdir()
    return c


def test_the_suite_is_large_and_ids_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 80
    commands = {c.args[0] for c in CASES}
    from aprior_cli.cli.main import SUBCOMMANDS

    assert commands == set(SUBCOMMANDS)  # every registered subcommand has bad inputs
    assert set(SUBPROCESS) <= set(ids)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input(case: Case, world: Path, case_dir: Path, monkeypatch) -> None:
    monkeypatch.delenv("APRIOR_SHARED_DATA", raising=False)
    if case.setup is not None:
        case.setup(world, case_dir)
    before_world, before_case = _snapshot(world), _snapshot(case_dir)
    result = CliRunner().invoke(cli, _fill(case.args, world, case_dir))
    _check(case, result.stderr, result.exit_code, world, case_dir, before_world, before_case)


@pytest.mark.parametrize("case_id", SUBPROCESS)
def test_bad_input_subprocess(case_id: str, world: Path, case_dir: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    if case.setup is not None:
        case.setup(world, case_dir)
    before_world, before_case = _snapshot(world), _snapshot(case_dir)
    env = {k: v for k, v in os.environ.items() if k != "APRIOR_SHARED_DATA"}
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", *_fill(case.args, world,
                                                                     case_dir)],
                          capture_output=True, text=True, env=env, timeout=120)
    _check(case, proc.stderr, proc.returncode, world, case_dir, before_world, before_case)
