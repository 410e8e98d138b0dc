"""Pathway enrichment of gene rankings: over-representation (ORA) and GSEA prerank.

Pure computation: rankings (pandas Series) and gene-set dicts in, tables out. File formats are
in :mod:`aprior_cli.io.gmt` and :mod:`aprior_cli.io.ranking`; the command is
:mod:`aprior_cli.cli.enrich`.
"""

from aprior_cli.enrichment.compare import compare_significant, significant_terms_matrix
from aprior_cli.enrichment.ora import (
    benjamini_hochberg,
    hypergeometric_upper_tail,
    over_representation,
    sample_odds_ratio,
)
from aprior_cli.enrichment.overlap import IdentifierOverlap, check_overlap, identifier_overlap
from aprior_cli.enrichment.prerank import prerank

__all__ = [
    "IdentifierOverlap",
    "benjamini_hochberg",
    "check_overlap",
    "compare_significant",
    "hypergeometric_upper_tail",
    "identifier_overlap",
    "over_representation",
    "prerank",
    "sample_odds_ratio",
    "significant_terms_matrix",
]
