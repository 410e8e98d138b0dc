"""``aprior bench``: runs end to end on tiny shapes and prints the table (no timing asserts)."""

import importlib.util
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from aprior_cli import benchmark
from aprior_cli.cli.main import cli
from aprior_cli.errors import UserInputError

FAKE_REFERENCE = textwrap.dedent('''
    import torch
    DEFAULT_DEVICE = torch.device("cpu")

    class AttributionPriorExplainer:
        """Stand-in with the reference's interface: plain input gradients."""

        def __init__(self, background_dataset, batch_size, k=1):
            self.k = k

        def shap_values(self, model, input_tensor, sparse_labels=None):
            x = input_tensor.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
            return g
''')


def _without_shap(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(benchmark.importlib.util, "find_spec",
                        lambda name, *a: None if name == "shap" else real(name, *a))


def test_quick_prints_one_table(monkeypatch, tmp_path):
    _without_shap(monkeypatch)
    monkeypatch.delenv("APRIOR_REFERENCE_PATH", raising=False)
    (tmp_path / "attributionpriors").mkdir()
    (tmp_path / "attributionpriors" / "pytorch_ops.py").write_text(FAKE_REFERENCE)
    out = tmp_path / "table.md"
    result = CliRunner().invoke(cli, ["bench", "--quick", "--threads", "1", "-q",
                                      "--reference-path", str(tmp_path), "--output", str(out)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("| 30-16-8-1")]
    names = [line.split(" | ")[1] for line in lines]
    assert names[0] == "plain step"
    assert {"ours EG+graph k=1", "ours EG+graph k=4", "ours EG+graph k=10",
            "reference EG+graph k=4", "post-hoc EG 8 x 10: ours",
            "post-hoc EG 8 x 10: Captum GradientShap"} <= set(names)
    assert "skipped: shap not installed" in result.output
    assert "vs reference" in result.output and "vs Captum" in result.output
    assert "torch threads 1" in result.output
    plain = [line for line in lines if " plain step " in line][0]
    assert float(plain.split(" | ")[2]) > 0 and float(plain.split(" | ")[3]) > 0
    assert out.read_text().strip() == result.output.strip()


def test_posthoc_row_in_a_subprocess_reports_memory():
    cfg = benchmark.BenchConfig(hidden=(8,), threads=1, n_inputs=4, n_references=5,
                                n_samples=6, posthoc_repeats=1)
    result = benchmark.run_posthoc("ours", cfg, 12)
    assert isinstance(result, dict), result
    assert result["seconds"] > 0 and result["peak_mb"] >= 0


def test_bad_options_are_one_line_errors(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["bench", "--shapes", "2000x128"])
    assert result.exit_code != 0 and "--shapes: expected FEATURES:BATCH" in result.output
    result = runner.invoke(cli, ["bench", "--shapes", "50:8", "--repeats", "1"])
    assert result.exit_code != 0 and "too small for k=10" in result.output
    result = runner.invoke(cli, ["bench", "--quick", "--reference-path", str(tmp_path)])
    assert result.exit_code != 0 and "no attributionpriors/pytorch_ops.py" in result.output
    assert "Traceback" not in result.output
    with pytest.raises(UserInputError):
        benchmark.parse_shapes("10:1")


def test_bench_help_through_a_real_subprocess():
    proc = subprocess.run([sys.executable, "-m", "aprior_cli", "bench", "--help"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert "--reference-path" in proc.stdout and "--quick" in proc.stdout
