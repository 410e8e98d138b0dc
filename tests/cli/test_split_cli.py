"""`aprior split` (python -m aprior_cli.cli.split): the split shared by preprocess and train."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from aprior_cli.cli.split import command
from aprior_cli.training.splits import group_split


@pytest.fixture
def labels(tmp_path):
    rng = np.random.default_rng(0)
    n = 40
    table = pd.DataFrame({"sample": [f"S{i:02d}" for i in range(n)],
                          "target": rng.normal(size=n).round(3),
                          "group": [f"P{i // 2:02d}" for i in range(n)]})  # 2 samples/patient
    path = tmp_path / "labels.tsv"
    table.to_csv(path, sep="\t", index=False)
    return path, table


def run(*args):
    return CliRunner().invoke(command, [str(a) for a in args])


def test_group_split_keeps_patients_together(tmp_path, labels):
    path, table = labels
    out, train = tmp_path / "splits.tsv", tmp_path / "train.txt"
    result = run(path, "--seed", 3, "-o", out, "--train-samples", train)
    assert result.exit_code == 0, result.output
    splits = pd.read_csv(out, sep="\t", dtype=str)
    assert list(splits.columns) == ["sample", "split"]
    assert list(splits["sample"]) == list(table["sample"])
    merged = splits.merge(table, on="sample")
    assert (merged.groupby("group")["split"].nunique() == 1).all()
    # the same assignment `aprior train --split group --seed 3` would make
    expected = group_split(table["group"].to_numpy(), 0.2, 0.2, 3)
    assert list(splits["split"]) == list(expected)
    assert train.read_text().split() == list(splits.loc[splits["split"] == "train", "sample"])
    assert "train" in result.output and str(out) in result.output


def test_seed_changes_and_fixes_the_split(tmp_path, labels):
    path, _ = labels
    outs = []
    for i, seed in enumerate([0, 0, 1]):
        out = tmp_path / f"s{i}.tsv"
        assert run(path, "--seed", seed, "--method", "random", "-o", out).exit_code == 0
        outs.append(out.read_text())
    assert outs[0] == outs[1] != outs[2]


def test_fractions_are_respected_by_random_split(tmp_path, labels):
    path, _ = labels
    out = tmp_path / "s.tsv"
    assert run(path, "--method", "random", "--val-fraction", 0.25, "--test-fraction", 0.1,
               "-o", out).exit_code == 0
    counts = pd.read_csv(out, sep="\t")["split"].value_counts()
    assert (counts["train"], counts["val"], counts["test"]) == (26, 10, 4)


@pytest.mark.parametrize("case", ["no_group", "no_sample", "duplicate", "missing_file",
                                  "bad_fraction", "same_paths"])
def test_bad_input_one_line_no_output(tmp_path, labels, case):
    path, table = labels
    if case == "no_group":
        table.drop(columns="group").to_csv(path, sep="\t", index=False)
    elif case == "no_sample":
        table.rename(columns={"sample": "id"}).to_csv(path, sep="\t", index=False)
    elif case == "duplicate":  # a repeated sample must keep one group (its rows: one split)
        twin = table.head(1).assign(group="another_group")
        pd.concat([table, twin]).to_csv(path, sep="\t", index=False)
    elif case == "missing_file":
        path = tmp_path / "absent.tsv"
    out = tmp_path / "out" / "splits.tsv"
    train = out if case == "same_paths" else tmp_path / "out" / "train.txt"
    extra = ["--test-fraction", "1.5"] if case == "bad_fraction" else []
    result = run(path, "-o", out, "--train-samples", train, *extra)
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error:")
    assert not out.exists() and not train.exists()


def test_runs_as_a_module_in_a_subprocess(tmp_path, labels):
    path, _ = labels
    out = tmp_path / "splits.tsv"
    proc = subprocess.run([sys.executable, "-m", "aprior_cli.cli.split", str(path), "-o",
                           str(out), "-q"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert set(pd.read_csv(out, sep="\t")["split"]) == {"train", "val", "test"}
    bad = subprocess.run([sys.executable, "-m", "aprior_cli.cli.split", str(tmp_path / "x.tsv"),
                          "-o", str(tmp_path / "y.tsv")], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
