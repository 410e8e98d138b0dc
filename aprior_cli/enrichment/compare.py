"""Compare enrichment results of two or more rankings (e.g. graph prior vs baseline).

Input everywhere: ``results[ranking_name][method]`` = an enrichment table with at least the
columns ``library``, ``term``, ``fdr_qvalue`` and ``significant`` (ORA or prerank tables).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import pandas as pd

COMPARISON_COLUMNS = ["method", "ranking_a", "ranking_b", "n_significant_a", "n_significant_b",
                      "n_shared", "n_only_a", "n_only_b", "jaccard", "shared_terms"]


def _significant_keys(table: pd.DataFrame) -> list[tuple[str, str]]:
    sig = table[table["significant"].astype(bool)]
    return list(zip(sig["library"].astype(str), sig["term"].astype(str), strict=True))


def _label(key: tuple[str, str], many_libraries: bool) -> str:
    return f"{key[0]}::{key[1]}" if many_libraries else key[1]


def compare_significant(results: Mapping[str, Mapping[str, pd.DataFrame]]) -> pd.DataFrame:
    """Significant-term counts and overlaps for every pair of rankings, per method.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARISON_COLUMNS`; one row per method and unordered pair of rankings
        (in input order). ``jaccard`` = shared / union (NaN when both have none);
        ``shared_terms`` is ``;``-separated (``library::term`` when several libraries).
    """
    names = list(results)
    methods = [m for m in dict.fromkeys(m for r in results.values() for m in r)]
    rows = []
    for method in methods:
        libraries = set()
        for name in names:
            if method in results[name]:
                libraries.update(results[name][method]["library"].astype(str))
        many = len(libraries) > 1
        for a, b in itertools.combinations(names, 2):
            if method not in results[a] or method not in results[b]:
                continue
            keys_a = _significant_keys(results[a][method])
            keys_b = _significant_keys(results[b][method])
            set_b = set(keys_b)
            shared = [k for k in keys_a if k in set_b]
            union = len(set(keys_a) | set_b)
            rows.append({
                "method": method, "ranking_a": a, "ranking_b": b,
                "n_significant_a": len(set(keys_a)), "n_significant_b": len(set_b),
                "n_shared": len(shared), "n_only_a": len(set(keys_a) - set_b),
                "n_only_b": len(set_b - set(keys_a)),
                "jaccard": len(shared) / union if union else float("nan"),
                "shared_terms": ";".join(_label(k, many) for k in shared),
            })
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def significant_terms_matrix(results: Mapping[str, Mapping[str, pd.DataFrame]]) -> pd.DataFrame:
    """Terms significant in at least one ranking, with every ranking's q-value side by side.

    Returns
    -------
    pandas.DataFrame
        Columns ``method, library, term, n_rankings_significant``, then ``<name>.fdr_qvalue``
        per ranking (NaN where the term was not tested), sorted by method, decreasing
        ``n_rankings_significant``, then the smallest q-value.
    """
    frames = []
    for method in dict.fromkeys(m for r in results.values() for m in r):
        keys: dict[tuple[str, str], None] = {}
        for r in results.values():
            if method in r:
                keys.update(dict.fromkeys(_significant_keys(r[method])))
        if not keys:
            continue
        index = pd.MultiIndex.from_tuples(list(keys), names=["library", "term"])
        out = pd.DataFrame(index=index)
        n_sig = pd.Series(0, index=index)
        for name, r in results.items():
            if method not in r:
                continue
            t = r[method].set_index(["library", "term"])
            out[f"{name}.fdr_qvalue"] = t["fdr_qvalue"].reindex(index)
            n_sig += t["significant"].reindex(index).fillna(False).astype(int)
        out.insert(0, "n_rankings_significant", n_sig)
        out.insert(0, "method", method)
        qcols = [c for c in out.columns if c.endswith(".fdr_qvalue")]
        out["_best"] = out[qcols].min(axis=1)
        out = out.reset_index().sort_values(["n_rankings_significant", "_best"],
                                            ascending=[False, True], kind="mergesort")
        frames.append(out.drop(columns="_best")[["method", "library", "term",
                                                 "n_rankings_significant", *qcols]])
    if not frames:
        return pd.DataFrame(columns=["method", "library", "term", "n_rankings_significant"])
    return pd.concat(frames, ignore_index=True)
