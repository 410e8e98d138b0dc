"""Gene-set libraries in GMT format: ``name<TAB>description<TAB>gene<TAB>gene...`` per line.

Parsing rules (documented for users in the README):

* blank lines and lines starting with ``#`` are skipped; ``\\r\\n`` line ends are accepted;
* the second field is a free-text description (may be empty, e.g. Enrichr libraries);
* genes are stripped of surrounding white space, empty fields (trailing tabs) are dropped, and
  Enrichr's weighted form ``GENE,1.0`` is read as ``GENE``;
* a gene listed twice in one set is kept once (first position) and counted in
  :attr:`GeneSetLibrary.n_duplicate_genes`;
* a set left with no genes is dropped and counted in :attr:`GeneSetLibrary.n_empty_sets`;
* a term name used twice in one file, a line without a tab, or a file with no sets is an error.

Files may be gzip-compressed (``.gmt.gz``). Everything is local: a name that is not a file
(e.g. an Enrichr library name such as ``KEGG_2021_Human``) is an error that points to
``aprior fetch``.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

from aprior_cli.errors import UserInputError
from aprior_cli.io.atomic import atomic_path
from aprior_cli.io.files import read_text_lines, require_file


@dataclass
class GeneSetLibrary:
    """A parsed GMT file.

    Attributes
    ----------
    name
        Library name: the file name without ``.gmt``/``.gz`` (used in output tables).
    gene_sets
        Term -> genes (unique, in file order), in file order of the terms.
    descriptions
        Term -> the GMT description field.
    n_duplicate_genes
        Number of repeated genes removed inside sets (summed over sets).
    n_empty_sets
        Number of sets dropped because they listed no gene.
    path
        The file read (``None`` when built in memory).
    """

    name: str
    gene_sets: dict[str, list[str]]
    descriptions: dict[str, str] = field(default_factory=dict)
    n_duplicate_genes: int = 0
    n_empty_sets: int = 0
    path: Path | None = None

    @property
    def genes(self) -> set[str]:
        """Union of all genes in the library."""
        out: set[str] = set()
        for genes in self.gene_sets.values():
            out.update(genes)
        return out

    def __len__(self) -> int:
        return len(self.gene_sets)


def library_name(path: str | os.PathLike) -> str:
    """``dir/h.all.v7.0.symbols.gmt.gz`` -> ``h.all.v7.0.symbols``."""
    name = Path(path).name
    for ext in (".gz", ".gmt", ".txt"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name


def _strip_weight(gene: str) -> str:
    """Enrichr writes weighted genes as ``GENE,1.0``; keep ``GENE`` when the tail is a number."""
    if "," in gene:
        head, _, tail = gene.rpartition(",")
        try:
            float(tail)
        except ValueError:
            return gene
        return head.strip()
    return gene


def parse_gmt_lines(lines: list[str], source: str = "<gmt>") -> GeneSetLibrary:
    """Parse GMT text lines (see the module docstring for the rules).

    Parameters
    ----------
    lines
        Lines of the file, with or without line ends.
    source
        File name used in error messages and as the library name.
    """
    gene_sets: dict[str, list[str]] = {}
    descriptions: dict[str, str] = {}
    n_dup = 0
    n_empty = 0
    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "\t" not in line:
            raise UserInputError(
                f"{source}: line {lineno} has no tab; GMT lines are "
                "name<TAB>description<TAB>gene<TAB>gene...")
        fields = line.split("\t")
        term = fields[0].strip()
        if not term:
            raise UserInputError(f"{source}: line {lineno} has an empty gene-set name")
        if term in gene_sets or term in descriptions:
            raise UserInputError(f"{source}: line {lineno}: gene set {term!r} is defined twice")
        seen: dict[str, None] = {}
        for gene in fields[2:]:
            gene = _strip_weight(gene.strip())
            if not gene:
                continue
            if gene in seen:
                n_dup += 1
                continue
            seen[gene] = None
        descriptions[term] = fields[1].strip() if len(fields) > 1 else ""
        if not seen:
            n_empty += 1
            continue
        gene_sets[term] = list(seen)
    if not gene_sets:
        raise UserInputError(f"{source}: no gene sets found (empty GMT file or only empty sets)")
    for term in list(descriptions):
        if term not in gene_sets:
            del descriptions[term]
    return GeneSetLibrary(name=library_name(source), gene_sets=gene_sets,
                          descriptions=descriptions, n_duplicate_genes=n_dup,
                          n_empty_sets=n_empty)


def read_gmt(path: str | os.PathLike) -> GeneSetLibrary:
    """Read a local GMT file (``.gz`` ok).

    Raises
    ------
    UserInputError
        The file is missing (with a pointer to ``aprior fetch`` when the argument looks like a
        library name rather than a path), unreadable, or not valid GMT.
    """
    path = Path(path)
    if not path.exists():
        if looks_like_library_name(str(path)):
            raise UserInputError(
                f"{path}: not a local GMT file. aprior enrich works offline and does not download "
                "gene-set libraries by name; get the file first (e.g. `aprior fetch "
                "msigdb_hallmark_v2023_2_symbols --allow-unverified` prints the cached path; "
                "`aprior fetch --list` shows the others) and pass its path to --gmt")
    require_file(path, "a GMT file", "GMT file not found")
    lines = read_text_lines(path, "GMT file")
    library = parse_gmt_lines(lines, source=str(path))
    library.path = path
    return library


def looks_like_library_name(text: str) -> bool:
    """True for a bare name such as ``KEGG_2021_Human`` (no directory part, no file extension)."""
    p = Path(text)
    return len(p.parts) == 1 and p.suffix.lower() not in (".gmt", ".gz", ".txt")


def write_gmt(path: str | os.PathLike, library: GeneSetLibrary) -> Path:
    """Write ``library`` as GMT atomically (``.gz`` compresses); return the path."""
    path = Path(path)
    lines = []
    for term, genes in library.gene_sets.items():
        desc = library.descriptions.get(term, "")
        lines.append("\t".join([term, desc, *genes]) + "\n")
    text = "".join(lines)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".gz":
            with gzip.open(tmp, "wt", encoding="utf-8") as handle:
                handle.write(text)
        else:
            tmp.write_text(text, encoding="utf-8")
    return path
