"""Benchmark: ``aprior graph`` end to end on a generated 10-million-edge HumanBase-style file.

Not a test (pytest does not collect ``bench_*.py``). Run::

    .venv/bin/python tests/benchmarks/bench_graph.py [--edges 10000000] [--gzip] [--keep]

Generates, in a temporary directory, ``edges.tsv`` (``gene1<TAB>gene2<TAB>weight``; Entrez-like
integer ids over 25,000 genes, weights uniform in [0, 1) so the default threshold 0.1 keeps
~90 %), a mapping table (Entrez -> symbol for 24,000 of the ids, with a few one-to-many and
many-to-one rows) and a feature list of 20,000 symbols; then times
``python -m aprior_cli graph --edges ... --mapping ... --features ... -o graph.npz`` in a
subprocess and reports wall time, the child's CPU time (user + sys) and peak resident memory
(ru_maxrss), and the 1-minute load average (timings on a shared machine depend on it).
Targets (issue 4): < 60 s and < 4 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


def generate(folder: Path, n_edges: int, n_genes: int, seed: int, gzip: bool) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    entrez = np.arange(1, n_genes + 1) * 7 + 100  # arbitrary integer ids
    src = rng.integers(0, n_genes, size=n_edges)
    dst = rng.integers(0, n_genes, size=n_edges)
    weight = rng.random(n_edges).round(4)
    ids = pa.array(entrez.astype(str))
    table = pa.table({"g1": pa.DictionaryArray.from_arrays(pa.array(src.astype(np.int32)), ids),
                      "g2": pa.DictionaryArray.from_arrays(pa.array(dst.astype(np.int32)), ids),
                      "w": pa.array(weight)})
    table = table.cast(pa.schema([("g1", pa.string()), ("g2", pa.string()), ("w", pa.float64())]))
    edges = folder / ("edges.tsv.gz" if gzip else "edges.tsv")
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    if gzip:
        with pa.CompressedOutputStream(str(edges), "gzip") as out:
            pacsv.write_csv(table, out, write_options=options)
    else:
        pacsv.write_csv(table, str(edges), write_options=options)
    n_mapped = int(n_genes * 0.96)
    symbols = np.array([f"SYM{i}" for i in range(n_genes)])
    rows = [("entrez", "symbol")]
    rows += [(str(entrez[i]), symbols[i]) for i in range(n_mapped)]
    rows += [(str(entrez[i]), symbols[i] + "_ALT") for i in range(0, 200)]          # one-to-many
    rows += [(str(entrez[i]), symbols[i - 1]) for i in range(n_mapped, n_mapped + 100)]  # many-to-one
    mapping = folder / "mapping.tsv"
    mapping.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    features = folder / "features.txt"
    features.write_text("\n".join(symbols[: int(n_genes * 0.8)]) + "\n")
    return {"edges": edges, "mapping": mapping, "features": features}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--genes", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gzip", action="store_true", help="write and read edges.tsv.gz")
    parser.add_argument("--normalized", action="store_true")
    parser.add_argument("--random", choices=["same-edges", "degree-preserving"], default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="aprior-bench-graph-", dir="/tmp"))
    t0 = time.perf_counter()
    files = generate(folder, args.edges, args.genes, args.seed, args.gzip)
    t_gen = time.perf_counter() - t0
    out = folder / "graph.npz"
    cmd = [sys.executable, "-m", "aprior_cli", "graph", "--edges", str(files["edges"]),
           "--mapping", str(files["mapping"]), "--map-from", "entrez", "--map-to", "symbol",
           "--features", str(files["features"]), "-o", str(out)]
    if args.normalized:
        cmd.append("--normalized")
    if args.random:
        cmd += ["--random", args.random, "--seed", str(args.seed)]
    t1 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t1
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_gb = usage.ru_maxrss / 1024**2
    cpu_s = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        sys.exit(f"aprior graph failed: {proc.stderr.strip()}")
    stats = json.loads((folder / "graph.stats.json").read_text())
    result = {"edges_in_file": args.edges, "file": files["edges"].name,
              "options": " ".join(cmd[cmd.index("-o") + 2:]) or "(defaults)",
              "file_mb": round(files["edges"].stat().st_size / 1e6, 1),
              "graph_edges": stats["graph"]["edges"], "features": stats["graph"]["features"],
              "wall_s": round(wall, 1), "cpu_s": round(cpu_s, 1),
              "peak_rss_gb": round(peak_gb, 2), "load_avg_1min": round(os.getloadavg()[0], 1),
              "npz_mb": round(out.stat().st_size / 1e6, 1), "generate_s": round(t_gen, 1),
              "cpu_count": os.cpu_count(), "targets": "wall < 60 s, peak < 4 GB"}
    print(json.dumps(result, indent=2))
    print(proc.stdout.strip())
    if not args.keep:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
    else:
        print(f"kept {folder}")


if __name__ == "__main__":
    main()
