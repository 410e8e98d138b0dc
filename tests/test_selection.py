"""The choice rules of aprior_cli.selection against hand computations."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.selection import Candidate, select


def _losses(mean: float, spread: float, n: int = 20, seed: int = 0) -> np.ndarray:
    """n losses with exactly this mean (spread sets their sd)."""
    z = np.random.default_rng(seed).normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + spread * z


def test_best_is_the_lowest_mean_validation_loss():
    cands = [Candidate("lambda_0.1", 0.1, _losses(1.0, 0.3)),
             Candidate("lambda_1", 1.0, _losses(0.9, 0.3, seed=1)),
             Candidate("lambda_10", 10.0, _losses(1.2, 0.3, seed=2))]
    sel = select(cands, "best")
    assert sel.chosen == sel.best == 1
    assert list(sel.table["chosen"]) == [False, True, False]
    assert sel.table["val_loss"].tolist() == pytest.approx([1.0, 0.9, 1.2])


def test_one_se_takes_the_smallest_lambda_within_one_paired_standard_error():
    # the best: lambda 1; lambda 0.1 is worse by 0.05 on average with differences of sd 0.4
    # over 16 samples (paired s.e. 0.1): within; lambda 0 is worse by 0.15 with the same
    # spread of differences: not within
    base = _losses(0.90, 0.4, n=16)
    noise = _losses(0.0, 0.4, n=16, seed=3)
    cands = [Candidate("lambda_1", 1.0, base),
             Candidate("lambda_0.1", 0.1, base + 0.05 + noise),
             Candidate("lambda_0", 0.0, base + 0.15 + noise)]
    by_hand = statistics.stdev((cands[1].val_losses - base).tolist()) / math.sqrt(16)
    assert by_hand == pytest.approx(0.1)
    sel = select(cands, "one-se")
    assert sel.best == 0 and sel.chosen == 1
    assert sel.threshold == pytest.approx(0.90 + by_hand)
    assert list(sel.table["within_one_se"]) == [True, True, False]
    assert sel.table["diff_se"].tolist() == pytest.approx([0.0, by_hand, by_hand])
    assert select(cands, "best").chosen == 0


def test_the_pairing_is_what_separates_candidates():
    """Samples that differ a lot from each other (the same for every candidate) do not hide a
    consistent difference between candidates: the unpaired s.e. of the best (0.1) would call
    lambda 0.1 (worse by 0.05 on every sample) equivalent; the paired s.e. does not."""
    base = _losses(0.90, 0.4, n=16)
    cands = [Candidate("lambda_1", 1.0, base),
             Candidate("lambda_0.1", 0.1, base + 0.05 + _losses(0.0, 0.01, n=16, seed=5))]
    assert cands[0].se == pytest.approx(0.1)
    sel = select(cands, "one-se")
    assert sel.chosen == 0 and not sel.table["within_one_se"][1]


def test_one_se_picks_the_smaller_lambda_on_a_tie():
    same = _losses(0.5, 0.2, n=12)
    cands = [Candidate("lambda_10", 10.0, same.copy()), Candidate("lambda_1", 1.0, same.copy())]
    assert select(cands, "one-se").chosen == 1
    assert select(cands, "best").chosen == 1  # a tie on the mean: the smaller lambda too
    # the tie is what decides: make lambda 10 better by less than the noise of the paired
    # difference and one-se still prefers lambda 1, best does not
    jitter = _losses(0.0, 0.1, n=12, seed=7)
    cands[0] = Candidate("lambda_10", 10.0, same - 0.01 + jitter)
    assert select(cands, "one-se").chosen == 1 and select(cands, "best").chosen == 0
    cands[0] = Candidate("lambda_10", 10.0, same - 1.0 + jitter)  # far better: one-se follows
    assert select(cands, "one-se").chosen == 0


def test_mean_only_candidates_allow_best_but_not_one_se():
    cands = [Candidate("a", 0.0, None, 1.0), Candidate("b", 1.0, None, 0.5)]
    assert select(cands, "best").chosen == 1
    with pytest.raises(UserInputError, match="one-se needs per-sample"):
        select(cands, "one-se")


@pytest.mark.parametrize("case", ["empty", "rule", "nan", "sizes"])
def test_bad_candidates(case):
    cands = [Candidate("a", 0.0, _losses(1, 1, n=5)), Candidate("b", 1.0, _losses(1, 1, n=5))]
    rule = "best"
    if case == "empty":
        cands = []
    elif case == "rule":
        rule = "median"
    elif case == "nan":
        cands[1] = Candidate("b", 1.0, None, None)
    else:
        cands[1] = Candidate("b", 1.0, _losses(1, 1, n=6))
    with pytest.raises(UserInputError):
        select(cands, rule)
