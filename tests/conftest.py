"""Shared fixtures: the real-data folder and automatic skips for ``realdata`` and ``gpu``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$APRIOR_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("APRIOR_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    data = shared_data_dir()
    skip_data = pytest.mark.skip(reason=f"real data folder {data} is absent "
                                 "(set APRIOR_SHARED_DATA to use another)")
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    skip_gpu = pytest.mark.skip(reason="CUDA is not available")
    for item in items:
        if "realdata" in item.keywords and not data.is_dir():
            item.add_marker(skip_data)
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to the shared real-data folder (tests using it must be marked ``realdata``)."""
    data = shared_data_dir()
    if not data.is_dir():
        pytest.skip(f"real data folder {data} is absent")
    return data


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist runs one worker per core: one torch thread each avoids oversubscription.
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass
