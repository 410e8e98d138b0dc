"""``aprior preprocess``: raw counts -> FPKM/TPM -> filters -> log2 -> (ComBat) -> z-score."""

from __future__ import annotations

from pathlib import Path

import click

from aprior_cli.cli.common import (
    Command,
    FiniteFloat,
    echo_summary,
    handle_errors,
    log,
    verbosity_options,
)
from aprior_cli.errors import UserInputError


def sidecar(output: Path, suffix: str) -> Path:
    """``out.tsv.gz`` + ``.report.json`` -> ``out.report.json`` (beside the output)."""
    name = output.name
    for ext in (".gz", ".bz2", ".xz", ".zst"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return output.with_name(stem + suffix)


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, cls=Command)
@click.argument("counts", type=click.Path(dir_okay=False))
@click.option("--genes-as-rows/--samples-as-rows", "genes_as_rows", default=None,
              help="Orientation of COUNTS (required: declared, never guessed). For .h5ad, "
                   "--samples-as-rows means observations are samples.")
@click.option("--long", "long_text", default=None, metavar="SAMPLE,GENE,VALUE",
              help="COUNTS is a long table (one row per sample and gene, e.g. GDSC): the "
                   "three columns, e.g. model_id,gene_symbol,read_count. No orientation then.")
@click.option("--id-column", default=None,
              help="Column of COUNTS holding the row ids [default: the first], e.g. "
                   "display_label of a Beat AML table.")
@click.option("--annotation-columns", default=None, metavar="COL,COL",
              help="Non-count columns of COUNTS to set aside (e.g. stable_id,description,"
                   "biotype); a biotype/gene_type/gene_biotype one serves the biotype filter "
                   "when no --annotation is given.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Output matrix, samples x genes (.tsv/.csv/.parquet[.gz]/.h5ad). The report "
                   "(OUT.report.json) and scaler (OUT.scaler.json) are written beside it.")
@click.option("--lengths", "lengths_path", type=click.Path(dir_okay=False),
              help="Gene length table: gene id (first column) and a 'length' column (bp).")
@click.option("--length-column", default="length", show_default=True,
              help="Column of --lengths holding the length.")
@click.option("--lengths-gene-column", default=None,
              help="Column of --lengths holding the gene id (default: the first column).")
@click.option("--lengths-duplicates", type=click.Choice(["error", "max", "mean"]),
              default="error", show_default=True,
              help="A gene id listed in --lengths with different lengths: error, or use the "
                   "max or mean of them.")
@click.option("--gtf", "gtf_path", type=click.Path(dir_okay=False),
              help="GTF (.gtf[.gz]): exonic union length and gene_type/gene_biotype per gene.")
@click.option("--annotation", "annotation_path", type=click.Path(dir_okay=False),
              help="Biotype table: gene id (first column) and biotype/gene_type/gene_biotype.")
@click.option("--normalization", type=click.Choice(["fpkm", "tpm", "none"]), default=None,
              help="Default fpkm (FPKM's N = sample total counts before any gene filter); "
                   "with --apply-scaler the scaler's.")
@click.option("--strip-version", is_flag=True,
              help="Drop Ensembl version suffixes (ENSG00000141956.13 -> ENSG00000141956) in "
                   "counts, lengths and annotation.")
@click.option("--duplicates", type=click.Choice(["error", "sum", "mean", "first"]),
              default="error", show_default=True, help="Policy for duplicate gene ids.")
@click.option("--drop-missing-lengths", is_flag=True,
              help="Drop genes without a length (with a warning and a count) instead of failing.")
@click.option("--keep-biotype", multiple=True, default=("protein_coding",), show_default=True,
              help="Biotype(s) to keep (repeatable).")
@click.option("--no-biotype-filter", is_flag=True, help="Keep genes of every biotype.")
@click.option("--max-zero-fraction", type=FiniteFloat(0, 1), default=0.7, show_default=True,
              help="Drop genes that are 0 in more than this fraction of training samples.")
@click.option("--no-zero-filter", is_flag=True, help="Skip the zero filter.")
@click.option("--log2/--no-log2", "log2", default=True, show_default=True, help="log2(x + 1).")
@click.option("--zscore/--no-zscore", default=True, show_default=True,
              help="z-score each gene with training-sample statistics.")
@click.option("--train-samples", "train_path", type=click.Path(dir_okay=False),
              help="File of training sample ids (one per line): the zero filter and the scaler "
                   "are fitted on these only (default: all samples).")
@click.option("--apply-scaler", "scaler_path", type=click.Path(dir_okay=False),
              help="Saved scaler (OUT.scaler.json of a previous run): transform with its genes "
                   "and statistics, no refitting.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False),
              help="Labels table (or .h5ad: its .obs) holding the batch column.")
@click.option("--batch-column", default=None,
              help="ComBat batch correction on the log values (needs the 'combat' extra).")
@click.option("--sample-column", default="sample", show_default=True,
              help="Column of --labels holding the sample id (.h5ad: obs_names by default).")
