"""A small synthetic study in the exact file layouts of Beat AML 2.0, HumanBase, NCBI gene_info
and MSigDB, placed where ``aprior fetch`` caches them, so the Beat AML section of
docs/own-data.md runs offline, command for command.

Layouts (the real files' columns, values invented):

* ``beataml_waves1to4_norm_exp_dbgap.txt``: genes as rows; ``stable_id`` (Ensembl),
  ``display_label`` (symbol; two Ensembl genes share one), ``description``, ``biotype``, then
  one column per RNA-seq specimen (``BA2000R`` ...), log2-scale values (some negative);
* ``beataml_probit_curve_fits_v4_dbgap.txt``: one row per (specimen, inhibitor) with
  ``dbgap_subject_id``, ``dbgap_dnaseq_sample``, ``dbgap_rnaseq_sample`` (empty for
  specimens without RNA-seq), ``inhibitor``, ``ic50``, ``auc``;
* ``hematopoietic_stem_cell_top.gz``: headerless ``entrez1 entrez2 posterior``;
* ``Homo_sapiens.gene_info.gz``: NCBI's table (``#tax_id GeneID Symbol ...``);
* ``h.all.v2023.2.Hs.symbols.gmt``: a GMT whose first set holds the genes driving AUC.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

INHIBITORS = ("Venetoclax", "Quizartinib (AC220)", "Sorafenib", "Trametinib (GSK1120212)")


def write_beataml_cache(cache: Path, seed: int = 0, n_subjects: int = 24,
                        n_genes: int = 120) -> dict[str, Path]:
    """Write the five files into ``cache/<manifest name>/<file name>``; return their paths."""
    rng = np.random.default_rng(seed)
    entrez = np.arange(1000, 1000 + n_genes)
    symbols = [f"GENE{j}" for j in range(n_genes)]
    biotype = np.where(np.arange(n_genes) % 12 == 11, "lncRNA", "protein_coding")
    specimens, subjects = [], []
    for s in range(n_subjects):
        for _ in range(1 + (s % 3 == 0)):  # some subjects gave two specimens
            specimens.append(f"BA{2000 + len(specimens)}R")
            subjects.append(f"subject{s:03d}")
    n = len(specimens)
    # expression: a module of 12 co-expressed genes (0-11) drives drug response
    latent = rng.normal(size=(n, 1))
    values = rng.normal(size=(n, n_genes))
    values[:, :12] += 1.5 * latent
    expr = pd.DataFrame({"stable_id": [f"ENSG{e:011d}" for e in entrez],
                         "display_label": symbols, "description": [f"gene {s}" for s in symbols],
                         "biotype": biotype})
    expr.loc[n_genes - 1, "display_label"] = symbols[n_genes - 2]  # a duplicated symbol
    matrix = pd.DataFrame((4 + values).T.round(4), columns=specimens)
    out: dict[str, Path] = {}

    def place(name: str, filename: str) -> Path:
        path = cache / name / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        out[name] = path
        return path

    pd.concat([expr, matrix], axis=1).to_csv(
        place("beataml2_expression", "beataml_waves1to4_norm_exp_dbgap.txt"), sep="\t",
        index=False)
    rows = []
    effect = dict(zip(INHIBITORS, (0.0, 40.0, 60.0, 90.0), strict=True))
    for i, (spec, subj) in enumerate(zip(specimens, subjects, strict=True)):
        for drug in INHIBITORS:
            if rng.random() < 0.15:
                continue  # not every inhibitor was tested on every specimen
            auc = 150 + effect[drug] + 25 * latent[i, 0] + 8 * rng.normal()
            rows.append({"dbgap_subject_id": subj, "dbgap_dnaseq_sample": spec[:-1] + "D",
                         "dbgap_rnaseq_sample": spec, "inhibitor": drug,
                         "ic50": float(np.exp(rng.normal())), "auc": round(float(auc), 3)})
    for j in range(5):  # specimens with drug response but no RNA-seq
        rows.append({"dbgap_subject_id": f"subject9{j:02d}", "dbgap_dnaseq_sample": f"BA9{j}D",
                     "dbgap_rnaseq_sample": None, "inhibitor": INHIBITORS[0], "ic50": 1.0,
                     "auc": 120.0})
    pd.DataFrame(rows).to_csv(place("beataml2_drug_response",
                                    "beataml_probit_curve_fits_v4_dbgap.txt"),
                              sep="\t", index=False)
    edges = [(entrez[a], entrez[b], 0.9) for a in range(12) for b in range(a + 1, 12)]
    for _ in range(150):  # background edges, some below the 0.1 posterior threshold
        a, b = rng.choice(n_genes, 2, replace=False)
        edges.append((entrez[a], entrez[b], round(float(rng.uniform(0.02, 0.6)), 3)))
    edges.append((99999999, entrez[0], 0.8))  # an id the mapping does not know
    with gzip.open(place("humanbase_hematopoietic_stem_cell_top",
                         "hematopoietic_stem_cell_top.gz"), "wt") as fh:
        fh.writelines(f"{a}\t{b}\t{w}\n" for a, b, w in edges)
    info = pd.DataFrame({"#tax_id": 9606, "GeneID": entrez, "Symbol": symbols,
                         "LocusTag": "-", "Synonyms": "-",
                         "dbXrefs": [f"Ensembl:ENSG{e:011d}" for e in entrez],
                         "type_of_gene": np.where(biotype == "lncRNA", "ncRNA",
                                                  "protein-coding")})
    with gzip.open(place("ncbi_homo_sapiens_gene_info", "Homo_sapiens.gene_info.gz"),
                   "wt") as fh:
        info.to_csv(fh, sep="\t", index=False)
    sets = {"HALLMARK_PLANTED_MODULE": symbols[:12]}
    for k in range(12):
        sets[f"HALLMARK_DECOY_{k:02d}"] = list(rng.choice(symbols[12:], 15, replace=False))
    place("msigdb_hallmark_v2023_2_symbols", "h.all.v2023.2.Hs.symbols.gmt").write_text(
        "".join(f"{k}\thttp://example/{k}\t" + "\t".join(v) + "\n" for k, v in sets.items()))
    return out


@pytest.fixture
def beataml_cache(tmp_path_factory):
    """An ``aprior fetch`` cache folder holding the synthetic Beat AML-layout files."""
    cache = tmp_path_factory.mktemp("aprior-cache")
    write_beataml_cache(cache)
    return cache
