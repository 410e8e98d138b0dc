"""aprior_cli.device: threads from $SLURM_CPUS_PER_TASK, the GPU-present-but-unusable warning."""

from __future__ import annotations

import logging

import pytest
import torch

from aprior_cli import device
from aprior_cli.errors import UserInputError


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("value", "expected"), [("3", 3), (" 2 ", 2), ("", None), ("0", None),
                                                  ("many", None)])
def test_default_threads_from_slurm(value, expected):
    assert device.default_threads({"SLURM_CPUS_PER_TASK": value}) == expected
    assert device.default_threads({}) is None


def test_set_threads_uses_slurm_when_not_given(monkeypatch, restore_threads, caplog):
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "1")
    torch.set_num_threads(2)
    with caplog.at_level(logging.INFO, logger="aprior"):
        device.set_threads(None)
    assert torch.get_num_threads() == 1
    assert "threads: 1 (from $SLURM_CPUS_PER_TASK)" in caplog.text
    device.set_threads(2)  # --threads wins
    assert torch.get_num_threads() == 2


def test_set_threads_without_slurm_keeps_torch_default(monkeypatch, restore_threads):
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    torch.set_num_threads(2)
    device.set_threads(None)
    assert torch.get_num_threads() == 2
    with pytest.raises(UserInputError, match="--threads must be >= 1"):
        device.set_threads(0)


def no_gpu_files(monkeypatch):
    monkeypatch.setattr(device.os.path, "exists", lambda p: False)
    monkeypatch.setattr(device.shutil, "which", lambda name: None)


@pytest.mark.parametrize(("env", "evidence"), [
    ({"SLURM_JOB_GPUS": "0"}, "$SLURM_JOB_GPUS=0"),
    ({"CUDA_VISIBLE_DEVICES": "0,1"}, "$CUDA_VISIBLE_DEVICES=0,1"),
    ({"CUDA_VISIBLE_DEVICES": "-1"}, ""),
    ({"CUDA_VISIBLE_DEVICES": ""}, ""),
    ({}, ""),
])
def test_gpu_evidence_from_the_environment(monkeypatch, env, evidence):
    no_gpu_files(monkeypatch)
    assert device.gpu_evidence(env) == evidence


def test_gpu_evidence_from_the_device_file_and_nvidia_smi(monkeypatch):
    no_gpu_files(monkeypatch)
    monkeypatch.setattr(device.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    assert device.gpu_evidence({}) == "nvidia-smi is on PATH"
    monkeypatch.setattr(device.os.path, "exists", lambda p: p == "/dev/nvidia0")
    assert device.gpu_evidence({}) == "/dev/nvidia0 exists"


def test_auto_on_a_gpu_node_with_unusable_torch_warns_once_and_uses_cpu(monkeypatch, caplog):
    no_gpu_files(monkeypatch)
    monkeypatch.setenv("SLURM_JOB_GPUS", "0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    with caplog.at_level(logging.WARNING, logger="aprior"):
        assert device.resolve_device("auto") == torch.device("cpu")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("--device auto: a GPU seems present ($SLURM_JOB_GPUS=0) but "
                                  "torch cannot use it (torch ")
    assert "is a CPU-only build" in warnings[0] and warnings[0].endswith("running on CPU")


def test_auto_with_a_cuda_build_names_its_cuda_version(monkeypatch):
    no_gpu_files(monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    text = device.unusable_gpu_warning({"CUDA_VISIBLE_DEVICES": "0"})
    assert "is built for CUDA 12.4" in text


def test_auto_without_any_gpu_sign_is_silent(monkeypatch, caplog):
    no_gpu_files(monkeypatch)
    for var in ("SLURM_JOB_GPUS", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="aprior"):
        assert device.resolve_device("auto") == torch.device("cpu")
    assert not caplog.records


def test_cuda_requested_without_cuda_is_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(UserInputError) as info:
        device.resolve_device("cuda")
    assert "\n" not in str(info.value) and "CPU-only build" in str(info.value)
