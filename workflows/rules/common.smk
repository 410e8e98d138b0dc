# Helpers shared by the rules: where inputs come from, which runs exist, option strings.
# (Functions only: snakemake --lint asks not to mix functions and rules in one file.)

import os
import re
import shlex
import shutil
import sys
from pathlib import Path

# `aprior` lives beside the Python running snakemake (e.g. .venv/bin); make it callable from
# shell: even when that environment is not activated (as with `make demo`).
_ENV_BIN = Path(sys.executable).parent
if shutil.which("aprior") is None and (_ENV_BIN / "aprior").exists():
    os.environ.update(PATH=os.pathsep.join([str(_ENV_BIN), os.environ.get("PATH", "")]))

# The fetch cache (`aprior fetch`) the jobs use: config `data_dir`, relative to the working
# directory; exported as APRIOR_DATA_DIR (jobs inherit the environment, also under SLURM).
if config["data_dir"]:
    os.environ.update(APRIOR_DATA_DIR=str(Path(config["data_dir"]).expanduser().resolve()))

SIMULATED = "resources/study"
SIMULATED_FILES = {
    "counts": "counts.tsv",
    "gene_lengths": "gene_lengths.tsv",
    "annotation": "gene_annotation.tsv",
    "edges": "edges.tsv.gz",
    "labels": "labels.tsv",
    "meta_features": "meta_features.tsv",
    "gmt": "pathways.gmt",
    "truth": "truth.json",
}
SIMULATE = config["inputs"]["source"] == "simulate"
METHODS = config["methods"]
REPORT = "results/report/report.html"


def quote(path):
    """A path as one shell word (paths may hold spaces)."""
    return shlex.quote(str(path))


def job_resources(name):
    """The `resources` config of the jobs of `name` (`default`, then `resources.<name>`)."""
    return {**config["resources"]["default"], **config["resources"].get(name, {})}


def rule_threads(name):
    return job_resources(name)["threads"]


def rule_resources(name):
    """Snakemake resources of rule `name` (what the SLURM executor turns into --mem, -t,
    --gpus and -p); `gpu` and `partition` only when set, so the profile's defaults apply."""
    res = job_resources(name)
    out = {"mem_mb": res["mem_mb"], "runtime": res["runtime"]}
    if res.get("gpu"):
        out["gpu"] = res["gpu"]
    if res.get("partition"):
        out["slurm_partition"] = res["partition"]
    return out


def expand_path(path):
    """A configured path with ``$VARIABLES`` and ``~`` expanded (``$DATA/gdsc/...``); an
    unset variable is an error rather than a file called ``$DATA``."""
    expanded = os.path.expanduser(os.path.expandvars(str(path)))
    if "$" in expanded:
        raise ValueError(f"{path}: an environment variable in this path is not set")
    return expanded


def study(key):
    """Path of one input of the study: simulated, or the user's file ("" when not given)."""
    if SIMULATE:
        return f"{SIMULATED}/{SIMULATED_FILES[key]}"
    value = config["inputs"]["files"][key]
    if isinstance(value, list):
        return [expand_path(v) for v in value]
    return expand_path(value) if value else value


def study_list(key):
    """An input that may be several files (edges, gmt): always a list."""
    value = study(key)
    if isinstance(value, list):
        return value
    return [value] if value else []


def optional_study(key):
    """Like study() but a list: empty when the user gave no such file (for rule inputs)."""
    path = study(key)
    return [path] if path else []


def repeated(option, paths):
    """`--option p1 --option p2 ...` with each path quoted."""
    return " ".join(f"{option} {quote(p)}" for p in paths)


def label_options(split=False):
    """The labels table's column names and filters as `aprior` options (`labels:` config);
    training adds the unmatched-rows policy and the covariates."""
    labels = config["labels"]
    defaults = {"sample_column": "sample", "target_column": "target", "group_column": "group"}
    options = [f"--{key.replace('_', '-')} {quote(labels[key])}"
               for key, default in defaults.items() if labels[key] != default]
    options += [f"--labels-where {quote(w)}" for w in labels["where"]]
    if not split:
        options.append(f"--unmatched-labels {labels['unmatched']}")
        if labels["covariates"]:
            options.append(f"--covariates {quote(','.join(labels['covariates']))}")
    return " ".join(options)


def counts_layout_options(for_split=False):
    """How the counts table is laid out, as `aprior preprocess` (or, `for_split`, `aprior
    split --expression`) options: long (SAMPLE,GENE,VALUE) or wide, genes or samples as rows."""
    long = "" if SIMULATE else config["inputs"]["files"]["long"]
    if long:
        return f"--{'expression-long' if for_split else 'long'} {quote(long)}"
    genes_as_rows = SIMULATE or config["inputs"]["files"]["genes_as_rows"]
    if for_split:
        return "--genes-as-rows" if genes_as_rows else ""
    return "--genes-as-rows" if genes_as_rows else "--samples-as-rows"


def edge_options(wildcards, input):
    """`aprior graph` edge files: `--edges` (translated by the mapping) and `--feature-edges`
    (already in the expression's ids)."""
    edges = repeated("--edges", input.edges)
    feature_edges = repeated("--feature-edges", input.feature_edges)
    return f"{edges} {feature_edges}".strip()


def feature_edge_inputs():
    """Edge files already in the expression's ids (none for the simulated study)."""
    return [] if SIMULATE else study_list("feature_edges")


def mapping_inputs():
    """The id-mapping table of the edge files, as a rule input (empty when none)."""
    if SIMULATE:
        return []
    mapping = config["inputs"]["files"]["mapping"]
    return [expand_path(mapping["file"])] if mapping.get("file") else []


