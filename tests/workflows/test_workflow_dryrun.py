"""Dry runs of the workflow (local and SLURM profiles) and its lint."""

from __future__ import annotations

import os
import re

import pytest


def job_counts(stdout: str) -> dict[str, int]:
    """The ``Job stats`` table of a dry run as {rule: count}."""
    table = stdout.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        counts[match.group(1)] = int(match.group(2))
    return counts


def jobs_of(stdout: str, rule: str) -> list[str]:
    """The text block of every job of ``rule`` in a dry run."""
    blocks = re.split(r"\n(?=\[[^\]]+\]\n(?:local)?rule )", stdout)
    return [b for b in blocks if re.search(rf"\nrule {rule}:\n", "\n" + b.split("\n", 1)[-1])]


@pytest.fixture(scope="module")
def demo_dry_run(snakemake, workflow, tmp_path_factory):
    """One dry run of the demo config, shared by the tests that read its plan."""
    workdir = tmp_path_factory.mktemp("demo-dry-run")
    result = snakemake("-n", "--cores", "2", "--configfile", str(workflow.demo_config),
                       "--directory", str(workdir))
    assert result.returncode == 0, result.stderr[-2000:]
    return result, workdir


def test_dry_run_of_the_demo_plans_every_step(demo_dry_run):
    result, workdir = demo_dry_run
    counts = job_counts(result.stdout)
    # 3 seeds x (the baseline + 5 prior methods x a grid of 4 lambdas); one selection and one
    # attribution per method and seed; one consensus and one enrichment per method
    assert counts["train"] == 3 * (1 + 5 * 4)
    assert counts["select"] == counts["attribute"] == 6 * 3
    assert counts["consensus"] == counts["enrich"] == 6
    assert counts["split"] == counts["preprocess"] == counts["graph"] == 3
    assert counts["random_graph"] == 3
    assert counts["simulate"] == counts["compare"] == counts["report"] == 1
    assert "results/report/report.html" in result.stdout
    # nothing was run or written
    assert not (workdir / "results").exists()