@click.option("--labels-where", multiple=True, metavar="COLUMN=VALUE",
              help="Keep only --labels rows with COLUMN=VALUE (or COLUMN!=VALUE); repeatable.")
@verbosity_options
@handle_errors
def command(counts: str, genes_as_rows: bool | None, long_text: str | None,
            id_column: str | None, annotation_columns: str | None, output: str,
            lengths_path: str | None, length_column: str, lengths_gene_column: str | None,
            lengths_duplicates: str, gtf_path: str | None, annotation_path: str | None,
            normalization: str | None, strip_version: bool, duplicates: str,
            drop_missing_lengths: bool, keep_biotype: tuple[str, ...], no_biotype_filter: bool,
            max_zero_fraction: float, no_zero_filter: bool, log2: bool, zscore: bool,
            train_path: str | None, scaler_path: str | None, labels_path: str | None,
            batch_column: str | None, sample_column: str, labels_where: tuple[str, ...],
            verbose: int, quiet: bool) -> None:
    """Preprocess RNA-seq COUNTS into a samples x genes matrix for `aprior train`.

    Steps (each reported with genes/samples in and out in OUT.report.json): duplicate ids ->
    FPKM or TPM -> biotype filter -> zero filter -> log2(x+1) -> optional ComBat -> z-score
    fitted on the training samples (saved to OUT.scaler.json; reuse with --apply-scaler).
    COUNTS is wide (declare --genes-as-rows or --samples-as-rows) or long (--long).

    \b
    Example (a GDSC-style long table, gene lengths by symbol):
      aprior preprocess GDSC_rnaseq.csv.gz --long model_id,gene_symbol,read_count \\
          --lengths hs_gene_length.tsv --lengths-gene-column symbol \\
          --lengths-duplicates max --drop-missing-lengths --no-biotype-filter \\
          --train-samples train.txt -o expr.tsv
    """
    from aprior_cli.io import write_table
    from aprior_cli.io.atomic import atomic_write_json
    from aprior_cli.io.counts import read_annotation, read_counts, read_gene_lengths, read_id_list
    from aprior_cli.io.long_table import parse_long_columns, read_long_table
    from aprior_cli.io.outputs import claim_outputs, new_set_id
    from aprior_cli.io.scaler import load_scaler, save_scaler, scaler_set_id
    from aprior_cli.preprocess import PreprocessOptions, preprocess

    long_columns = parse_long_columns(long_text, "--long")
    extra_columns = [c.strip() for c in (annotation_columns or "").split(",") if c.strip()]
    if long_columns is not None and genes_as_rows is not None:
        raise UserInputError("--long: a long table has no orientation; drop "
                             "--genes-as-rows/--samples-as-rows")
    if long_columns is not None and (id_column or extra_columns):
        raise UserInputError("--long: --id-column/--annotation-columns are for wide tables")
    if genes_as_rows is None and long_columns is None:
        raise UserInputError("COUNTS orientation: pass --genes-as-rows or --samples-as-rows "
                             "(or --long SAMPLE,GENE,VALUE for a long table)")
    if lengths_path and gtf_path:
        raise UserInputError("--lengths and --gtf: give one source of gene lengths, not both")
    if (labels_path is None) != (batch_column is None):
        raise UserInputError("--batch-column and --labels go together")
    if scaler_path and train_path:
        raise UserInputError("--train-samples and --apply-scaler: a saved scaler is applied, not "
                             "refitted; give one of them")
    if scaler_path and not zscore:
        raise UserInputError("--apply-scaler and --no-zscore contradict each other")
    out = Path(output)
    report_path, scaler_out = sidecar(out, ".report.json"), sidecar(out, ".scaler.json")
    writes_scaler = zscore and not scaler_path
    outs = claim_outputs(
        files={"-o/--output": out, "scaler": scaler_out if writes_scaler else None,
               "report": report_path},
        inputs=[counts, lengths_path, gtf_path, annotation_path, train_path, scaler_path,
                labels_path], label="-o/--output", manifest=report_path)

    scaler = load_scaler(scaler_path) if scaler_path else None
    if normalization is None:
        normalization = scaler.normalization if scaler is not None else "fpkm"
    combat_fn = batches = None
    if batch_column is not None:
        from aprior_cli.combat import combat, combat_available

        if not combat_available():
            raise UserInputError("--batch-column: ComBat needs the optional 'inmoose' package: "
                                 "pip install 'aprior-cli[combat]'")
        from aprior_cli.io.labels import LabelSpec, read_labels

        labels = read_labels(labels_path, LabelSpec(sample_column=sample_column,
                                                    batch_column=batch_column,
                                                    where=labels_where), need_target=False)
        batches = labels.drop_duplicates("sample").set_index("sample")["batch"]
        combat_fn = combat
    elif labels_where or sample_column != "sample":
        raise UserInputError("--sample-column/--labels-where: they describe --labels, which "
                             "is given only with --batch-column")
    gene_annotation = None
    if long_columns is not None:
        matrix = read_long_table(counts, long_columns)
    else:
        # already normalised log-scale values (e.g. Beat AML's) may be negative; counts may not
        matrix, gene_annotation = read_counts(
            counts, bool(genes_as_rows), id_column, extra_columns, with_annotation=True,
            allow_negative=normalization == "none" and not log2)
    lengths = biotypes = None
    if gtf_path:
        from aprior_cli.io.gtf import read_gtf_genes

        genes = read_gtf_genes(gtf_path)
        lengths = genes["length"].astype(float)
        biotypes = genes["biotype"]
    elif lengths_path:
        lengths = read_gene_lengths(lengths_path, length_column, lengths_gene_column,
                                    lengths_duplicates)
    if annotation_path:
        biotypes = read_annotation(annotation_path)
    elif gene_annotation is not None and genes_as_rows:
        found = [c for c in ("biotype", "gene_type", "gene_biotype") if c in gene_annotation]
        if found:
            biotypes = gene_annotation[found[0]].astype(str)
            biotypes = biotypes[~biotypes.index.duplicated()]
    lengths_hint = None
    if lengths_path and lengths is not None:
        lengths_hint = _lengths_hint(matrix.columns, lengths, lengths_path,
                                     lengths_gene_column)
    train = read_id_list(train_path, "sample id") if train_path else None
    options = PreprocessOptions(
        strip_version=strip_version, duplicates=duplicates, normalization=normalization,
        drop_missing_lengths=drop_missing_lengths,
        keep_biotypes=None if no_biotype_filter else tuple(keep_biotype),
        max_zero_fraction=None if no_zero_filter else max_zero_fraction,
        log2=log2, zscore=zscore)
    result, fitted, report = preprocess(matrix, options, lengths=lengths, biotypes=biotypes,
                                        train_samples=train, scaler=scaler, batches=batches,
                                        combat=combat_fn, warn=log.warning,
                                        lengths_hint=lengths_hint)
    report["inputs"] = {"counts": str(counts), "long": list(long_columns or []) or None,
                        "lengths": lengths_path, "gtf": gtf_path,
                        "annotation": annotation_path, "train_samples": train_path,
                        "apply_scaler": scaler_path, "labels": labels_path,
                        "batch_column": batch_column}
    report["outputs"] = {"matrix": str(out), "report": str(report_path)}
    result.index.name = "sample"
    obs = None
    if out.suffix.lower() == ".h5ad" and str(counts).lower().endswith(".h5ad") \
            and not genes_as_rows:
        from aprior_cli.io.labels import read_obs_table

        obs = read_obs_table(counts)  # keep the input's sample annotations
    # one output set: scaler, matrix, then the report (its manifest) last, sharing a set id
    set_id = new_set_id()
    scaler_id = scaler_set_id(scaler_path) if scaler_path else None
    if fitted is not None and writes_scaler:
        save_scaler(outs.path(scaler_out), fitted,
                    set_info={"id": set_id, "matrix": out.name, "report": report_path.name})
        report["outputs"]["scaler"] = str(scaler_out)
        scaler_id = set_id
    write_table(result, outs.path(out), obs=obs)
    report["set"] = {"id": set_id, "scaler_id": scaler_id}
    atomic_write_json(outs.path(report_path), report)
    outs.publish()
    steps = " -> ".join(f"{s['step']}({s.get('genes_out', '-')})" for s in report["steps"])
    dropped = _dropped_counts(report["steps"])
    echo_summary(quiet, f"preprocess: {result.shape[0]} samples x {result.shape[1]} genes "
                        f"written to {out}\n  steps (genes out): {steps}"
                 + (f"\n  dropped: {dropped}" if dropped else ""))


