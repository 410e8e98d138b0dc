"""One ranking against one or more gene-set libraries: overlap check, ORA, prerank, summary.

Pure computation (no files): the command in :mod:`aprior_cli.cli.enrich` reads the inputs,
calls :func:`validate_inputs` for every ranking before any work (so a bad input fails before a
single file is written), then :func:`enrich_ranking`, and writes the tables.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aprior_cli.enrichment.ora import over_representation
from aprior_cli.enrichment.overlap import check_overlap, identifier_overlap
from aprior_cli.enrichment.prerank import prerank, restrict_gene_sets, sort_prerank
from aprior_cli.errors import UserInputError
from aprior_cli.io.gmt import GeneSetLibrary

METHODS = ("prerank", "ora")
#: ORA universe conventions (``--universe``)
UNIVERSES = {
    "background": "background as given (Enrichr/gseapy convention)",
    "annotated": "background restricted to genes annotated in the library "
                 "(clusterProfiler convention)",
}
DEFAULT_TOP_K = 200

log = logging.getLogger("aprior.enrich")


@dataclass(frozen=True)
class EnrichmentOptions:
    """Settings shared by all rankings (CLI options of ``aprior enrich``)."""

    methods: tuple[str, ...] = METHODS
    top_k: int | None = None  # None: 200 genes of a ranking, every gene of a gene list
    fdr: float = 0.05
    permutations: int = 1000
    seed: int = 0
    min_size: int = 15
    max_size: int = 500
    threads: int = 1
    top_terms: int = 20
    prerank_method: str = "permutation"
    universe: str = "background"

    def __post_init__(self) -> None:
        if self.universe not in UNIVERSES:
            raise UserInputError(f"--universe: {self.universe!r} is not one of "
                                 f"{', '.join(UNIVERSES)}")
        bad = [m for m in self.methods if m not in METHODS]
        if bad or not self.methods:
            raise UserInputError(f"--method: {','.join(bad) or '(empty)'} is not one of "
                                 f"{','.join(METHODS)}")
        if self.min_size < 1 or self.max_size < self.min_size:
            raise UserInputError(f"--min-size/--max-size: need 1 <= min-size <= max-size "
                                 f"(got {self.min_size}, {self.max_size})")
        if not 0 < self.fdr < 1:
            raise UserInputError(f"--fdr: must be between 0 and 1 (got {self.fdr})")


@dataclass
class RankingEnrichment:
    """Results for one ranking: ``tables[method]`` (with a ``library`` column) and a summary."""

    name: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, object] = field(default_factory=dict)


def uppercase_ranking(ranking: pd.Series) -> pd.Series:
    """Upper-case identifiers; where two collide, keep the higher score (ranking order)."""
    out = ranking.copy()
    out.index = pd.Index([g.upper() for g in ranking.index], name=ranking.index.name)
    return out[~out.index.duplicated(keep="first")]


def uppercase_library(library: GeneSetLibrary) -> GeneSetLibrary:
    """A copy of ``library`` with upper-cased genes (duplicates created by this removed)."""
    sets = {t: list(dict.fromkeys(g.upper() for g in genes))
            for t, genes in library.gene_sets.items()}
    return GeneSetLibrary(name=library.name, gene_sets=sets,
                          descriptions=dict(library.descriptions),
                          n_duplicate_genes=library.n_duplicate_genes,
                          n_empty_sets=library.n_empty_sets, path=library.path)


def is_gene_list(ranking: pd.Series) -> bool:
    """A plain gene list read by :func:`aprior_cli.io.ranking.read_query`."""
    from aprior_cli.io.ranking import GENE_LIST_SCORE

    return ranking.name == GENE_LIST_SCORE


def effective_top_k(ranking: pd.Series, top_k: int | None) -> int:
    """``--top-k``, or its default: the whole of a gene list; 200 genes of a ranking, or a
    quarter of a ranking shorter than 400 genes (so genes remain outside the query)."""
    if top_k is not None:
        return top_k
    if is_gene_list(ranking):
        return len(ranking)
    n = len(ranking)
    return DEFAULT_TOP_K if n >= 2 * DEFAULT_TOP_K else max(1, n // 4)


def query_and_universe(ranking: pd.Series, top_k: int | None,
                       background: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """Top ``top_k`` genes of the ranking and the ORA universe (background or all ranked genes)."""
    universe = list(background) if background is not None else list(ranking.index)
    query = list(ranking.index[:effective_top_k(ranking, top_k)])
    return query, universe


def library_universe(universe: Sequence[str], library: GeneSetLibrary, convention: str
                     ) -> list[str]:
    """The ORA universe for one library under ``convention`` (:data:`UNIVERSES`)."""
    if convention == "annotated":
        annotated = library.genes
        return [g for g in universe if g in annotated]
    return list(universe)


def validate_inputs(name: str, ranking: pd.Series, libraries: Sequence[GeneSetLibrary],
                    options: EnrichmentOptions, background: Sequence[str] | None = None,
                    background_source: str = "--background") -> dict[str, dict]:
    """Check one ranking against the libraries before any work; return overlap reports.

    Raises
    ------
    UserInputError
        Too few genes for ``top_k``, no identifier overlap, no query gene in the background,
        or no gene set within the size limits.
    """
    if len(ranking) < 2:
        raise UserInputError(f"{name}: the ranking needs at least two genes")
    reports = {}
    for lib in libraries:
        report = identifier_overlap(ranking.index, lib.genes)
        check_overlap(report, name, str(lib.path or lib.name))
        reports[lib.name] = report.as_dict()
    gene_list = is_gene_list(ranking)
    if gene_list and background is None and "ora" in options.methods:
        raise UserInputError(f"{name}: a plain gene list needs --background (the universe the "
                             "list was drawn from)")
    if gene_list and "prerank" in options.methods:
        raise UserInputError(f"{name}: a plain gene list has no scores for prerank; use "
                             "--method ora")
    if "ora" in options.methods:
        query, universe = query_and_universe(ranking, options.top_k, background)
        k = effective_top_k(ranking, options.top_k)
        if k > len(ranking):
            raise UserInputError(f"--top-k {k}: {name} has only {len(ranking)} genes")
        for lib in libraries:
            lib_universe = set(library_universe(universe, lib, options.universe))
            n_in = sum(g in lib_universe for g in query)
            if n_in == 0:
                raise UserInputError(f"{background_source}: none of the top {k} genes of {name} "
                                     f"is in the universe ({UNIVERSES[options.universe]}, "
                                     f"{lib.name})")
            if n_in >= len(lib_universe):
                raise UserInputError(f"--top-k {k}: the query covers the whole universe of "
                                     f"{name} ({len(lib_universe)} genes); ORA needs genes "
                                     "outside the query (give a larger --background)")
            if not restrict_gene_sets(lib.gene_sets, list(lib_universe), options.min_size,
                                      options.max_size):
                raise UserInputError(_size_message(lib, name, options, "background"))
    if "prerank" in options.methods:
        for lib in libraries:
            if not restrict_gene_sets(lib.gene_sets, list(ranking.index), options.min_size,
                                      options.max_size):
                raise UserInputError(_size_message(lib, name, options, "ranking"))
    return reports


def _size_message(lib: GeneSetLibrary, name: str, options: EnrichmentOptions, where: str) -> str:
    return (f"{lib.path or lib.name}: no gene set has between {options.min_size} and "
            f"{options.max_size} genes in the {where} of {name}; lower --min-size or raise "
            "--max-size")


def _top_terms(table: pd.DataFrame, n: int, effect: str) -> list[dict[str, object]]:
    cols = ["library", "term", "set_size", effect, "pvalue", "fdr_qvalue"]
    return table.head(n)[cols].to_dict(orient="records")


def enrich_ranking(name: str, ranking: pd.Series, libraries: Sequence[GeneSetLibrary],
                   options: EnrichmentOptions, background: Sequence[str] | None = None,
                   overlap_reports: dict[str, dict] | None = None) -> RankingEnrichment:
    """Run the selected methods for one ranking against every library.

    FDR q-values are computed within each library (as Enrichr and GSEA do).

    Returns
    -------
    RankingEnrichment
        ``tables["ora"]`` and/or ``tables["prerank"]``, each with a leading ``library`` column,
        and a JSON-ready ``summary``.
    """
    result = RankingEnrichment(name=name)
    positive_only = bool((ranking.to_numpy() >= 0).all())
    summary: dict[str, object] = {
        "ranking": name,
        "n_genes": len(ranking),
        "score_column": ranking.name,
        "scores_nonnegative": positive_only,
        "fdr_threshold": options.fdr,
        "min_size": options.min_size,
        "max_size": options.max_size,
        "libraries": [{"name": lib.name, "path": str(lib.path) if lib.path else None,
                       "n_sets": len(lib), "n_duplicate_genes_removed": lib.n_duplicate_genes,
                       "n_empty_sets_dropped": lib.n_empty_sets,
                       "identifier_overlap": (overlap_reports or {}).get(lib.name)}
                      for lib in libraries],
    }
    if "ora" in options.methods:
        query, universe = query_and_universe(ranking, options.top_k, background)
        universe_set = set(universe)
        n_in = sum(g in universe_set for g in query)
        if n_in < len(query):
            log.warning("%s: %d of the top %d genes are not in the background and are left out "
                        "of ORA", name, len(query) - n_in, len(query))
        frames, per_library = [], {}
        for lib in libraries:
            lib_universe = library_universe(universe, lib, options.universe)
            t = over_representation(query, lib_universe, lib.gene_sets, options.min_size,
                                    options.max_size, options.fdr, gene_order=list(ranking.index))
            t.insert(0, "library", lib.name)
            t["universe"] = options.universe
            t["universe_size"] = len(set(lib_universe))
            frames.append(t)
            lib_set = set(lib_universe)
            per_library[lib.name] = {"universe_size": len(lib_set),
                                     "query_in_universe": sum(g in lib_set for g in query)}
        table = pd.concat(frames, ignore_index=True)
        table = table.sort_values(["pvalue", "library", "term"], kind="mergesort")
        result.tables["ora"] = table.reset_index(drop=True)
        summary["ora"] = {
            "top_k": effective_top_k(ranking, options.top_k),
            "query": ("plain gene list (file order)" if is_gene_list(ranking)
                      else "top genes of the ranking"),
            "universe": UNIVERSES[options.universe],
            "universe_by_library": per_library,
            "n_query_in_background": n_in,
            "background_size": len(universe_set),
            "background": "given" if background is not None else "all ranked genes",
            "n_sets_tested": len(table),
            "n_significant": int(table["significant"].sum()),
            "n_significant_by_library": {lib.name: int(table.loc[table["library"] == lib.name,
                                                                 "significant"].sum())
                                         for lib in libraries},
            "top_terms": _top_terms(result.tables["ora"], options.top_terms, "odds_ratio"),
        }
    if "prerank" in options.methods:
        frames = []
        for lib in libraries:
            t = prerank(ranking, lib.gene_sets, permutations=options.permutations,
                        seed=options.seed, min_size=options.min_size, max_size=options.max_size,
                        threads=options.threads, fdr=options.fdr, positive_only=positive_only,
                        method=options.prerank_method)
            t.insert(0, "library", lib.name)
            frames.append(t)
        table = sort_prerank(pd.concat(frames, ignore_index=True), positive_only)
        result.tables["prerank"] = table
        qs = table["fdr_qvalue"].to_numpy()
        nes = table["nes"].to_numpy()
        summary["prerank"] = {
            "method": options.prerank_method,
            "permutations": options.permutations,
            "seed": options.seed,
            "weight": 1.0,
            "n_sets_tested": len(table),
            "n_significant": int(table["significant"].sum()),
            "n_significant_positive_nes": int(np.sum((qs < options.fdr) & (nes > 0))),
            "n_significant_negative_nes": int(np.sum((qs < options.fdr) & (nes < 0))),
            "significant_means": ("q < fdr and NES > 0 (non-negative scores: only the "
                                  "positive tail is meaningful)" if positive_only
                                  else "q < fdr, either sign of NES"),
            "n_significant_by_library": {lib.name: int(table.loc[table["library"] == lib.name,
                                                                 "significant"].sum())
                                         for lib in libraries},
            "top_terms": _top_terms(table, options.top_terms, "nes"),
        }
    result.summary = summary
    return result
