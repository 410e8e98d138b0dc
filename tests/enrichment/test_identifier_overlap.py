"""Identifier overlap check: error at zero, loud warning when low, hints on the cause."""

from __future__ import annotations

import logging

import pytest

from aprior_cli.enrichment.overlap import (
    check_overlap,
    dominant_kind,
    identifier_kind,
    identifier_overlap,
)
from aprior_cli.errors import UserInputError


@pytest.fixture
def enrich_log(caplog):
    """Capture ``aprior.enrich`` records even after a CLI test set ``aprior`` to not propagate."""
    logger = logging.getLogger("aprior.enrich")
    logger.addHandler(caplog.handler)
    with caplog.at_level(logging.WARNING, logger="aprior.enrich"):
        yield caplog
    logger.removeHandler(caplog.handler)


def test_identifier_kinds():
    assert identifier_kind("7157") == "entrez"
    assert identifier_kind("ENSG00000141510") == "ensembl"
    assert identifier_kind("ENSMUSG00000059552.5") == "ensembl"
    assert identifier_kind("TP53") == "symbol"
    assert identifier_kind("Trp53") == "symbol"
    assert dominant_kind(["1", "2", "TP53"]) == "entrez"


def test_overlap_coefficient_uses_the_smaller_side():
    ranked = [f"G{i}" for i in range(1000)]
    o = identifier_overlap(ranked, ["G1", "G2", "G3", "OTHER"])
    assert (o.n_ranked, o.n_set_genes, o.n_shared) == (1000, 4, 3)
    assert o.fraction == pytest.approx(0.75)
    assert o.fraction_ranked_in_sets == pytest.approx(0.003)
    assert o.hint() == ""


def test_entrez_against_symbols_is_an_error_with_a_hint():
    o = identifier_overlap(["7157", "672", "1956"], ["TP53", "BRCA1", "EGFR"])
    assert o.n_shared == 0 and o.fraction == 0.0
    assert o.ranking_kind == "entrez" and o.gene_set_kind == "symbol"
    with pytest.raises(UserInputError, match=r"ranking.tsv: no gene identifier matches the gene "
                       r"sets in sets.gmt \(0 of 3 ranked genes\); the ranking looks like Entrez "
                       r"ids but the gene sets use gene symbols"):
        check_overlap(o, "ranking.tsv", "sets.gmt")


def test_low_overlap_warns_loudly_with_fraction_and_case_hint(enrich_log):
    ranked = ["Trp53", "Mdm2", "Egfr", "Brca1", "Kras", "Nras", "Myc", "Actb", "Gapdh", "Tp63",
              "Cdkn1a", "Akt1", "TP53"]
    sets = ["TP53", "MDM2", "EGFR", "BRCA1", "KRAS", "NRAS", "MYC", "ACTB", "GAPDH", "TP63",
            "CDKN1A", "AKT1", "X1", "X2"]
    o = identifier_overlap(ranked, sets)
    assert o.n_shared == 1 and o.n_shared_ignoring_case == 12
    check_overlap(o, "mouse.rnk", "human.gmt")
    text = enrich_log.text
    assert "low identifier overlap" in text and "7.7% of the smaller side" in text
    assert "--ignore-case" in text


def test_good_overlap_is_silent(enrich_log):
    o = identifier_overlap(["A", "B", "C"], ["A", "B", "C", "D"])
    check_overlap(o, "r", "g")
    assert enrich_log.text == ""
