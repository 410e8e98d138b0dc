"""Choosing a hyper-parameter (lambda) on the validation split, never on the test split.

Pure computation: candidates in (each a name, its lambda and its per-sample validation losses),
a choice and a table out. Test figures are not an input of :func:`select` -- they cannot
influence the choice; the IO layer (:mod:`aprior_cli.io.selection`) attaches them to the
table afterwards, for the record.

Rules
-----
``best``
    The candidate with the lowest mean validation loss.
``one-se``
    The one-standard-error rule: the *smallest* lambda whose mean validation loss exceeds the
    best candidate's by at most one standard error of that difference. Every candidate is
    scored on the same validation samples, so the difference is paired:
    ``d_j = loss_cand(j) - loss_best(j)`` per validation sample ``j``, and the candidate is
    within one s.e. when ``mean(d) <= sd(d, ddof=1) / sqrt(n_val)``. (The unpaired s.e. of
    the best candidate's own mean -- the textbook version for cross-validation folds -- also
    counts how much the validation samples differ from each other, which every candidate
    shares; on 50 validation samples it is several times the differences between lambdas, so
    the rule would always pick the smallest lambda of a grid. The candidate's own s.e. is
    still reported, as ``val_loss_se``.)

Ties (equal means, or equal lambdas) go to the smaller lambda, then to the earlier candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError

RULES = ("best", "one-se")

#: how the standard error of the one-SE rule is defined (recorded in selection.json)
SE_DEFINITION = ("standard error of the paired difference to the best candidate: sd over the "
                 "validation samples of (candidate's loss - best candidate's loss), ddof=1, "
                 "/ sqrt(number of validation samples)")


@dataclass(frozen=True)
class Candidate:
    """One candidate: a name (e.g. ``lambda_1``), its lambda and its validation losses.

    Attributes
    ----------
    name
        Label of the candidate (its run directory, relative).
    lambda_value
        The prior strength it was trained with (resolved when ``auto``).
    val_losses
        Per-sample validation losses ``(n_val,)``, or ``None`` when only the mean is known.
    val_loss_mean
        Mean validation loss; used when ``val_losses`` is ``None``.
    """

    name: str
    lambda_value: float
    val_losses: np.ndarray | None = None
    val_loss_mean: float | None = None

    @property
    def mean(self) -> float:
        if self.val_losses is not None:
            return float(np.mean(self.val_losses))
        return float("nan") if self.val_loss_mean is None else float(self.val_loss_mean)

    @property
    def se(self) -> float:
        """Standard error of the mean validation loss (NaN without per-sample losses)."""
        if self.val_losses is None or self.val_losses.size < 2:
            return float("nan")
        return float(np.std(self.val_losses, ddof=1) / np.sqrt(self.val_losses.size))

    @property
    def n_val(self) -> int | None:
        return None if self.val_losses is None else int(self.val_losses.size)


@dataclass
class Selection:
    """The choice among candidates.

    Attributes
    ----------
    rule
        ``best`` or ``one-se``.
    chosen, best
        Indices (into the candidates) of the chosen and of the lowest-loss candidate.
    threshold
        ``best mean + s.e. of the chosen candidate's difference to it`` (the margin the
        chosen candidate had to stay under; NaN without per-sample losses).
    table
        One row per candidate, in the given order: ``candidate, lambda, val_loss,
        val_loss_se, diff_to_best, diff_se, n_val, within_one_se, best, chosen``.
    """

    rule: str
    chosen: int
    best: int
    threshold: float
    table: pd.DataFrame


def _order(candidates: Sequence[Candidate]) -> list[int]:
    """Candidate indices from the smallest lambda (ties: given order)."""
    return sorted(range(len(candidates)), key=lambda i: (candidates[i].lambda_value, i))


def select(candidates: Sequence[Candidate], rule: str = "best") -> Selection:
    """Choose one candidate by its validation loss (see the module docstring).

    Raises
    ------
    UserInputError
        No candidates, an unknown rule, a candidate without a finite validation loss,
        candidates scored on different numbers of validation samples, or ``one-se`` without
        per-sample losses for the best candidate.
    """
    if rule not in RULES:
        raise UserInputError(f"--select: unknown rule {rule!r}; use {' or '.join(RULES)}")
    if not candidates:
        raise UserInputError("selection: no candidates")
    means = np.array([c.mean for c in candidates], dtype=float)
    bad = [c.name for c, m in zip(candidates, means, strict=True) if not np.isfinite(m)]
    if bad:
        raise UserInputError(f"{bad[0]}: no finite validation loss to select on (was it "
                             "trained with a validation split?)")
    sizes = {c.n_val for c in candidates if c.n_val is not None}
    if len(sizes) > 1:
        raise UserInputError(f"selection: candidates were scored on different numbers of "
                             f"validation samples ({', '.join(map(str, sorted(sizes)))})")
    order = _order(candidates)
    best = min(order, key=lambda i: means[i])  # first minimum in lambda order: smaller wins
    paired = all(c.val_losses is not None and c.val_losses.size >= 2 for c in candidates)
    if rule == "one-se" and not paired:
        missing = next(c.name for c in candidates
                       if c.val_losses is None or c.val_losses.size < 2)
        raise UserInputError(f"{missing}: --select one-se needs per-sample validation losses "
                             "(predictions.tsv) of at least 2 samples for every candidate")
    diff = means - means[best]
    if paired:
        ref = candidates[best].val_losses
        diff_se = np.array([float(np.std(c.val_losses - ref, ddof=1)
                                  / np.sqrt(ref.size)) for c in candidates])
        within = diff <= diff_se + 1e-12 * max(1.0, abs(float(means[best])))
    else:
        diff_se = np.full(len(candidates), np.nan)
        within = np.zeros(len(candidates), bool)
    chosen = next(i for i in order if within[i]) if rule == "one-se" else best
    threshold = float(means[best] + diff_se[chosen])  # NaN without per-sample losses
    n = len(candidates)
    table = pd.DataFrame({
        "candidate": [c.name for c in candidates],
        "lambda": [c.lambda_value for c in candidates],
        "val_loss": means,
        "val_loss_se": [c.se for c in candidates],
        "diff_to_best": diff,
        "diff_se": diff_se,
        "n_val": [c.n_val if c.n_val is not None else np.nan for c in candidates],
        "within_one_se": within,
        "best": [i == best for i in range(n)],
        "chosen": [i == chosen for i in range(n)],
    })
    return Selection(rule=rule, chosen=chosen, best=best, threshold=threshold, table=table)
