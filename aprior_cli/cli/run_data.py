"""The rows a finished run is applied to (``aprior attribute``, ``aprior predict``).

Reads the expression (wide or ``--expression-long``) and, when given, the labels with the
run's own label settings (sample/target/group columns, ``--labels-where`` filters,
``--unmatched-labels``) unless the command line overrides them, and builds the model inputs in
the run's feature order. Shared so both commands read data the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aprior_cli.errors import UserInputError
from aprior_cli.messages import capped


@dataclass
class RunRows:
    """Inputs of the rows to explain or predict.

    Attributes
    ----------
    x
        (n, p) float32 in the run's feature order.
    ids
        Row names (n,): sample ids, or ``sample|drug=X`` for (sample, drug) pair rows.
    samples
        Sample id of each row (n,).
    y
        Encoded targets (n,), NaN when unknown.
    dropped_samples
        Label rows left out for lack of expression (``--unmatched-labels drop``).
    """

    x: np.ndarray
    ids: list[str]
    samples: list[str]
    y: np.ndarray
    dropped_samples: list[str] = field(default_factory=list)


def label_spec(run_cfg: Any, sample_column: str | None, target_column: str | None,
               group_column: str | None, labels_where: Sequence[str]) -> Any:
    """The run's label settings with the given overrides (None / empty = the run's)."""
    from aprior_cli.io.labels import LabelSpec

    base = LabelSpec.from_mapping(run_cfg.to_dict())
    return LabelSpec(sample_column=sample_column or base.sample_column,
                     target_column=target_column or base.target_column,
                     group_column=group_column or base.group_column,
                     batch_column=base.batch_column,
                     where=tuple(labels_where) if labels_where else base.where)


def default_long_columns(run: Any, expression: str) -> list[str] | None:
    """The run's ``--expression-long`` when ``expression`` is the very file it trained on
    (the same file is read the same way); otherwise None (a wide table)."""
    saved = list(getattr(run.cfg, "expression_long", []) or [])
    trained_on = getattr(run.cfg, "expression", None)
    if not saved or not trained_on:
        return None
    try:
        same = Path(expression).resolve() == Path(trained_on).resolve()
    except OSError:  # pragma: no cover - unresolvable paths are simply different
        same = False
    return saved if same else None


def run_rows(run: Any, expression: str, expression_long: str | None, labels: str | None,
             spec: Any, unmatched: str | None, require_target: bool = False) -> RunRows:
    """Read ``expression`` (and ``labels``) into the inputs of ``run`` (module docstring).

    The labels' target column is used when present; with ``require_target`` (the user named
    it) it must exist.
    """
    from aprior_cli.io.labels import read_labels
    from aprior_cli.io.long_table import parse_long_columns, read_expression
    from aprior_cli.training.data import align, prepare_expression

    long_columns = parse_long_columns(expression_long if expression_long is not None
                                      else default_long_columns(run, expression),
                                      "--expression-long")
    expr = read_expression(expression, long_columns)
    model = run.spec
    if labels is not None:
        table = read_labels(labels, spec, need_target=require_target)
        data = align(expr, table, model["task"], covariates=model["covariates"],
                     classes=model["classes"], features=run.features,
                     n_genes=model["n_genes"], allow_missing_target=True,
                     expression_name=expression, labels_name=labels,
                     unmatched=unmatched or run.cfg.unmatched_labels)
        return RunRows(x=data.x, ids=data.ids, samples=data.samples, y=data.y,
                       dropped_samples=data.dropped_samples)
    if model["covariates"]:
        raise UserInputError(f"{run.path}: the model uses covariates "
                             f"({capped(model['covariates'])}); give --labels")
    expr = prepare_expression(expr, expression)
    missing = [f for f in run.features if f not in expr.columns]
    if missing:
        raise UserInputError(f"{expression}: {len(missing)} model feature(s) missing: "
                             f"{capped(missing)}")
    samples = [str(s) for s in expr.index]
    return RunRows(x=expr[run.features].to_numpy(dtype=np.float32), ids=samples,
                   samples=samples, y=np.full(len(expr), np.nan))


def rows_and_splits(run: Any, expression: str, expression_long: str | None,
                    labels: str | None, sample_column: str | None, target_column: str | None,
                    group_column: str | None, labels_where: Any,
                    unmatched_labels: str | None) -> tuple[RunRows, Any]:
    """The rows a run's command options describe (:func:`run_rows`, with the run's own label
    settings as defaults) and each row's split in the run (``""``: not in the run), ``(n,)``."""
    import numpy as np

    from aprior_cli.errors import UserInputError

    if labels is None and (sample_column or target_column or group_column or labels_where
                           or unmatched_labels):
        raise UserInputError("--sample-column/--target-column/--group-column/--labels-where/"
                             "--unmatched-labels describe --labels; give --labels")
    rows = run_rows(run, expression, expression_long, labels,
                    label_spec(run.cfg, sample_column, target_column, group_column,
                               labels_where), unmatched_labels,
                    require_target=target_column is not None)
    split_of = dict(zip(run.splits["sample"].astype(str), run.splits["split"], strict=True))
    return rows, np.array([split_of.get(s, "") for s in rows.samples], dtype=object)
