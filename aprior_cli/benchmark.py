"""Timing code behind ``aprior bench``: attribution-prior training steps and post-hoc EG.

One run measures, on the same MLP (``p -> 512 -> 256 -> 1``, MSE regression) and data:

* training steps (median seconds over ``repeats`` rounds; all rows interleaved round by round
  so load changes on a shared machine hit every row alike): plain step; our EG step with the
  graph penalty at k = 1, 4, 10 (fast path, and the generic path for contrast); the authors'
  PyTorch reference step (``attributionpriors/pytorch_ops.py`` from a checkout given by path,
  imported dynamically; never vendored) with the same penalty;
* post-hoc EG of ``n_inputs`` samples x ``n_samples`` references: ours, Captum GradientShap
  (``stdevs=0``), SHAP GradientExplainer -- each in a fresh subprocess, reporting the median
  time and the peak RSS minus the RSS after the imports (CPU), or peak CUDA memory.

Peers that are not installed (or for which no reference path was given) become a row with a
note instead of a time. Nothing here touches files except reading the reference checkout.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import scipy.sparse
import torch
from torch import nn

from aprior_cli.attribution import expected_gradients, training_attributions
from aprior_cli.errors import UserInputError
from aprior_cli.priors import GraphPrior

DEFAULT_SHAPES = ((2000, 128), (15000, 32))
QUICK_SHAPES = ((30, 16),)
DEFAULT_KS = (1, 4, 10)
PENALTY_WEIGHT = 1e-2


@dataclass
class Row:
    """One line of the table."""

    shape: str
    name: str
    seconds: float | None = None
    cpu_seconds: float | None = None
    vs_plain: float | None = None
    speedup: float | None = None
    speedup_peer: str = ""
    peak_mb: float | None = None
    note: str = ""


@dataclass
class BenchConfig:
    """What to measure."""

    shapes: tuple[tuple[int, int], ...] = DEFAULT_SHAPES
    hidden: tuple[int, ...] = (512, 256)
    ks: tuple[int, ...] = DEFAULT_KS
    repeats: int = 20
    posthoc_repeats: int = 3
    threads: int | None = 2
    device: str = "cpu"
    n_inputs: int = 256
    n_references: int = 200
    n_samples: int = 200
    reference_path: str | None = None
    seed: int = 0
    generic_rows: bool = True
    in_process: bool = False  # post-hoc rows in this process (no memory figure): --quick only
    extra: dict = field(default_factory=dict)


def parse_shapes(text: str) -> tuple[tuple[int, int], ...]:
    """``"2000:128,15000:32"`` -> ``((2000, 128), (15000, 32))`` (features:batch)."""
    shapes = []
    for part in text.split(","):
        try:
            features, batch = (int(v) for v in part.strip().split(":"))
        except ValueError as exc:
            raise UserInputError(f"--shapes: expected FEATURES:BATCH[,...], got {part!r}") from exc
        if features < 1 or batch < 2:
            raise UserInputError(f"--shapes: need features >= 1 and batch >= 2, got {part!r}")
        shapes.append((features, batch))
    return tuple(shapes)


def make_mlp(n_features: int, hidden: tuple[int, ...], seed: int) -> nn.Sequential:
    """``Linear-ReLU-...-Linear(., 1)`` with seeded initialisation."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    width = n_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def make_data(n_rows: int, n_features: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard-normal features and a regression target driven by the first 10 features."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n_rows, n_features, generator=gen)
    y = x[:, : min(10, n_features)].sum(1) + 0.1 * torch.randn(n_rows, generator=gen)
    return x, y


def random_laplacian(n_features: int, degree: int = 10, seed: int = 0) -> scipy.sparse.csr_matrix:
    """Laplacian ``D - W`` of a random graph with about ``degree`` neighbours per node."""
    rng = np.random.default_rng(seed)
    n_edges = n_features * degree // 2
    rows = rng.integers(0, n_features, n_edges)
    cols = rng.integers(0, n_features, n_edges)
    keep = rows != cols
    adj = scipy.sparse.coo_matrix((np.ones(keep.sum()), (rows[keep], cols[keep])),
                                  shape=(n_features, n_features)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)
    return (scipy.sparse.diags(np.asarray(adj.sum(1)).ravel()) - adj).tocsr()


