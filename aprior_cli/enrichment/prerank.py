"""GSEA prerank (Subramanian et al. 2005) of a gene ranking through gseapy.

The scores are used as given, with the classic weight ``p = 1``: walking down the ranking, a
gene of the set raises the running sum by ``|score| / sum_{hits} |score|`` and any other gene
lowers it by ``1 / (N - N_hits)``; ES is the maximum deviation from zero. Significance comes
from gseapy's gene-set permutations (``permutations`` random sets of the same size, ``seed``):
NES = ES / mean(|null ES| of the same sign), nominal p-value, FDR q-value (GSEA's
NES-based FDR, computed within one library) and FWER. ``method="multilevel"`` uses gseapy's
port of fgsea's multilevel procedure instead, which estimates small p-values accurately.

Sign convention for attribution rankings
----------------------------------------
``mean_abs_attribution`` scores are all >= 0, so only the positive tail is meaningful:

* NES > 0: the set's genes sit higher in the ranking (the model relies on them more) than
  random sets of the same size — this is the finding of interest;
* NES < 0: the set's genes sit among the least-attributed genes. Their weights are near zero,
  so this says the model ignores the pathway, not that it acts "against" it.

For rankings with non-negative scores, ``significant`` therefore requires NES > 0 as well as
``fdr_qvalue < fdr``. Signed scores (e.g. a t statistic) count both tails.

Undefined p-values
------------------
NES divides ES by the mean null ES *of the same sign*; when (almost) no random gene set of the
set's size reaches that tail -- fewer than 10 same-sign null ES, typically the negative tail of
non-negative attribution scores -- NES, p and q are NaN. ``pvalue_note`` says so for those rows
("no random gene set of size 20 reaches this tail (ES < 0) in the permutations"); this is a
property of the scores, not of too few permutations.

``log2err`` is fgsea's standard error of log2(p) of the multilevel method (NaN for the
permutation method, which has none).

gseapy is called with ``outdir=None`` and ``no_plot=True`` so it writes no file; its log
messages (and the native core's stderr lines) go to the ``aprior.gseapy`` logger at debug level.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError

PRERANK_COLUMNS = ["term", "set_size", "es", "nes", "pvalue", "fdr_qvalue", "fwer_pvalue",
                   "log2err", "leading_edge_size", "significant", "pvalue_note", "leading_edge"]
#: gseapy leaves NES and p undefined when fewer same-sign null ES than this exist
MIN_SAME_SIGN_NULL = 10

log = logging.getLogger("aprior.enrich")


class _ForwardToDebug(logging.Handler):
    """Relay gseapy's own log records to ``aprior.gseapy`` at DEBUG level."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger("aprior.gseapy").debug("%s", record.getMessage())


def restrict_gene_sets(gene_sets: Mapping[str, Sequence[str]], genes: Sequence[str],
                       min_size: int, max_size: int) -> dict[str, list[str]]:
    """Sets restricted to ``genes`` (exact identifier match), kept when ``min_size <= size <= max_size``."""
    present = set(genes)
    out = {}
    for term, members in gene_sets.items():
        kept = [g for g in dict.fromkeys(members) if g in present]
        if min_size <= len(kept) <= max_size and len(kept) < len(present):
            out[term] = kept
    return out


def sort_prerank(table: pd.DataFrame, positive_only: bool) -> pd.DataFrame:
    """Best first: by q-value, p-value, then larger |NES|. With ``positive_only`` (non-negative
    scores) all NES > 0 terms come before the NES <= 0 ones, so row order = relevance."""
    nes = table["nes"].to_numpy(dtype=float)
    keys = table.assign(_tail=(nes <= 0) if positive_only else np.zeros(len(table), bool),
                        _abs=-np.abs(nes))
    keys = keys.sort_values(["_tail", "fdr_qvalue", "pvalue", "_abs", "term"], kind="mergesort")
    return keys.drop(columns=["_tail", "_abs"]).reset_index(drop=True)


