"""RNA-seq preprocessing as pure functions: tables in, tables out, every step reported.

Pipeline (:func:`preprocess`), each step optional and logged with genes and samples in/out:

1. validate counts (numeric, finite, non-negative; unique sample ids), normalise Ensembl
   version suffixes when asked, combine duplicate gene ids by a declared policy;
2. FPKM or TPM from gene lengths (:mod:`aprior_cli.normalize`; ``N`` = the sample's total counts
   over all genes of the input, before any gene filtering);
3. keep genes of the wanted biotypes (default ``protein_coding``);
4. drop genes that are zero in more than ``max_zero_fraction`` of the *training* samples;
5. ``log2(x + 1)``;
6. optional ComBat batch correction (:mod:`aprior_cli.combat`) on the log values;
7. z-score per gene with mean and standard deviation (population sd, ``ddof=0``) fitted on the
   training samples only; genes with sd 0 on the training samples get sd 1 (centred only).

With a saved :class:`Scaler` (``apply`` mode) steps 3-4 are replaced by selecting the scaler's
genes and step 7 uses the saved statistics, so new data is transformed, never refitted.
All matrices are (samples, genes) :class:`pandas.DataFrame` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from aprior_cli.errors import UserInputError
from aprior_cli.normalize import fpkm, tpm

DUPLICATE_POLICIES = ("error", "sum", "mean", "first")
NORMALIZATIONS = ("fpkm", "tpm", "none")
_ENSEMBL_VERSION = r"^(ENS[A-Z]*\d+)\.\d+"


def strip_ensembl_version(ids: Sequence[str] | pd.Index) -> pd.Index:
    """``ENSG00000141956.13`` -> ``ENSG00000141956``; other ids unchanged (suffixes such as
    GENCODE's ``_PAR_Y`` are kept)."""
    return pd.Index(pd.Index(ids).astype(str).str.replace(_ENSEMBL_VERSION, r"\1", regex=True))


def validate_counts(counts: pd.DataFrame, what: str = "counts",
                    allow_negative: bool = False) -> pd.DataFrame:
    """Return ``counts`` as float64 after checking it is numeric, finite and non-negative
    (negative values are allowed with ``allow_negative``: already log-scale expression).

    Raises :class:`UserInputError` naming the first bad cell (sample, gene, value) and
    for duplicate sample ids.
    """
    if counts.shape[0] == 0 or counts.shape[1] == 0:
        raise UserInputError(f"{what}: empty matrix ({counts.shape[0]} samples x "
                             f"{counts.shape[1]} genes)")
    dup = counts.index[counts.index.duplicated()]
    if len(dup):
        raise UserInputError(f"{what}: duplicate sample id {dup[0]!r} "
                             f"({len(dup)} duplicated sample ids)")
    is_numeric = counts.dtypes.map(pd.api.types.is_numeric_dtype).to_numpy(dtype=bool)
    if is_numeric.all():
        values = counts.to_numpy(dtype=np.float64)
    else:  # one vectorised conversion (a column-wise apply is slow for 60k genes)
        flat = pd.Series(counts.to_numpy(dtype=object).ravel())
        values = pd.to_numeric(flat, errors="coerce").to_numpy(dtype=np.float64)
        values = values.reshape(counts.shape)
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raw = counts.iat[i, j]
        kind = "missing" if pd.isna(raw) else "non-numeric or non-finite"
        raise UserInputError(f"{what}: {kind} value {str(raw)!r} for sample {counts.index[i]!r}, "
                             f"gene {counts.columns[j]!r} ({int(bad.sum())} such cells)")
    neg = values < 0
    if neg.any() and not allow_negative:
        i, j = np.argwhere(neg)[0]
        raise UserInputError(f"{what}: negative count {values[i, j]:g} for sample "
                             f"{counts.index[i]!r}, gene {counts.columns[j]!r} "
                             f"({int(neg.sum())} negative cells)")
    return pd.DataFrame(values, index=counts.index.astype(str), columns=counts.columns.astype(str))


def combine_duplicate_genes(counts: pd.DataFrame, policy: str = "error") -> tuple[pd.DataFrame, int]:
    """Combine columns with the same gene id by ``policy`` (error, sum, mean, first).

    Returns the matrix (genes in first-seen order) and the number of duplicated ids.
    """
    if policy not in DUPLICATE_POLICIES:
        raise UserInputError(f"--duplicates: unknown policy {policy!r}; use one of "
                             f"{', '.join(DUPLICATE_POLICIES)}")
    dup_mask = counts.columns.duplicated(keep=False)
    n_dup_ids = int(counts.columns[dup_mask].nunique())
    if n_dup_ids == 0:
        return counts, 0
    if policy == "error":
        first = counts.columns[dup_mask][0]
        raise UserInputError(f"counts: duplicate gene id {first!r} ({n_dup_ids} duplicated ids); "
                             "choose --duplicates sum|mean|first")
    order = pd.unique(counts.columns)
    grouped = counts.T.groupby(level=0, sort=False)
    combined = {"sum": grouped.sum, "mean": grouped.mean, "first": grouped.first}[policy]()
    return combined.T.reindex(columns=order), n_dup_ids


@dataclass
class Scaler:
    """Per-gene z-score statistics fitted on training samples, plus the upstream settings.

    ``transform(x) = (x - mean) / sd`` column-wise, for the genes in ``genes`` order.
    """

    genes: list[str]
    mean: np.ndarray  # (genes,)
    sd: np.ndarray    # (genes,), > 0
    normalization: str = "fpkm"
    log2: bool = True
    n_train_samples: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def transform(self, x: pd.DataFrame) -> pd.DataFrame:
        """Scale ``x`` (samples, genes ⊇ self.genes); returns columns in ``self.genes`` order."""
        missing = pd.Index(self.genes).difference(x.columns)
        if len(missing):
            raise UserInputError(f"--apply-scaler: {len(missing)} genes of the scaler are missing "
                                 f"from the data (e.g. {missing[0]!r})")
        values = x.reindex(columns=self.genes).to_numpy(dtype=np.float64)
        return pd.DataFrame((values - self.mean) / self.sd, index=x.index, columns=self.genes)


def fit_scaler(x: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean and population sd (ddof=0) per column of ``x``; zero sd replaced by 1.

    Returns ``(mean, sd, n_constant)``.
    """
    values = x.to_numpy(dtype=np.float64)
    mean = values.mean(axis=0)
    sd = values.std(axis=0, ddof=0)
    constant = sd <= 1e-12 * np.maximum(1.0, np.abs(mean))
    sd = np.where(constant, 1.0, sd)
    return mean, sd, int(constant.sum())


def zero_fraction(x: pd.DataFrame) -> pd.Series:
    """Fraction of samples (rows) in which each gene is exactly 0."""
    return pd.Series((x.to_numpy() == 0).mean(axis=0), index=x.columns)


@dataclass
class PreprocessOptions:
    """Settings of :func:`preprocess` (CLI options map one to one)."""

    strip_version: bool = False
    duplicates: str = "error"
    normalization: str = "fpkm"
    drop_missing_lengths: bool = False
    keep_biotypes: tuple[str, ...] | None = ("protein_coding",)
    max_zero_fraction: float | None = 0.7
    log2: bool = True
    zscore: bool = True


class _Report:
    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    def add(self, step: str, before: pd.DataFrame, after: pd.DataFrame, **extra: Any) -> None:
        self.steps.append({"step": step, "genes_in": int(before.shape[1]),
                           "genes_out": int(after.shape[1]), "samples_in": int(before.shape[0]),
                           "samples_out": int(after.shape[0]), **extra})


def preprocess(counts: pd.DataFrame, options: PreprocessOptions,
               lengths: pd.Series | None = None, biotypes: pd.Series | None = None,
               train_samples: Sequence[str] | None = None, scaler: Scaler | None = None,
               batches: pd.Series | None = None,
               combat: Callable[[pd.DataFrame, pd.Series], pd.DataFrame] | None = None,
               warn: Callable[[str], None] | None = None,
               lengths_hint: str | None = None,
               ) -> tuple[pd.DataFrame, Scaler | None, dict[str, Any]]:
    """Run the preprocessing pipeline.

    Parameters
    ----------
    counts
        (samples, genes) raw counts, sample ids as index.
    options
        Step settings; in apply mode ``normalization`` and ``log2`` must match the scaler's.
    lengths
        Gene length (bp) by gene id (same id style as ``counts``); needed for FPKM/TPM.
    biotypes
        Biotype by gene id; needed when ``options.keep_biotypes`` is set (else the step is
        skipped with a warning). Genes without a biotype are dropped by the filter.
    train_samples
        Sample ids the zero filter and the scaler are fitted on (default: all samples).
    scaler
        A saved :class:`Scaler`: apply mode (no refitting, genes selected from the scaler).
    batches
        Batch label by sample id; with ``combat`` runs ComBat on the log values.
    combat
        Function ``(x (samples, genes), batch (samples,)) -> corrected x``.
    warn
        Called with warning messages (e.g. the CLI logger).
    lengths_hint
        Added to the "genes have no length" error (e.g. which id column would match).

    Returns
    -------
    (matrix, scaler, report)
        The (samples, genes) result, the fitted (or given) scaler or None when not z-scoring,
        and a JSON-ready report with one entry per step.
    """
    warn = warn or (lambda msg: None)
    report = _Report()
    if scaler is not None:
        if options.normalization != scaler.normalization or options.log2 != scaler.log2:
            raise UserInputError(
                f"--apply-scaler: the scaler was fitted on normalization={scaler.normalization}, "
                f"log2={scaler.log2}; the options ask for normalization={options.normalization}, "
                f"log2={options.log2}")

    # already normalised log-scale values (e.g. Beat AML's) may be negative; counts may not
    x = validate_counts(counts, allow_negative=options.normalization == "none"
                        and not options.log2)
    report.add("read", x, x)
    if options.strip_version:
        before = x
        x = x.copy()
        x.columns = strip_ensembl_version(x.columns)
        changed = int((before.columns != x.columns).sum())
        report.add("strip_version", before, x, ids_changed=changed)
        if lengths is not None:
            lengths = lengths.copy()
            lengths.index = strip_ensembl_version(lengths.index)
            lengths = lengths[~lengths.index.duplicated(keep="first")]
        if biotypes is not None:
            biotypes = biotypes.copy()
            biotypes.index = strip_ensembl_version(biotypes.index)
            biotypes = biotypes[~biotypes.index.duplicated(keep="first")]
    before = x
    x, n_dup = combine_duplicate_genes(x, options.duplicates)
    report.add("duplicate_genes", before, x, policy=options.duplicates, duplicated_ids=n_dup)

    library_size = x.sum(axis=1)  # N: total counts before any gene filter
    if options.normalization not in NORMALIZATIONS:
        raise UserInputError(f"--normalization: unknown {options.normalization!r}; use "
                             f"{', '.join(NORMALIZATIONS)}")
    if options.normalization != "none":
        if lengths is None:
            raise UserInputError(f"--normalization {options.normalization} needs gene lengths: "
                                 "give --lengths TABLE or --gtf FILE (or --normalization none)")
        missing = x.columns.difference(lengths.dropna().index)
        if len(missing):
            if not options.drop_missing_lengths:
                advice = (lengths_hint + "; or pass --drop-missing-lengths" if lengths_hint
                          else "check the id style (--strip-version) or pass "
                               "--drop-missing-lengths")
                raise UserInputError(
                    f"{len(missing)} of {x.shape[1]} genes have no length (e.g. {missing[0]!r}); "
                    + advice)
            warn(f"dropping {len(missing)} genes without a length (--drop-missing-lengths"
                 + (f"; {lengths_hint}" if lengths_hint else "") + ")")
            before = x
            x = x.drop(columns=missing)
            report.add("drop_missing_lengths", before, x, dropped=len(missing))
        before = x
        if options.normalization == "fpkm":
            x = fpkm(x, lengths, library_size=library_size)
        else:
            x = tpm(x, lengths)
        report.add(options.normalization, before, x,
                   library_size="total counts of all input genes, before gene filtering"
                   if options.normalization == "fpkm" else "TPM sums to 1e6 over genes with a length")

    if train_samples is not None:
        train = pd.Index([str(s) for s in train_samples])
        unknown = train.difference(x.index)
        if len(unknown):
            raise UserInputError(f"--train-samples: {len(unknown)} ids are not samples of the "
                                 f"counts (e.g. {unknown[0]!r})")
        if train.duplicated().any():
            raise UserInputError(f"--train-samples: duplicate id {train[train.duplicated()][0]!r}")
    else:
        train = x.index

    if scaler is None:
        if options.keep_biotypes:
            if biotypes is None or biotypes.dropna().empty:
                warn("biotype filter skipped: no biotype available (GTF without gene_type/"
                     "gene_biotype and no --annotation)")
                report.add("biotype", x, x, skipped="no biotype available")
            else:
                before = x
                bt = biotypes.reindex(x.columns)
                keep = bt.isin(list(options.keep_biotypes)).to_numpy()
                x = x.loc[:, keep]
                report.add("biotype", before, x, keep=list(options.keep_biotypes),
                           without_biotype=int(bt.isna().sum()))
        if options.max_zero_fraction is not None:
            before = x
            frac = zero_fraction(x.loc[train])
            x = x.loc[:, (frac <= options.max_zero_fraction).to_numpy()]
            report.add("zero_filter", before, x, max_zero_fraction=options.max_zero_fraction,
                       fitted_on_samples=len(train))
    else:
        before = x
        missing = pd.Index(scaler.genes).difference(x.columns)
        if len(missing):
            raise UserInputError(f"--apply-scaler: {len(missing)} genes of the scaler are missing "
                                 f"from the data (e.g. {missing[0]!r})")
        x = x.reindex(columns=scaler.genes)
        report.add("select_scaler_genes", before, x)
    if x.shape[1] == 0:
        raise UserInputError("no gene is left after filtering; relax the filters")

    if options.log2:
        before = x
        x = np.log2(x + 1.0)
        report.add("log2", before, x, pseudocount=1.0)

    if batches is not None and combat is not None:
        missing = x.index.difference(batches.index)
        if len(missing):
            raise UserInputError(f"--batch-column: {len(missing)} samples have no batch "
                                 f"(e.g. {missing[0]!r})")
        batch = batches.reindex(x.index)
        sizes = batch.value_counts()
        if len(sizes) < 2:
            raise UserInputError("--batch-column: ComBat needs at least two batches")
        if (sizes < 2).any():
            raise UserInputError(f"--batch-column: batch {sizes.index[sizes < 2][0]!r} has a "
                                 "single sample; ComBat needs at least two per batch")
        before = x
        x = combat(x, batch)
        report.add("combat", before, x, batches=int(len(sizes)),
                   fitted_on="all samples in the input")

    fitted: Scaler | None = scaler
    if options.zscore:
        before = x
        if scaler is None:
            mean, sd, n_const = fit_scaler(x.loc[train])
            fitted = Scaler(genes=[str(g) for g in x.columns], mean=mean, sd=sd,
                            normalization=options.normalization, log2=options.log2,
                            n_train_samples=len(train))
            extra = {"fitted_on_samples": len(train), "constant_genes": n_const}
        else:
            extra = {"fitted_on_samples": scaler.n_train_samples, "applied_saved_scaler": True}
        x = fitted.transform(x)
        report.add("zscore", before, x, **extra)
    elif scaler is None:
        fitted = None

    info = {"steps": report.steps, "samples": int(x.shape[0]), "genes": int(x.shape[1]),
            "train_samples": int(len(train)),
            "mode": "apply" if scaler is not None else "fit"}
    return x, fitted, info
