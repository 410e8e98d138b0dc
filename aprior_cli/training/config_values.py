"""One configuration key (:class:`Option`) and the checking of its values.

:func:`coerce_value` turns what a YAML file or the command line gives (strings, numbers,
lists) into the key's type, or raises :class:`~aprior_cli.errors.UserInputError` with one line
naming the source and the key. Every float (each value of a lambda grid too) must be finite:
``nan`` would pass every range check (``--lambda nan`` trained as lambda = 0) and ``inf`` is no
setting. :mod:`aprior_cli.training.config` holds the table of keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from aprior_cli.errors import UserInputError


@dataclass(frozen=True)
class Option:
    """Description of one configuration key.

    ``kind`` is one of ``int``, ``float``, ``str``, ``bool``, ``path`` (optional string),
    ``ints`` (list of ints; ``"512,256"`` accepted), ``strs`` (list of strings; ``"a,b"``
    accepted), ``multi`` (list of strings that may hold commas: a repeatable option, a single
    string is one item), ``lambda`` (float, ``auto`` or a list of floats).
    """

    name: str
    kind: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    required: bool = False



def copy_value(v: Any) -> Any:
    return list(v) if isinstance(v, list) else v


def split_list(value: str) -> list[str]:
    return [s.strip() for s in value.split(",") if s.strip()]


def coerce_value(opt: Option, value: Any, source: str = "config") -> Any:
    """Check and convert one value for ``opt``; raise :class:`UserInputError` if ill-typed."""
    where = f"{source}: key {opt.name!r}"

    def as_float(v: Any) -> float:
        if isinstance(v, bool):
            raise UserInputError(f"{where} must be a number, got {v!r}")
        try:
            out = float(v.strip() if isinstance(v, str) else v)
        except (TypeError, ValueError):
            raise UserInputError(f"{where} must be a number, got {v!r}") from None
        if not math.isfinite(out):  # nan slips through every range check; inf is no setting
            raise UserInputError(f"{where} must be a finite number, got {v!r}")
        return out

    def as_int(v: Any) -> int:
        if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
            raise UserInputError(f"{where} must be an integer, got {v!r}")
        try:
            return int(v)
        except (TypeError, ValueError):
            raise UserInputError(f"{where} must be an integer, got {v!r}") from None

    if value is None:
        if opt.required or opt.default is None or opt.kind == "path":
            return None
        raise UserInputError(f"{where} must not be empty")
    if opt.kind == "int":
        out: Any = as_int(value)
    elif opt.kind == "float":
        out = as_float(value)
    elif opt.kind == "bool":
        if isinstance(value, bool):
            out = value
        elif isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
            out = value.lower() in ("true", "yes", "1")
        else:
            raise UserInputError(f"{where} must be true or false, got {value!r}")
    elif opt.kind in ("str", "path"):
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise UserInputError(f"{where} must be a string, got {value!r}")
        out = str(value)
    elif opt.kind == "ints":
        items = split_list(value) if isinstance(value, str) else value
        if isinstance(items, int) and not isinstance(items, bool):
            items = [items]
        if not isinstance(items, list):
            raise UserInputError(f"{where} must be a list of integers, got {value!r}")
        out = [as_int(v) for v in items]
    elif opt.kind == "strs":
        items = split_list(value) if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise UserInputError(f"{where} must be a list of names, got {value!r}")
        out = list(items)
    elif opt.kind == "multi":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, tuple):
            items = list(items)
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise UserInputError(f"{where} must be a list of strings, got {value!r}")
        out = list(items)
    elif opt.kind == "lambda":
        items = split_list(value) if isinstance(value, str) else value
        if isinstance(items, list):
            vals = [v if (isinstance(v, str) and v == "auto") else as_float(v) for v in items]
            if not vals:
                raise UserInputError(f"{where} must not be empty")
            out = vals[0] if len(vals) == 1 else vals
        else:
            out = as_float(items)
        for v in out if isinstance(out, list) else [out]:
            if isinstance(v, float) and v < 0:
                raise UserInputError(f"{where} must be >= 0, got {v}")
    else:  # pragma: no cover - table is static
        raise AssertionError(opt.kind)
    if opt.choices is not None and out not in opt.choices:
        raise UserInputError(f"{where}: unknown value {out!r}; use one of "
                             f"{', '.join(opt.choices)}")
    if opt.minimum is not None and isinstance(out, int | float) and out < opt.minimum:
        raise UserInputError(f"{where} must be >= {opt.minimum:g}, got {out}")
    return out
