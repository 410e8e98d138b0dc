"""Training configuration: defaults < YAML < command line, clear errors for bad keys."""

from __future__ import annotations

import pytest
import yaml

from aprior_cli.errors import UserInputError
from aprior_cli.training.config import (
    OPTIONS,
    TrainConfig,
    from_run_yaml,
    load_yaml,
    resolve,
    save_yaml,
)

REQ = {"expression": "e.tsv", "labels": "l.tsv"}


def test_every_option_is_a_dataclass_field_with_the_same_default():
    cfg = TrainConfig()
    for opt in OPTIONS:
        assert cfg.to_dict()[opt.name] == opt.default, opt.name


def test_precedence_and_parsing(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"hidden": [32, 16], "lr": 0.01, "lambda": [0.1, 1, 10],
                                    "prior": "gini", "batch_norm": True, **REQ}))
    cfg = resolve(load_yaml(path), {"lr": 0.5, "hidden": None, "covariates": "age,drug"})
    assert cfg.lr == 0.5 and cfg.hidden == [32, 16] and cfg.batch_norm is True
    assert cfg.lambdas() == [0.1, 1.0, 10.0] and cfg.covariates == ["age", "drug"]
    assert resolve(None, {**REQ, "hidden": "8", "lambda": "auto", "prior": "l1"}).lambda_ == "auto"


def test_resolved_config_round_trips():
    cfg = resolve(None, {**REQ, "hidden": "4,3", "prior": "graph", "graph": "g.npz",
                         "lambda": 2})
    again = from_run_yaml(save_yaml(cfg), "config.yaml")
    assert again == cfg


@pytest.mark.parametrize(("yaml_text", "match"), [
    ("epochz: 3\n", "unknown key 'epochz'; did you mean 'epochs'"),
    ("epochs: three\n", "'epochs' must be an integer"),
    ("epochs: 2.5\n", "'epochs' must be an integer"),
    ("batch_norm: maybe\n", "true or false"),
    ("prior: magic\n", "unknown value 'magic'"),
    ("hidden: {a: 1}\n", "list of integers"),
    ("lr: -1\n", "must be >= 0"),
    ("- a\n- b\n", "mapping"),
    ("epochs: [1\n", "invalid YAML"),
])
def test_bad_yaml(tmp_path, yaml_text, match):
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(UserInputError, match=match):
        resolve(load_yaml(path), REQ)


@pytest.mark.parametrize(("values", "match"), [
    ({"labels": "l.tsv"}, "missing required key 'expression'"),
    ({**REQ, "prior": "graph"}, "needs --graph"),
    ({**REQ, "lambda": 1.0}, "needs a --prior"),
    ({**REQ, "split": "file"}, "needs --split-file"),
    ({**REQ, "val_fraction": 0.5, "test_fraction": 0.5}, "must be < 1"),
    ({**REQ, "param_penalty": "l1"}, "param-penalty-lambda"),
])
def test_inconsistent_options(values, match):
    with pytest.raises(UserInputError, match=match):
        resolve(None, values)


@pytest.mark.parametrize(("key", "value"), [
    ("lr", "nan"), ("lr", float("inf")), ("dropout", float("nan")), ("weight_decay", "-inf"),
    ("lambda", "nan"), ("lambda", [0.1, float("nan")]), ("lambda", "1,inf"),
    ("val_fraction", "nan")])
def test_non_finite_floats_are_refused(key, value):
    """NaN passes every range check (--lambda nan trained as lambda = 0 before)."""
    with pytest.raises(UserInputError, match=rf"key '{key}' must be a finite number"):
        resolve(None, {**REQ, key: value, "prior": "l1"})


def test_yaml_nan_is_refused(tmp_path):
    (tmp_path / "c.yaml").write_text("lr: .nan\nlambda: [1, .inf]\n")
    with pytest.raises(UserInputError, match=r"c.yaml: key 'lr' must be a finite number"):
        load_yaml(tmp_path / "c.yaml")