def load_reference(path: str | Path) -> ModuleType:
    """Import ``attributionpriors/pytorch_ops.py`` from a checkout (or the file itself)."""
    path = Path(path)
    candidates = [path, path / "attributionpriors" / "pytorch_ops.py", path / "pytorch_ops.py"]
    target = next((c for c in candidates if c.is_file()), None)
    if target is None:
        raise UserInputError(
            f"--reference-path {path}: no attributionpriors/pytorch_ops.py found there"
        )
    spec = importlib.util.spec_from_file_location("attributionpriors_pytorch_ops", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def training_steps(cfg: BenchConfig, n_features: int, batch: int,
                   reference: ModuleType | None) -> dict[str, Callable[[], None] | str]:
    """One closure per training row (a full optimiser step each); a str is a skip note."""
    device = torch.device(cfg.device)
    max_k = max(cfg.ks)
    n_train = batch * (max_k + 2)
    x_all, y_all = make_data(n_train, n_features, cfg.seed)
    x_all, y_all = x_all.to(device), y_all.to(device)
    base = make_mlp(n_features, cfg.hidden, cfg.seed).to(device)
    prior = GraphPrior(random_laplacian(n_features, seed=cfg.seed)).to(device)
    loss_fn = nn.MSELoss()
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    state = {"i": 0}

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        i = state["i"] = (state["i"] + 1) % (n_train // batch)
        return x_all[i * batch:(i + 1) * batch], y_all[i * batch:(i + 1) * batch]

    def with_optimizer(step: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]):
        model = copy.deepcopy(base)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)

        def run() -> None:
            x, y = next_batch()
            opt.zero_grad(set_to_none=True)
            loss = step(model, x, y)
            loss.backward()
            opt.step()
        return run

    rows: dict[str, Callable[[], None] | str] = {}
    rows["plain step"] = with_optimizer(lambda m, x, y: loss_fn(m(x).squeeze(1), y))
    for k in cfg.ks:
        for fast in (True, False) if cfg.generic_rows else (True,):
            def ours(m, x, y, k=k, fast=fast):
                phi, out = training_attributions(m, x, "eg", k=k, generator=gen,
                                                 fast_path=fast, return_output=True)
                return loss_fn(out.squeeze(1), y) + PENALTY_WEIGHT * prior(phi)
            label = f"ours EG+graph k={k}" + ("" if fast else " (generic path)")
            rows[label] = with_optimizer(ours)
    for k in cfg.ks:
        label = f"reference EG+graph k={k}"
        if reference is None:
            rows[label] = "skipped: no --reference-path"
            continue
        reference.DEFAULT_DEVICE = device
        dataset = torch.utils.data.TensorDataset(x_all.cpu(), y_all.cpu())
        explainer = reference.AttributionPriorExplainer(dataset, batch_size=batch, k=k)

        def theirs(m, x, y, explainer=explainer):
            out = m(x)
            phi = explainer.shap_values(m, x)
            return loss_fn(out.squeeze(1), y) + PENALTY_WEIGHT * prior(phi)
        rows[label] = with_optimizer(theirs)
    return rows


