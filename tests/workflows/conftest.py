"""Fixtures of the workflow tests: the workflow's paths and a snakemake runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

WORKFLOW = Path(__file__).resolve().parents[2] / "workflows"


@pytest.fixture(scope="session")
def workflow() -> SimpleNamespace:
    """Paths of the workflow: ``dir``, ``schema``, ``demo_config``, ``test_config``."""
    return SimpleNamespace(dir=WORKFLOW, schema=WORKFLOW / "config" / "schema.json",
                           demo_config=WORKFLOW / "config" / "config.yaml",
                           test_config=WORKFLOW / ".test" / "config.yaml")


@pytest.fixture(scope="session")
def snakemake() -> Callable[..., subprocess.CompletedProcess]:
    """``snakemake(*args, timeout=..., env=...)``: run ``python -m snakemake`` in workflows/."""

    def run(*args: str, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        full_env = dict(os.environ)
        full_env.setdefault("OMP_NUM_THREADS", "1")  # beside other pytest workers
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=WORKFLOW,
                              capture_output=True, text=True, timeout=timeout, env=full_env)

    return run