def prerank(ranking: pd.Series, gene_sets: Mapping[str, Sequence[str]], permutations: int = 1000,
            seed: int = 0, min_size: int = 15, max_size: int = 500, threads: int = 1,
            fdr: float = 0.05, positive_only: bool | None = None,
            method: str = "permutation") -> pd.DataFrame:
    """Run GSEA prerank of ``ranking`` against ``gene_sets``.

    Parameters
    ----------
    ranking
        Scores indexed by unique gene identifiers, sorted by decreasing score
        (as returned by :func:`aprior_cli.io.ranking.read_ranking`).
    gene_sets
        Term -> genes (one library; FDR is computed across these sets).
    permutations
        Number of gene-set permutations (the smallest nominal p-value is about 1/permutations).
    seed
        Seed of gseapy's permutation RNG.
    min_size, max_size
        Keep sets with ``min_size <= |set ∩ ranking| <= max_size``.
    threads
        Threads for gseapy.
    fdr
        Threshold for the ``significant`` column.
    positive_only
        Count only NES > 0 as significant; default: when all scores are >= 0.
    method
        ``"permutation"`` (classic GSEA gene-set permutations) or ``"multilevel"`` (gseapy's
        port of fgsea's adaptive multilevel p-values, not limited to 1/permutations; no FWER,
        so ``fwer_pvalue`` is NaN).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PRERANK_COLUMNS`, sorted best first (:func:`sort_prerank`).
        ``leading_edge`` is ``;``-separated in ranking order.
    """
    import gseapy

    if len(ranking) < 2:
        raise UserInputError("prerank: the ranking needs at least two genes")
    if not ranking.index.is_unique:
        raise UserInputError("prerank: gene identifiers in the ranking must be unique")
    if permutations < 1:
        raise UserInputError("--permutations: must be at least 1")
    if method not in ("permutation", "multilevel"):
        raise UserInputError(f"--prerank-method: {method!r} is not permutation or multilevel")
    if positive_only is None:
        positive_only = bool((ranking.to_numpy() >= 0).all())
    sets = restrict_gene_sets(gene_sets, list(ranking.index), min_size, max_size)
    if not sets:
        raise UserInputError(f"prerank: no gene set has between {min_size} and {max_size} genes "
                             "in the ranking; check --min-size/--max-size and identifiers")
    n_ties = int(pd.Series(ranking.to_numpy()).duplicated().sum())
    if n_ties:
        log.debug("prerank: %d genes share a score with another gene; ties keep file order",
                  n_ties)
    rnk = pd.DataFrame({"gene": [str(g) for g in ranking.index],
                        "score": ranking.to_numpy(dtype=float)})
    threads = max(1, min(int(threads), os.cpu_count() or 1))
    runner = gseapy.Prerank(rnk=rnk, gene_sets=sets, outdir=None, min_size=min_size,
                            max_size=max_size, permutation_num=int(permutations), weight=1.0,
                            ascending=None, threads=threads, no_plot=True, seed=int(seed),
                            verbose=False, method=method)
    runner._logger.handlers[:] = [_ForwardToDebug()]
    try:
        with _native_stderr_to_debug():
            runner.run()
    except LookupError as exc:  # gseapy: no set passed its filter
        raise UserInputError(f"prerank: {str(exc).splitlines()[0]}") from exc
    res = runner.res2d
    terms = res["Term"].astype(str).tolist()
    leading = res["Lead_genes"].fillna("").astype(str).tolist()
    table = pd.DataFrame({
        "term": terms,
        "set_size": [len(runner.gmt[t]) for t in terms],
        "es": res["ES"].astype(float).to_numpy(),
        "nes": res["NES"].astype(float).to_numpy(),
        "pvalue": res["NOM p-val"].astype(float).to_numpy(),
        "fdr_qvalue": res["FDR q-val"].astype(float).to_numpy(),
        "fwer_pvalue": (res["FWER p-val"].astype(float).to_numpy() if "FWER p-val" in res
                        else np.full(len(res), np.nan)),
        "log2err": (res["log2err"].astype(float).to_numpy()
                    if method == "multilevel" and "log2err" in res
                    else np.full(len(res), np.nan)),
        "leading_edge_size": [len(x.split(";")) if x else 0 for x in leading],
        "leading_edge": leading,
    })
    sig = table["fdr_qvalue"].to_numpy() < fdr
    if positive_only:
        sig &= table["nes"].to_numpy() > 0
    table["significant"] = sig
    table["pvalue_note"] = [undefined_pvalue_note(size, es, positive_only)
                            if not np.isfinite(pv) else ""
                            for size, es, pv in zip(table["set_size"], table["es"],
                                                    table["pvalue"], strict=True)]
    table = sort_prerank(table, positive_only)
    undefined = table[table["pvalue_note"] != ""]
    if len(undefined):
        first = undefined.iloc[0]
        log.warning("prerank: %d set(s) have no p-value, e.g. %r: %s", len(undefined),
                    first["term"], first["pvalue_note"])
    return table[PRERANK_COLUMNS]


def undefined_pvalue_note(set_size: int, es: float, positive_only: bool) -> str:
    """Why a set's NES/p/q are NaN (module docstring, "Undefined p-values")."""
    tail = "ES < 0" if es < 0 else "ES > 0"
    note = (f"no random gene set of size {int(set_size)} reaches this tail ({tail}) in the "
            f"permutations (fewer than {MIN_SAME_SIGN_NULL} did), so NES and p are undefined")
    if positive_only and es < 0:
        note += "; with non-negative scores the negative tail only means 'ignored by the model'"
    return note


class _native_stderr_to_debug:  # noqa: N801 - used as a context manager
    """Send what native code writes to file descriptor 2 to the debug log.

    gseapy's compiled core prints its own warnings straight to stderr (advice that would
    contradict ``pvalue_note``); a batch log should get one line from us instead.
    """

    def __enter__(self) -> None:
        import sys
        import tempfile

        self._saved = None
        try:
            sys.stderr.flush()
            self._file = tempfile.TemporaryFile(mode="w+b")
            self._saved = os.dup(2)
            os.dup2(self._file.fileno(), 2)
        except (OSError, ValueError):  # no real fd 2 (embedded interpreters)
            self._saved = None

    def __exit__(self, *exc: object) -> None:
        if self._saved is None:
            return
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.seek(0)
        text = self._file.read().decode("utf-8", "replace").strip()
        self._file.close()
        if text:
            logging.getLogger("aprior.gseapy").debug("%s", text)