def time_interleaved(steps: dict[str, Callable[[], None]], repeats: int, device: torch.device,
                     warmup: int = 2) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall and process-CPU seconds per call.

    Rounds visit every step once, so load drifts hit all alike; CPU time (all threads of this
    process) is less sensitive to other processes competing for the cores.
    """
    for fn in steps.values():
        for _ in range(warmup):
            fn()
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            _sync(device)
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            _sync(device)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return ({name: statistics.median(v) for name, v in times.items()},
            {name: statistics.median(v) for name, v in cpu.items()})


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_rss_mb() -> float:
    """This process's high-water RSS (``VmHWM``).

    Not ``getrusage``'s ``ru_maxrss``: Linux carries that across ``exec`` from the parent's
    memory at fork time, so a child of a large benchmark process would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def posthoc_child(spec: dict) -> dict:
    """Run one post-hoc method in THIS process (call in a fresh subprocess): time and memory."""
    method = spec["method"]
    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    device = torch.device(spec["device"])
    if method == "captum":
        from captum.attr import GradientShap
    elif method == "shap":
        import shap
    base_rss = _rss_mb()
    model = make_mlp(spec["features"], tuple(spec["hidden"]), spec["seed"]).to(device)
    x, _ = make_data(spec["n_inputs"] + spec["n_references"], spec["features"], spec["seed"] + 1)
    inputs = x[: spec["n_inputs"]].to(device)
    refs = x[spec["n_inputs"]:].to(device)
    n_samples = spec["n_samples"]

    def run() -> None:
        if method in ("ours", "ours-generic"):
            expected_gradients(model, inputs, refs, n_samples=n_samples, seed=0,
                               fast_path=method == "ours")
        elif method == "captum":
            GradientShap(model).attribute(inputs, refs, n_samples=n_samples, stdevs=0.0)
        elif method == "shap":
            shap.GradientExplainer(model, refs).shap_values(inputs, nsamples=n_samples, rseed=0)
        else:  # pragma: no cover
            raise ValueError(method)

    times, cpu = [], []
    for _ in range(spec["repeats"]):
        _sync(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        _sync(device)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak = _peak_rss_mb() - base_rss
    return {"seconds": statistics.median(times), "cpu_seconds": statistics.median(cpu),
            "peak_mb": peak}


def run_posthoc(method: str, cfg: BenchConfig, n_features: int) -> dict | str:
    """Run :func:`posthoc_child` in a fresh interpreter; a str is a skip/failure note."""
    module = {"captum": "captum", "shap": "shap"}.get(method)
    if module and importlib.util.find_spec(module) is None:
        return f"skipped: {module} not installed (pip install 'aprior-cli[bench]')"
    spec = {"method": method, "features": n_features, "hidden": list(cfg.hidden),
            "n_inputs": cfg.n_inputs, "n_references": cfg.n_references,
            "n_samples": cfg.n_samples, "threads": cfg.threads, "device": cfg.device,
            "seed": cfg.seed, "repeats": cfg.posthoc_repeats}
    if cfg.in_process:
        result = posthoc_child(spec)
        result["peak_mb"] = None
        return result
    code = ("import json, sys; from aprior_cli.benchmark import posthoc_child; "
            "print('RESULT ' + json.dumps(posthoc_child(json.loads(sys.argv[1]))))")
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True,
                          text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return f"failed (exit {proc.returncode}): {tail[:120]}"


def _peer_memory_ok(method: str, cfg: BenchConfig, n_features: int) -> str | None:
    """Captum materialises ~5 (N*S, p) float32 tensors at once: skip when that cannot fit."""
    if method != "captum" or cfg.device != "cpu":
        return None
    need = 5 * cfg.n_inputs * cfg.n_samples * n_features * 4 / 2**30
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) for line in fh}
        avail = info["MemAvailable"] / 2**20
    except (OSError, KeyError, ValueError):  # pragma: no cover
        return None
    if need > 0.6 * avail:
        return f"skipped: needs ~{need:.0f} GB at once, {avail:.0f} GB available"
    return None


