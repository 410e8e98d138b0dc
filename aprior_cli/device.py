"""Device and thread selection (``--device auto|cpu|cuda``, ``--threads``).

* ``--threads`` not given: ``$SLURM_CPUS_PER_TASK`` when set (what a SLURM job was allotted
  with ``--cpus-per-task``), else torch's default (all cores, which oversubscribes a shared
  node).
* ``--device auto`` picks CUDA when torch can use it. On a machine that evidently has an
  NVIDIA GPU (``/dev/nvidia0``, ``nvidia-smi`` on PATH, ``$CUDA_VISIBLE_DEVICES`` or
  ``$SLURM_JOB_GPUS`` set) while torch cannot, it logs one warning saying so (and whether the
  installed torch is a CPU-only build) and runs on CPU.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING

from aprior_cli.errors import UserInputError

if TYPE_CHECKING:  # torch is imported where used: default_threads serves torch-free commands
    import torch

log = logging.getLogger("aprior")

SLURM_CPUS = "SLURM_CPUS_PER_TASK"


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """Return a torch device for ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda[:i]``."""
    import torch

    if isinstance(name, torch.device):
        return name
    if name is None or name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        warning = unusable_gpu_warning()
        if warning:
            log.warning(warning)
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(f"--device {name} requested but CUDA is not available on this "
                             f"machine{_build_note()}")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise UserInputError(f"unknown device {name!r}; use auto, cpu or cuda") from exc


def gpu_evidence(environ: Mapping[str, str] | None = None) -> str:
    """Why this machine looks like it has an NVIDIA GPU ("" when nothing suggests one)."""
    env = os.environ if environ is None else environ
    if os.path.exists("/dev/nvidia0"):
        return "/dev/nvidia0 exists"
    if shutil.which("nvidia-smi"):
        return "nvidia-smi is on PATH"
    for var in ("SLURM_JOB_GPUS", "CUDA_VISIBLE_DEVICES"):
        value = env.get(var, "").strip()
        if value and value not in ("-1", "none", "NoDevFiles"):
            return f"${var}={value}"
    return ""


def unusable_gpu_warning(environ: Mapping[str, str] | None = None) -> str:
    """The one-line warning for ``--device auto`` when a GPU is present but torch cannot use
    it ("" when there is no sign of a GPU)."""
    evidence = gpu_evidence(environ)
    if not evidence:
        return ""
    return (f"--device auto: a GPU seems present ({evidence}) but torch cannot use it"
            f"{_build_note()}; running on CPU")


def _build_note() -> str:
    import torch

    if torch.version.cuda is None:
        return (f" (torch {torch.__version__} is a CPU-only build; install a CUDA build of "
                "torch to use the GPU)")
    return f" (torch {torch.__version__} is built for CUDA {torch.version.cuda})"


def default_threads(environ: Mapping[str, str] | None = None) -> int | None:
    """``$SLURM_CPUS_PER_TASK`` as an int when it is set and valid, else None."""
    env = os.environ if environ is None else environ
    value = env.get(SLURM_CPUS, "").strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        log.warning("$%s=%r is not a number; ignored", SLURM_CPUS, value)
        return None
    return n if n >= 1 else None


def set_threads(n: int | None) -> None:
    """Limit torch's intra-op CPU threads to ``n``; ``None``: ``$SLURM_CPUS_PER_TASK`` when
    set, else torch's default."""
    if n is None:
        n = default_threads()
        if n is None:
            return
        log.info("threads: %d (from $%s)", n, SLURM_CPUS)
    if n < 1:
        raise UserInputError(f"--threads must be >= 1, got {n}")
    import torch

    torch.set_num_threads(n)