def test_dry_run_of_the_test_config(snakemake, workflow, tmp_path):
    result = snakemake("-n", "--cores", "2", "--configfile", str(workflow.test_config),
                       "--directory", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert counts["train"] == 2 * (1 + 2 + 1 + 1 + 1)  # graph_eg has a grid of two lambdas
    assert counts["preprocess"] == 2 and counts["consensus"] == 5


def test_lambda_grid_multiplies_the_prior_methods_only(snakemake, workflow, tmp_path):
    config = tmp_path / "grid.yaml"
    config.write_text("seeds: [0, 1]\nlambdas: [0.1, 1, 10]\n")
    result = snakemake("-n", "--cores", "1", "--configfile", str(config),
                       "--directory", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-2000:]
    # baseline: 2 seeds; five prior methods x 3 lambdas x 2 seeds
    assert job_counts(result.stdout)["train"] == 2 + 5 * 3 * 2
    assert "results/runs/graph_eg/lambda_0.1/seed_1" in result.stdout
    assert "results/runs/baseline/lambda_0/seed_1" in result.stdout


def test_training_commands_carry_method_options(demo_dry_run):
    result, _ = demo_dry_run
    trains = [line for line in result.stdout.splitlines()
              if line.startswith("Shell command: aprior train")]
    assert len(trains) == 63
    random_run = next(t for t in trains if "-o results/runs/random_graph/lambda_1/seed_2" in t)
    # trained on the random control, penalty reported on the real graph
    assert "--graph results/graph/seed_2/random.npz" in random_run
    assert "--eval-graph results/graph/seed_2/graph.npz" in random_run
    grad_run = next(t for t in trains if "runs/graph_grad/lambda_1/seed_0" in t)
    assert "--prior graph --attribution grad" in grad_run
    baseline = next(t for t in trains if "runs/baseline/lambda_0/seed_0" in t)
    assert "--prior none" in baseline and "--lambda" not in baseline
    dapr = next(t for t in trains if "runs/dapr/lambda_1/seed_1" in t)
    assert "--meta-features resources/study/meta_features.tsv" in dapr
    assert all("--split file --split-file results/splits/seed_" in t for t in trains)


def resources_of(block: str) -> str:
    return re.search(r"resources: (.*)", block).group(1)


def test_slurm_profile_sizes_jobs_from_the_config_cpu_only(snakemake, workflow, tmp_path):
    # a dry run never calls sbatch: this must work on a machine without SLURM
    result = snakemake("-n", "--profile", "profiles/slurm", "--configfile",
                       str(workflow.demo_config), "--directory", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "profiles/slurm" in result.stdout + result.stderr
    trains = jobs_of(result.stdout, "train")
    assert len(trains) == 63
    for block in trains:  # resources.train of config.yaml, no GPU
        resources = resources_of(block)
        assert "mem_mb=2000" in resources and "runtime=30" in resources
        assert "gpu=" not in resources
        assert "slurm_partition=<cpu-partition>" in resources
        assert "slurm_account=<your-account>" in resources
    enrich = jobs_of(result.stdout, "enrich")
    assert enrich and all("mem_mb=1000" in resources_of(b) and "runtime=15" in resources_of(b)
                          and "gpu=" not in resources_of(b) for b in enrich)


def test_gpu_is_opt_in_per_rule(snakemake, workflow, tmp_path):
    config = tmp_path / "gpu.yaml"
    config.write_text("seeds: [0]\nresources:\n  train: {gpu: 1, partition: gpu-part, "
                      "mem_mb: 8000}\n  default: {runtime: 20}\n")
    result = snakemake("-n", "--profile", "profiles/slurm", "--configfile", str(config),
                       "--directory", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-2000:]
    trains = jobs_of(result.stdout, "train")
    assert len(trains) == 1 + 5 * 4
    for block in trains:
        resources = resources_of(block)
        assert "gpu=1" in resources and "slurm_partition=gpu-part" in resources
        assert "mem_mb=8000" in resources and "runtime=30" in resources  # train's own default
    for block in jobs_of(result.stdout, "attribute") + jobs_of(result.stdout, "graph"):
        assert "gpu=" not in resources_of(block)
        assert "slurm_partition=<cpu-partition>" in resources_of(block)
    assert all("runtime=20" in resources_of(b) for b in jobs_of(result.stdout, "graph"))


def test_train_and_attribute_jobs_resume(demo_dry_run):
    result, _ = demo_dry_run
    commands = [line for line in result.stdout.splitlines()
                if line.startswith(("Shell command: aprior train",
                                    "Shell command: aprior attribute"))]
    assert len(commands) == 63 + 18
    assert all(" --resume " in c for c in commands)


def test_paths_with_spaces_stay_one_shell_word(snakemake, tmp_path):
    import shlex

    data = tmp_path / "my data"
    data.mkdir()
    config = tmp_path / "files.yaml"
    lines = ["inputs:", "  source: files", "  files:"]
    for key in ("counts", "gene_lengths", "annotation", "edges", "labels", "meta_features",
                "gmt", "truth"):
        (data / f"{key} file.tsv").write_text("x\n")
        lines.append(f'    {key}: "{data / f"{key} file.tsv"}"')
    config.write_text("\n".join([*lines, "seeds: [0]"]) + "\n")
    workdir = tmp_path / "dir with spaces"
    result = snakemake("-n", "--cores", "1", "--configfile", str(config), "--directory",
                       str(workdir))
    assert result.returncode == 0, result.stderr[-2000:]
    commands = [line.split("Shell command: ", 1)[1] for line in result.stdout.splitlines()
                if line.startswith("Shell command: aprior ")]
    # split, preprocess, 2 graphs, 21 trainings, per method a selection, attribution,
    # consensus and enrichment, compare, report
    assert len(commands) == 1 + 1 + 2 + 21 + 6 * 4 + 1 + 1
    for command in commands:
        words = shlex.split(command)
        for word in words:
            assert not word.startswith(str(data)) or word.endswith(" file.tsv"), command
    words = {w for c in commands for w in shlex.split(c)}
    for key in ("counts", "gene_lengths", "annotation", "edges", "labels", "meta_features",
                "gmt", "truth"):
        assert str(data / f"{key} file.tsv") in words, key


def test_data_dir_is_exported_to_the_jobs(snakemake, workflow, tmp_path):
    # a stand-in `aprior` first on PATH records what a job sees, then fails the job
    fake = tmp_path / "bin"
    fake.mkdir()
    record = tmp_path / "seen.txt"
    (fake / "aprior").write_text(f'#!/bin/sh\necho "$APRIOR_DATA_DIR" > "{record}"\nexit 3\n')
    (fake / "aprior").chmod(0o755)
    config = tmp_path / "cache.yaml"
    config.write_text("data_dir: lab cache\nseeds: [0]\n")
    workdir = tmp_path / "work"
    result = snakemake("--cores", "1", "--configfile", str(config), "--directory",
                       str(workdir), "--until", "simulate",
                       env={"PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"})
    assert result.returncode != 0  # the stand-in fails the job on purpose
    assert record.read_text().strip() == str(workdir / "lab cache")


def test_lint_is_clean(snakemake, workflow, tmp_path):
    result = snakemake("--lint", "--configfile", str(workflow.demo_config), "--directory",
                       str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Congratulations, your workflow is in a good condition!" in (result.stdout
                                                                        + result.stderr)


def test_invalid_config_stops_before_any_job(snakemake, tmp_path):
    # (which configs are invalid is tested in-process in test_workflow_config.py)
    config = tmp_path / "bad.yaml"
    config.write_text("methods: {x: {prior: smooth}}\n")
    result = snakemake("-n", "--cores", "1", "--configfile", str(config), "--directory",
                       str(tmp_path / "out"))
    assert result.returncode != 0
    assert "validat" in (result.stdout + result.stderr).lower()


def test_user_methods_replace_the_demo_methods(snakemake, tmp_path):
    config = tmp_path / "mine.yaml"
    config.write_text("methods:\n  sparse: {prior: gini, lambdas: [0.5]}\nseeds: [4]\n")
    result = snakemake("-n", "--cores", "1", "--configfile", str(config), "--directory",
                       str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert counts["train"] == 1
    # the real graph is still built (every run reports its test-set graph penalty); no control
    assert counts["graph"] == 1 and "random_graph" not in counts
    assert "results/runs/sparse/lambda_0.5/seed_4" in result.stdout


def user_files_config(tmp_path, meta_features: bool) -> str:
    lines = ["inputs:", "  source: files", "  files:"]
    for key in ("counts", "gene_lengths", "edges", "labels", "gmt"):
        (tmp_path / f"{key}.tsv").write_text("x\n")
        lines.append(f"    {key}: {tmp_path / f'{key}.tsv'}")
    if meta_features:
        (tmp_path / "meta.tsv").write_text("x\n")
        lines.append(f"    meta_features: {tmp_path / 'meta.tsv'}")
    lines.append("seeds: [0]")
    return "\n".join(lines) + "\n"


def test_user_files_replace_the_simulation(snakemake, tmp_path):
    config = tmp_path / "files.yaml"
    config.write_text(user_files_config(tmp_path, meta_features=True))
    result = snakemake("-n", "--cores", "1", "--configfile", str(config), "--directory",
                       str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    assert "simulate" not in counts and counts["train"] == 1 + 5 * 4
    preprocess = next(line for line in result.stdout.splitlines()
                      if line.startswith("Shell command: aprior preprocess"))
    assert f"aprior preprocess {tmp_path / 'counts.tsv'} --lengths" in preprocess
    assert "--genes-as-rows" in preprocess and "--annotation" not in preprocess
    # no truth.json: the report is written without the planted-pathway highlight
    report = next(line for line in result.stdout.splitlines()
                  if "aprior report" in line)
    assert "--truth" not in report


def test_dapr_without_meta_features_is_a_clear_error(snakemake, tmp_path):
    config = tmp_path / "files.yaml"
    config.write_text(user_files_config(tmp_path, meta_features=False))
    result = snakemake("-n", "--cores", "1", "--configfile", str(config), "--directory",
                       str(tmp_path / "out"))
    assert result.returncode != 0
    assert "methods.dapr: prior dapr needs inputs.files.meta_features" in (result.stdout
                                                                           + result.stderr)


def test_own_layouts_reach_every_command(snakemake, tmp_path):
    """Lists of edge and GMT files, an id mapping, a long counts table and named, filtered
    label columns go to the commands that need them (docs/configs/gdsc-olaparib.yaml uses
    the same keys on real data)."""
    import shlex

    files = {name: tmp_path / name for name in ("counts.csv.gz", "lengths.tsv", "hm90.txt",
                                                 "cancer.txt", "map.txt", "resp.tsv", "h.gmt",
                                                 "kegg.gmt", "extra.txt")}
    for path in files.values():
        path.write_text("x\n")
    f = {k: str(v) for k, v in files.items()}
    config = tmp_path / "own.yaml"
    config.write_text(f"""
inputs:
  source: files
  files:
    counts: {f['counts.csv.gz']}
    long: model_id,gene_symbol,read_count
    gene_lengths: {f['lengths.tsv']}
    edges: [{f['hm90.txt']}, {f['extra.txt']}]
    feature_edges: [{f['cancer.txt']}]
    mapping: {{file: {f['map.txt']}, from: entrezgene_id, to: external_gene_name}}
    labels: {f['resp.tsv']}
    gmt: [{f['h.gmt']}, {f['kegg.gmt']}]
labels:
  sample_column: SANGER_MODEL_ID
  target_column: LN_IC50
  where: [DRUG_NAME=Olaparib]
  unmatched: drop
  covariates: [TISSUE]
split: {{method: random}}
seeds: [0]
methods: {{baseline: {{prior: none}}, graph_eg: {{prior: graph, lambdas: [1]}}}}
""")
    result = snakemake("-n", "--cores", "1", "--configfile", str(config), "--directory",
                       str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-2000:]
    commands = {}
    for line in result.stdout.splitlines():
        if line.startswith("Shell command: aprior "):
            words = shlex.split(line.split("Shell command: ", 1)[1])
            commands.setdefault(words[1], []).append(words)

    def pairs(words):
        return list(zip(words, words[1:], strict=False))

    graph = pairs(commands["graph"][0])
    assert ("--edges", f["hm90.txt"]) in graph and ("--edges", f["extra.txt"]) in graph
    assert ("--feature-edges", f["cancer.txt"]) in graph and ("--mapping", f["map.txt"]) in graph
    assert ("--map-from", "entrezgene_id") in graph and ("--map-to", "external_gene_name") in graph
    enrich = pairs(commands["enrich"][0])
    assert ("--gmt", f["h.gmt"]) in enrich and ("--gmt", f["kegg.gmt"]) in enrich
    assert ("--long", "model_id,gene_symbol,read_count") in pairs(commands["preprocess"][0])
    split = pairs(commands["split"][0])
    assert ("--expression-long", "model_id,gene_symbol,read_count") in split
    assert ("--labels-where", "DRUG_NAME=Olaparib") in split
    assert ("--sample-column", "SANGER_MODEL_ID") in split
    for train in commands["train"]:
        train = pairs(train)
        assert ("--target-column", "LN_IC50") in train and ("--covariates", "TISSUE") in train
        assert ("--unmatched-labels", "drop") in train


def test_unset_variable_in_a_path_is_a_clear_error(snakemake, tmp_path):
    config = tmp_path / "var.yaml"
    config.write_text(user_files_config(tmp_path, meta_features=True).replace(
        f"counts: {tmp_path / 'counts.tsv'}", "counts: $APRIOR_NO_SUCH_VAR/counts.tsv"))
    result = snakemake("-n", "--cores", "1", "--configfile", str(config), "--directory",
                       str(tmp_path / "out"))
    assert result.returncode != 0
    assert "an environment variable in this path is not set" in result.stdout + result.stderr