def run_benchmark(cfg: BenchConfig, progress: Callable[[str], None] | None = None) -> list[Row]:
    """Measure every row of every shape; returns the table rows."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device(cfg.device)
    reference = load_reference(cfg.reference_path) if cfg.reference_path else None
    say = progress or (lambda _msg: None)
    table: list[Row] = []
    for n_features, batch in cfg.shapes:
        shape = f"{n_features}-{'-'.join(map(str, cfg.hidden))}-1, batch {batch}"
        if max(cfg.ks) > batch - 1:
            raise UserInputError(f"--shapes: batch {batch} is too small for k={max(cfg.ks)}")
        say(f"training steps, {shape}")
        steps = training_steps(cfg, n_features, batch, reference)
        runnable = {n: f for n, f in steps.items() if not isinstance(f, str)}
        medians, cpu_medians = time_interleaved(runnable, cfg.repeats, device)
        plain = medians["plain step"]
        for name, fn in steps.items():
            if isinstance(fn, str):
                table.append(Row(shape, name, note=fn))
                continue
            row = Row(shape, name, medians[name], cpu_medians[name], medians[name] / plain)
            if name.startswith("ours") and "generic" not in name:
                k = name.split("k=")[1]
                ref = medians.get(f"reference EG+graph k={k}")
                if ref is not None:
                    row.speedup, row.speedup_peer = ref / medians[name], "reference"
            table.append(row)
        posthoc_rows: dict[str, Row] = {}
        label = f"post-hoc EG {cfg.n_inputs} x {cfg.n_samples}"
        for method, name in (("ours", "ours"), ("ours-generic", "ours (generic path)"),
                             ("captum", "Captum GradientShap"),
                             ("shap", "SHAP GradientExplainer")):
            if method == "ours-generic" and not cfg.generic_rows:
                continue
            say(f"{label}: {name}, {shape}")
            skip = _peer_memory_ok(method, cfg, n_features)
            result = skip or run_posthoc(method, cfg, n_features)
            row = Row(shape, f"{label}: {name}")
            if isinstance(result, str):
                row.note = result
            else:
                row.seconds, row.peak_mb = result["seconds"], result["peak_mb"]
                row.cpu_seconds = result.get("cpu_seconds")
            posthoc_rows[method] = row
        ours = posthoc_rows["ours"].seconds
        for method in ("captum", "shap"):
            peer = posthoc_rows[method].seconds
            if ours and peer:
                posthoc_rows["ours"].note += (
                    ("; " if posthoc_rows["ours"].note else "")
                    + f"{peer / ours:.2f}x faster than {posthoc_rows[method].name.split(': ')[1]}")
        if ours and posthoc_rows["captum"].seconds:
            posthoc_rows["ours"].speedup = posthoc_rows["captum"].seconds / ours
            posthoc_rows["ours"].speedup_peer = "Captum"
        table.extend(posthoc_rows.values())
    return table


def environment(cfg: BenchConfig) -> str:
    """Machine, threads and versions in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = [f"python {platform.python_version()}", f"torch {torch.__version__}",
                f"numpy {np.__version__}"]
    for name in ("captum", "shap"):
        if importlib.util.find_spec(name) is not None:
            try:
                from importlib.metadata import version
                versions.append(f"{name} {version(name)}")
            except Exception:  # pragma: no cover - metadata missing
                versions.append(f"{name} ?")
    gpu = f", {torch.cuda.get_device_name(0)}" if cfg.device.startswith("cuda") else ""
    return (f"{cpu}{gpu}; device {cfg.device}; torch threads {torch.get_num_threads()}; "
            f"{', '.join(versions)}; medians of {cfg.repeats} training steps and "
            f"{cfg.posthoc_repeats} post-hoc runs")


def _fmt(value: float | None, pattern: str) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else pattern.format(value)


def format_table(rows: list[Row], cfg: BenchConfig) -> str:
    """The table as Markdown, with the environment line first."""
    mem_head = "peak GPU MB" if cfg.device.startswith("cuda") else "peak MB above imports"
    lines = [f"Environment: {environment(cfg)}", "",
             f"| shape | row | median s | CPU s | x plain | speed-up vs peer | {mem_head} | note |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        speed = f"{r.speedup:.2f}x vs {r.speedup_peer}" if r.speedup else ""
        seconds = _fmt(r.seconds, "{:.4f}") if r.seconds is not None and r.seconds < 1 \
            else _fmt(r.seconds, "{:.2f}")
        lines.append(f"| {r.shape} | {r.name} | {seconds} | {_fmt(r.cpu_seconds, '{:.4g}')} | "
                     f"{_fmt(r.vs_plain, '{:.2f}')} | "
                     f"{speed} | {_fmt(r.peak_mb, '{:.0f}')} | {r.note} |")
    return "\n".join(lines)
