"""Identifier overlap between a ranking and gene sets: catch the classic silent failure.

Enrichment of a ranking keyed by Entrez ids (``7157``) against symbol gene sets (``TP53``)
finds nothing and says nothing. :func:`identifier_overlap` measures the overlap
coefficient ``|R ∩ G| / min(|R|, |G|)`` (R = ranked genes, G = union of the gene sets; 1 when
the smaller side is fully covered, independent of how much bigger the other side is) and guesses
each side's identifier type; :func:`check_overlap` errors when nothing matches and warns loudly,
with the fraction and a hint, when the overlap is low.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from aprior_cli.errors import UserInputError

log = logging.getLogger("aprior.enrich")

#: warn when the overlap coefficient is below this
LOW_OVERLAP = 0.5

_ENSEMBL = re.compile(r"^ENS[A-Z]*G\d{6,}(\.\d+)?$")
_ENTREZ = re.compile(r"^\d+$")


def identifier_kind(gene: str) -> str:
    """``"entrez"`` (all digits), ``"ensembl"`` (ENSG..., ENSMUSG...) or ``"symbol"``."""
    if _ENTREZ.match(gene):
        return "entrez"
    if _ENSEMBL.match(gene.upper()):
        return "ensembl"
    return "symbol"


def dominant_kind(genes: Iterable[str]) -> str:
    """The most common :func:`identifier_kind` of ``genes`` (``"symbol"`` when empty)."""
    counts = Counter(identifier_kind(g) for g in genes)
    return counts.most_common(1)[0][0] if counts else "symbol"


@dataclass(frozen=True)
class IdentifierOverlap:
    """How well ranking identifiers match gene-set identifiers.

    Attributes
    ----------
    n_ranked, n_set_genes, n_shared
        |R|, |G| and |R ∩ G| (exact, case-sensitive match).
    fraction
        Overlap coefficient ``n_shared / min(n_ranked, n_set_genes)`` in [0, 1].
    fraction_ranked_in_sets
        ``n_shared / n_ranked``.
    n_shared_ignoring_case
        |R ∩ G| after upper-casing both sides.
    ranking_kind, gene_set_kind
        Guessed identifier types (``entrez``, ``ensembl``, ``symbol``).
    """

    n_ranked: int
    n_set_genes: int
    n_shared: int
    fraction: float
    fraction_ranked_in_sets: float
    n_shared_ignoring_case: int
    ranking_kind: str
    gene_set_kind: str

    def hint(self) -> str:
        """A sentence on the likely cause of a low overlap ('' when none is evident)."""
        if self.ranking_kind != self.gene_set_kind:
            names = {"entrez": "Entrez ids", "ensembl": "Ensembl ids", "symbol": "gene symbols"}
            return (f"the ranking looks like {names[self.ranking_kind]} but the gene sets use "
                    f"{names[self.gene_set_kind]}: map identifiers first (e.g. with a BioMart "
                    "table)")
        if self.n_shared_ignoring_case > max(2 * self.n_shared, self.n_shared + 10):
            return (f"{self.n_shared_ignoring_case} genes match when case is ignored (mouse vs "
                    "human symbols?): pass --ignore-case or map orthologs")
        return ""

    def as_dict(self) -> dict[str, object]:
        return {"n_ranked_genes": self.n_ranked, "n_gene_set_genes": self.n_set_genes,
                "n_shared": self.n_shared, "overlap_coefficient": self.fraction,
                "fraction_ranked_in_sets": self.fraction_ranked_in_sets,
                "n_shared_ignoring_case": self.n_shared_ignoring_case,
                "ranking_identifiers": self.ranking_kind,
                "gene_set_identifiers": self.gene_set_kind}


def identifier_overlap(ranked_genes: Iterable[str], set_genes: Iterable[str]) -> IdentifierOverlap:
    """Measure the identifier overlap of ranked genes and the union of gene-set genes."""
    ranked = set(ranked_genes)
    sets = set(set_genes)
    shared = len(ranked & sets)
    smaller = min(len(ranked), len(sets))
    shared_ci = len({g.upper() for g in ranked} & {g.upper() for g in sets})
    return IdentifierOverlap(
        n_ranked=len(ranked), n_set_genes=len(sets), n_shared=shared,
        fraction=shared / smaller if smaller else 0.0,
        fraction_ranked_in_sets=shared / len(ranked) if ranked else 0.0,
        n_shared_ignoring_case=shared_ci,
        ranking_kind=dominant_kind(ranked), gene_set_kind=dominant_kind(sets))


def check_overlap(overlap: IdentifierOverlap, ranking_source: str, gmt_source: str,
                  low: float = LOW_OVERLAP) -> None:
    """Raise when no identifier matches; log a loud warning when the overlap is below ``low``.

    Raises
    ------
    UserInputError
        ``overlap.n_shared == 0``.
    """
    hint = overlap.hint()
    if overlap.n_shared == 0:
        raise UserInputError(
            f"{ranking_source}: no gene identifier matches the gene sets in {gmt_source} "
            f"(0 of {overlap.n_ranked} ranked genes)" + (f"; {hint}" if hint else ""))
    if overlap.fraction < low:
        log.warning(
            "WARNING: low identifier overlap between %s and %s: %d shared genes = %.1f%% of the "
            "smaller side (%d ranked genes, %d gene-set genes); results may be meaningless%s",
            ranking_source, gmt_source, overlap.n_shared, 100 * overlap.fraction,
            overlap.n_ranked, overlap.n_set_genes, f"; {hint}" if hint else "")
