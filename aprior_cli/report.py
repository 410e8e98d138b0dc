"""The workflow's report: one self-contained HTML page built from tables.

Pure functions (tables in, strings/bytes out; no file IO): summarising per-run metrics by
method, positions of pathways in each run's enrichment table, a metric plot as PNG bytes, and
:func:`render_html`, which embeds every figure as a base64 ``data:`` URI so the page has no
external files. The command in :mod:`aprior_cli.cli.report` reads the workflow's outputs and
writes the page.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: columns identifying one training run
RUN_KEYS = ["method", "lambda", "seed"]


@dataclass
class Figure:
    """A PNG image and its caption."""

    caption: str
    png: bytes


@dataclass
class Section:
    """A heading with paragraphs, tables (caption, DataFrame) and figures, in that order, then
    ``blocks`` in their own order: ``("h3", text)``, ``("p", text)``, ``("table", caption,
    DataFrame)``, ``("figure", Figure)``."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    blocks: list[tuple] = field(default_factory=list)

    def h3(self, text: str) -> None:
        self.blocks.append(("h3", text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, caption: str, table: pd.DataFrame, highlight: bool = True) -> None:
        """A table; ``highlight=False`` leaves its rows unmarked by the page's highlight."""
        self.blocks.append(("table", caption, table, highlight))

    def figure(self, figure: Figure) -> None:
        self.blocks.append(("figure", figure))


def summarize_runs(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Mean and standard deviation of each metric per method and lambda.

    Parameters
    ----------
    runs
        One row per run with columns ``method``, ``lambda``, ``seed`` and the metrics.
    metrics
        Metric columns to summarise (absent ones are skipped).

    Returns
    -------
    pandas.DataFrame
        Columns ``method``, ``lambda``, ``n_seeds`` and ``<metric>`` formatted as
        ``mean ± sd`` strings, in the order methods first appear in ``runs``.
    """
    present = [m for m in metrics if m in runs.columns]
    order = list(dict.fromkeys(zip(runs["method"], runs["lambda"], strict=True)))
    rows = []
    for method, lam in order:
        sub = runs[(runs["method"] == method) & (runs["lambda"] == lam)]
        row: dict[str, object] = {"method": method, "lambda": lam, "n_seeds": len(sub)}
        for m in present:
            values = pd.to_numeric(sub[m], errors="coerce").dropna().to_numpy(dtype=float)
            row[m] = format_mean_sd(values)
        rows.append(row)
    return pd.DataFrame(rows, columns=["method", "lambda", "n_seeds", *present])


def format_mean_sd(values: np.ndarray) -> str:
    """``"m ± s"`` with 4 significant digits (sample sd, ddof=1); ``"m"`` for one value."""
    if values.size == 0:
        return "n/a"
    mean = float(np.mean(values))
    if values.size == 1:
        return f"{mean:.4g}"
    return f"{mean:.4g} ± {float(np.std(values, ddof=1)):.2g}"


def pathway_positions(tables: Mapping[tuple[str, str, str], pd.DataFrame],
                      term_column: str = "term") -> pd.DataFrame:
    """Position of every pathway in each run's enrichment table (1 = first row = top).

    Parameters
    ----------
    tables
        (method, lambda, seed) -> an enrichment table already sorted best first.
    term_column
        Column holding the pathway name.

    Returns
    -------
    pandas.DataFrame
        Columns ``method``, ``lambda``, ``seed``, ``term``, ``position``, ``n_terms``.
    """
    frames = []
    for (method, lam, seed), table in tables.items():
        terms = table[term_column].astype(str).to_numpy()
        frames.append(pd.DataFrame({"method": method, "lambda": lam, "seed": seed, "term": terms,
                                    "position": np.arange(1, terms.size + 1),
                                    "n_terms": terms.size}))
    if not frames:
        return pd.DataFrame(columns=[*RUN_KEYS, "term", "position", "n_terms"])
    return pd.concat(frames, ignore_index=True)


def top_pathways(positions: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` pathways with the best median position per method and lambda.

    Returns
    -------
    pandas.DataFrame
        Columns ``method``, ``lambda``, ``rank`` (1..n), ``term``, ``median_position``,
        ``seeds_in_top_n`` (in how many seeds the pathway was among the first ``n`` rows) and
        ``n_seeds``.
    """
    rows = []
    order = list(dict.fromkeys(zip(positions["method"], positions["lambda"], strict=True)))
    for method, lam in order:
        sub = positions[(positions["method"] == method) & (positions["lambda"] == lam)]
        n_seeds = sub["seed"].nunique()
        stats = sub.groupby("term").agg(median_position=("position", "median"),
                                        seeds_in_top_n=("position", lambda p: int((p <= n).sum())))
        stats = stats.reset_index().sort_values(["median_position", "seeds_in_top_n", "term"],
                                                ascending=[True, False, True], kind="mergesort")
        for rank, rec in enumerate(stats.head(n).itertuples(index=False), start=1):
            rows.append({"method": method, "lambda": lam, "rank": rank, "term": rec.term,
                         "median_position": float(rec.median_position),
                         "seeds_in_top_n": int(rec.seeds_in_top_n), "n_seeds": int(n_seeds)})
    return pd.DataFrame(rows, columns=["method", "lambda", "rank", "term", "median_position",
                                       "seeds_in_top_n", "n_seeds"])


def pathway_position_table(positions: pd.DataFrame, term: str) -> pd.DataFrame:
    """Where one pathway (e.g. the planted one) lands in every run, one row per method/lambda.

    Returns
    -------
    pandas.DataFrame
        Columns ``method``, ``lambda``, ``positions`` (per seed, ``"1, 1, 3"``; ``-`` where the
        pathway was not tested), ``median_position``, ``seeds_at_top`` (position 1) and
        ``n_seeds``.
    """
    rows = []
    order = list(dict.fromkeys(zip(positions["method"], positions["lambda"], strict=True)))
    for method, lam in order:
        sub = positions[(positions["method"] == method) & (positions["lambda"] == lam)]
        seeds = list(dict.fromkeys(sub["seed"]))
        hits = sub[sub["term"] == term].set_index("seed")["position"]
        per_seed = [int(hits[s]) if s in hits.index else None for s in seeds]
        found = [p for p in per_seed if p is not None]
        rows.append({"method": method, "lambda": lam,
                     "positions": ", ".join("-" if p is None else str(p) for p in per_seed),
                     "median_position": float(np.median(found)) if found else float("nan"),
                     "seeds_at_top": sum(p == 1 for p in found), "n_seeds": len(seeds)})
    return pd.DataFrame(rows, columns=["method", "lambda", "positions", "median_position",
                                       "seeds_at_top", "n_seeds"])


def metric_plot(runs: pd.DataFrame, metric: str, ylabel: str | None = None) -> bytes:
    """PNG of one metric per run: a dot per seed and the mean per method/lambda as a bar.

    Parameters
    ----------
    runs
        One row per run with ``method``, ``lambda`` and the ``metric`` column.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = list(dict.fromkeys(zip(runs["method"], runs["lambda"], strict=True)))
    labels = [m if str(lam) in ("0", "") else f"{m}\nλ={lam}" for m, lam in order]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(order) + 1.5), 3.2), dpi=100)
    rng = np.random.default_rng(0)  # fixed jitter: the same data give the same image
    for i, (method, lam) in enumerate(order):
        values = pd.to_numeric(runs.loc[(runs["method"] == method) & (runs["lambda"] == lam),
                                        metric], errors="coerce").dropna().to_numpy(dtype=float)
        if values.size:
            ax.bar(i, values.mean(), color="#c6dbef", edgecolor="#3182bd", width=0.6)
            ax.scatter(i + rng.uniform(-0.12, 0.12, values.size), values, s=14, color="#08519c",
                       zorder=3)
    ax.set_xticks(range(len(order)), labels, fontsize=8)
    ax.set_ylabel(ylabel or metric, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for embedding a PNG in HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def table_html(table: pd.DataFrame, highlight: str | None = None) -> str:
    """An HTML table (cells escaped); rows containing ``highlight`` get class ``hit``."""
    head = "".join(f"<th>{breakable(str(c))}</th>" for c in table.columns)
    body = []
    for row in table.itertuples(index=False):
        cells = [_cell(v) for v in row]
        hit = highlight is not None and any(str(v) == highlight for v in row)
        cls = ' class="hit"' if hit else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f"<table><thead><tr>{head}</tr></thead><tbody>" + "".join(body)
            + "</tbody></table>")


def _cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return "n/a"
        return f"{float(value):.4g}"
    return breakable(str(value))


#: cell texts longer than this get line-break opportunities after ``_ ; /``
BREAK_AFTER = 16


def breakable(text: str) -> str:
    """``text`` HTML-escaped, with ``<wbr>`` after ``_``, ``;`` and ``/`` when it is long, so
    long identifiers (``HALLMARK_EPITHELIAL_MESENCHYMAL_TRANSITION``) wrap in narrow columns."""
    if len(text) <= BREAK_AFTER:
        return html.escape(text)
    pieces = re.split(r"(?<=[_;/])", text)
    return "<wbr>".join(html.escape(piece) for piece in pieces)


#: the page fits a 1280-px window: the body is at most 1200 px wide, tables never exceed it
#: (long cells wrap anywhere), images scale down
STYLE = """
*, *::before, *::after { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em auto;
       padding: 0 1em; max-width: 1200px; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; margin-top: 1.6em; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; }
table { border-collapse: collapse; margin: 0.4em 0 1.2em; font-size: 0.86em; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th, td { overflow-wrap: break-word; }
th { background: #f2f2f2; } tr.hit td { background: #fff3b0; font-weight: 600; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; max-width: 100%; }
figcaption { font-size: 0.85em; } img { max-width: 100%; height: auto; }
.caption { font-size: 0.9em; color: #444; margin-bottom: 0.2em; }
"""


def _figure_html(fig: Figure) -> str:
    return (f'<figure><img alt="{html.escape(fig.caption)}" src="{png_data_uri(fig.png)}">'
            f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>")


def render_html(title: str, sections: Sequence[Section], highlight: str | None = None) -> str:
    """A complete, self-contained HTML page (figures embedded as base64 PNG).

    Parameters
    ----------
    title
        Page title and first heading.
    sections
        Content, in order. Paragraph strings are escaped (no HTML injection from file names).
    highlight
        A value (e.g. the planted pathway) whose table rows are highlighted.
    """
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.heading)}</h2>")
        parts.extend(f"<p>{html.escape(p)}</p>" for p in section.paragraphs)
        for caption, table in section.tables:
            if caption:
                parts.append(f'<p class="caption">{html.escape(caption)}</p>')
            parts.append(table_html(table, highlight))
        for fig in section.figures:
            parts.append(_figure_html(fig))
        for block in section.blocks:
            kind = block[0]
            if kind == "h3":
                parts.append(f"<h3>{html.escape(block[1])}</h3>")
            elif kind == "p":
                parts.append(f"<p>{html.escape(block[1])}</p>")
            elif kind == "table":
                if block[1]:
                    parts.append(f'<p class="caption">{html.escape(block[1])}</p>')
                parts.append(table_html(block[2], highlight if block[3] else None))
            else:
                parts.append(_figure_html(block[1]))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
