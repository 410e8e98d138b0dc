"""Device and thread selection (``--device auto|cpu|cuda``, ``--threads``)."""

from __future__ import annotations

import torch

from aprior_cli.errors import UserInputError


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Return a torch device for ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda[:i]``."""
    if isinstance(name, torch.device):
        return name
    if name is None or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"--device {name} requested but CUDA is not available on this machine")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise UserInputError(f"unknown device {name!r}; use auto, cpu or cuda") from exc


def set_threads(n: int | None) -> None:
    """Limit torch's intra-op CPU threads (``None`` keeps torch's default)."""
    if n is not None:
        if n < 1:
            raise UserInputError(f"--threads must be >= 1, got {n}")
        torch.set_num_threads(n)