def _dropped_counts(steps: list[dict]) -> str:
    """``"505 genes without a length, 12 without a biotype, 40 not protein_coding, ..."``."""
    parts = []
    for s in steps:
        lost = s.get("genes_in", 0) - s.get("genes_out", 0)
        if s["step"] == "drop_missing_lengths" and lost:
            parts.append(f"{lost:,} genes without a length")
        elif s["step"] == "biotype" and lost:
            missing = int(s.get("without_biotype", 0))
            if missing:
                parts.append(f"{missing:,} genes without a biotype")
            if lost - missing:
                parts.append(f"{lost - missing:,} of other biotypes")
        elif s["step"] == "zero_filter" and lost:
            parts.append(f"{lost:,} mostly-zero genes")
    return ", ".join(parts)


def _lengths_hint(genes, lengths, lengths_path: str, gene_column: str | None) -> str | None:
    """A hint when few counts genes have a length: id styles and a better id column."""
    genes = [str(g) for g in genes]
    matched = sum(g in lengths.index for g in genes)
    if matched >= 0.5 * len(genes):
        return None
    from aprior_cli.identifiers import mismatch_hint
    from aprior_cli.io.tables import read_table

    table = read_table(lengths_path)
    column = gene_column or str(table.columns[0])
    return mismatch_hint(genes, table, column, "--lengths-gene-column", "the lengths table")
