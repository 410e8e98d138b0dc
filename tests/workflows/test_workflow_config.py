"""The workflow's configuration schema: shipped configs pass, defaults fill in, bad ones fail."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def load(path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("which", ["demo_config", "test_config"])
def test_shipped_configs_are_valid(workflow, which):
    config = load(getattr(workflow, which))
    validate(config, str(workflow.schema))
    assert config["inputs"]["source"] == "simulate"
    five = {"baseline", "graph_eg", "graph_grad", "random_graph", "dapr"}
    # the demo also runs DAPr's noise control; the tiny .test study keeps the five
    assert set(config["methods"]) == (five | {"dapr_noise"} if which == "demo_config" else five)


def test_demo_config_trains_the_five_methods_as_asked(workflow):
    config = load(workflow.demo_config)
    validate(config, str(workflow.schema))
    methods = config["methods"]
    assert methods["baseline"]["prior"] == "none"
    assert (methods["graph_eg"]["prior"], methods["graph_eg"]["attribution"]) == ("graph", "eg")
    assert methods["graph_grad"]["attribution"] == "grad"
    assert methods["random_graph"]["graph"] == "random"
    assert methods["dapr"]["prior"] == "dapr"


def test_empty_config_gets_every_default(workflow):
    config: dict = {}
    validate(config, str(workflow.schema))
    assert config["inputs"]["source"] == "simulate"
    assert config["inputs"]["simulate"] == {"seed": 0, "extra": ""}
    assert config["split"]["method"] == "group"
    assert config["graph"]["threshold"] == 0.1
    assert config["seeds"] == [0, 1, 2]
    assert config["enrich"]["permutations"] == 1000
    # defaults inside each method entry
    assert config["methods"]["graph_eg"]["graph"] == "real"
    assert config["methods"]["baseline"].get("attribution") == "eg"


def test_method_entry_defaults_are_filled(workflow):
    config = {"methods": {"mine": {"prior": "gini"}}}
    validate(config, str(workflow.schema))
    assert config["methods"]["mine"] == {"prior": "gini", "attribution": "eg", "graph": "real",
                                         "extra": ""}


BAD = {
    "unknown top-level key": {"epochs": 3},
    "unknown prior": {"methods": {"x": {"prior": "smooth"}}},
    "method without prior": {"methods": {"x": {"attribution": "eg"}}},
    "method name with a slash": {"methods": {"a/b": {"prior": "none"}}},
    "negative lambda": {"lambdas": [-1.0]},
    "lambda grid with a repeat": {"lambdas": [1, 1]},
    "unknown select rule": {"select": {"rule": "median"}},
    "label filter without =": {"labels": {"where": ["DRUG_NAME"]}},
    "long layout with two columns": {"inputs": {"files": {"long": "a,b"}}},
    "no seeds": {"seeds": []},
    "seed not an integer": {"seeds": ["a"]},
    "threshold above 1": {"graph": {"threshold": 2}},
    "unknown random graph kind": {"graph": {"random": "erdos"}},
    "unknown source": {"inputs": {"source": "download"}},
    "files without counts": {"inputs": {"source": "files", "files": {
        "gene_lengths": "l.tsv", "edges": "e.tsv", "labels": "y.tsv", "gmt": "p.gmt"}}},
    "unknown task": {"train": {"task": "survival"}},
    "test fraction 1": {"split": {"test_fraction": 1.0}},
    "resources of an unknown rule": {"resources": {"trian": {"threads": 2}}},
    "unknown resource key": {"resources": {"train": {"mem": 2000}}},
    "negative gpu count": {"resources": {"train": {"gpu": -1}}},
    "zero threads": {"resources": {"default": {"threads": 0}}},
    "data_dir not a string": {"data_dir": 3},
}


@pytest.mark.parametrize("config", BAD.values(), ids=BAD.keys())
def test_bad_config_is_rejected(workflow, config):
    with pytest.raises(WorkflowError):
        validate(copy.deepcopy(config), str(workflow.schema))


def test_user_files_config_is_accepted(workflow):
    config = {"inputs": {"source": "files", "files": {
        "counts": "c.tsv", "gene_lengths": "l.tsv", "edges": "e.tsv", "labels": "y.tsv",
        "gmt": "p.gmt"}}}
    validate(config, str(workflow.schema))
    assert config["inputs"]["files"]["genes_as_rows"] is True
    assert config["inputs"]["files"]["annotation"] == ""


def test_demo_config_is_what_an_empty_config_defaults_to(workflow):
    """`snakemake` without --configfile runs the demo (the schema's defaults)."""
    demo, empty = load(workflow.demo_config), {}
    validate(demo, str(workflow.schema))
    validate(empty, str(workflow.schema))
    assert demo == empty


def test_resources_default_and_per_rule_overrides(workflow):
    config: dict = {}
    validate(config, str(workflow.schema))
    res = config["resources"]
    assert res["default"] == {"threads": 1, "mem_mb": 1000, "runtime": 15, "gpu": 0,
                              "partition": ""}
    assert res["train"] == res["attribute"] == {"threads": 2, "mem_mb": 2000, "runtime": 30}
    assert config["data_dir"] == ""
    mine = {"resources": {"train": {"gpu": 1}, "enrich": {"mem_mb": 3000}}}
    validate(mine, str(workflow.schema))
    assert mine["resources"]["train"] == {"gpu": 1, "threads": 2, "mem_mb": 2000, "runtime": 30}
    assert mine["resources"]["enrich"] == {"mem_mb": 3000}  # the rest from `default`