def mapping_options():
    """`aprior graph` options translating the edge files' ids (``--mapping`` + columns)."""
    if SIMULATE:
        return ""
    mapping = config["inputs"]["files"]["mapping"]
    if not mapping.get("file"):
        return ""
    options = [f"--mapping {quote(expand_path(mapping['file']))}"]
    if mapping.get("from"):
        options.append(f"--map-from {quote(mapping['from'])}")
    if mapping.get("to"):
        options.append(f"--map-to {quote(mapping['to'])}")
    return " ".join(options)


def lambda_label(value):
    """A lambda as written in paths, e.g. 0.1 -> "0.1", 1.0 -> "1"."""
    return f"{float(value):g}"


def method_lambdas(name):
    """Lambdas trained for a method (its grid); a method without a prior has the single "0"."""
    method = METHODS[name]
    if method["prior"] == "none":
        return ["0"]
    return [lambda_label(v) for v in method.get("lambdas", config["lambdas"])]


def run_keys():
    """Every (method, lambda label, seed) the configuration asks for, in a stable order."""
    return [
        (name, lam, str(seed))
        for name in METHODS
        for lam in method_lambdas(name)
        for seed in config["seeds"]
    ]


def run_dir(method, lam, seed):
    return f"results/runs/{method}/lambda_{lam}/seed_{seed}"


def select_dir(method, seed):
    """The selection of one method and seed: its lambda grid's runs, chosen on validation."""
    return f"results/select/{method}/seed_{seed}"


def attribution_dir(method, seed):
    return f"results/attribute/{method}/seed_{seed}"


def consensus_dir(method):
    return f"results/consensus/{method}"


def enrich_table(method, kind):
    """The enrichment of a method's consensus ranking (kind: prerank or ora)."""
    return f"results/enrich/{method}/ranking.{kind}.tsv"


def all_run_dirs():
    return [run_dir(*key) for key in run_keys()]


def grid_runs(wildcards):
    """The runs `aprior select` chooses among: one method and seed, every lambda."""
    return [run_dir(wildcards.method, lam, wildcards.seed)
            for lam in method_lambdas(wildcards.method)]


def all_select_dirs():
    return [select_dir(m, s) for m in METHODS for s in map(str, config["seeds"])]


def method_rankings(wildcards):
    """The seeds' rankings of one method (the ensemble `aprior consensus` summarises)."""
    return [f"{attribution_dir(wildcards.method, s)}/ranking.tsv" for s in config["seeds"]]


def report_options(wildcards, input):
    """`aprior report` options: every chosen run, consensus and pathway table by method."""
    options = []
    for method in METHODS:
        options += [f"--run {quote(f'{method}={select_dir(method, s)}')}"
                    for s in config["seeds"]]
        options.append(f"--consensus {quote(f'{method}={consensus_dir(method)}')}")
        options += [f"--pathways {quote(f'{method}={enrich_table(method, kind)}')}"
                    for kind in ("prerank", "ora")]
    if input.truth:
        options.append(f"--truth {quote(input.truth)}")
    return " ".join(options)


def wildcard_pattern(values):
    """A regex matching exactly the given strings (for wildcard_constraints)."""
    return "|".join(re.escape(v) for v in values)


def needs_graph(method):
    return METHODS[method]["prior"] == "graph"


def train_inputs(wildcards):
    """Files one training run reads: its seed's expression and split, the real graph (for the
    test-set graph penalty every method reports), and the prior's graph or meta-features."""
    method = METHODS[wildcards.method]
    seed = wildcards.seed
    inputs = {
        "expression": f"results/preprocess/seed_{seed}/expression.tsv",
        "labels": study("labels"),
        "splits": f"results/splits/seed_{seed}/splits.tsv",
        "eval_graph": f"results/graph/seed_{seed}/graph.npz",
    }
    if method["prior"] == "graph":
        kind = "random" if method.get("graph", "real") == "random" else "graph"
        inputs["graph"] = f"results/graph/seed_{seed}/{kind}.npz"
    if method["prior"] == "dapr":
        if not study("meta_features"):
            raise ValueError(
                f"methods.{wildcards.method}: prior dapr needs inputs.files.meta_features"
            )
        inputs["meta_features"] = study("meta_features")
    return inputs


def train_options(wildcards, input):
    """`aprior train` options of one run (method, lambda, k, prior inputs) besides the data."""
    method = METHODS[wildcards.method]
    options = [f"--task {config['train']['task']}", f"--prior {method['prior']}"]
    if method["prior"] != "none":
        options += [
            f"--attribution {method.get('attribution', 'eg')}",
            f"--lambda {wildcards.lam}",
            f"--k {config['train']['k']}",
        ]
    if "graph" in input.keys():
        options.append(f"--graph {quote(input.graph)}")
    if "meta_features" in input.keys():
        options.append(f"--meta-features {quote(input.meta_features)}")
    options += [label_options(), config["train"]["extra"], method.get("extra", "")]
    return " ".join(o for o in options if o)


def compare_baseline():
    """Test every method against the plain model, the method called "baseline" when there is
    one (`aprior compare` names the selections by their method's folder)."""
    return "--baseline baseline" if "baseline" in METHODS else ""


def simulate_options():
    """`aprior simulate` options implied by the training task."""
    task = config["train"]["task"]
    if task == "multiclass":
        raise ValueError(
            "train.task multiclass: aprior simulate makes regression or binary targets; "
            "use inputs.source: files for a multiclass study"
        )
    return "--task classification" if task == "binary" else "--task regression"


def preprocess_options(wildcards, input):
    """`aprior preprocess` options that depend on the configuration and the inputs."""
    options = [counts_layout_options()]
    if input.annotation:
        options.append(f"--annotation {quote(input.annotation)}")
    return " ".join(options)
