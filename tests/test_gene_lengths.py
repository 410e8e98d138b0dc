"""Exonic union length against hand computations and a brute-force base count."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from aprior_cli.gene_lengths import exonic_union_lengths


def test_union_by_hand():
    exons = pd.DataFrame({
        "gene": ["g1", "g1", "g1", "g2", "g2", "g1"],
        "start": [100, 150, 300, 10, 10, 201],
        "end": [200, 180, 310, 19, 19, 250],
    })
    out = exonic_union_lengths(exons)
    # g1: [100,200] u [150,180] -> 101 bases; [201,250] adjacent -> +50; [300,310] -> +11
    # g2: the same exon twice (two transcripts) counts once: 10 bases
    assert out.to_dict() == {"g1": 162, "g2": 10}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(1, 200),
                          st.integers(0, 40)), min_size=1, max_size=30))
def test_union_matches_base_count(rows):
    exons = pd.DataFrame({"gene": [r[0] for r in rows], "start": [r[1] for r in rows],
                          "end": [r[1] + r[2] for r in rows]})
    out = exonic_union_lengths(exons)
    for gene, group in exons.groupby("gene"):
        covered = set()
        for s, e in zip(group["start"], group["end"], strict=True):
            covered.update(range(s, e + 1))
        assert out[gene] == len(covered)
    assert out.dtype == np.int64
