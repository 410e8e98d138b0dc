"""GMT parsing edge cases and the write/read round trip."""

from __future__ import annotations

import gzip

import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io.gmt import (
    GeneSetLibrary,
    library_name,
    looks_like_library_name,
    parse_gmt_lines,
    read_gmt,
    write_gmt,
)


def test_blank_lines_descriptions_duplicates_and_empty_sets():
    lines = [
        "SET_A\thttp://example.org/a\tTP53\tMDM2\tTP53\tCDKN1A\t\n",
        "\n",
        "   \n",
        "# a comment line\n",
        "SET_B\t\tEGFR\t ERBB2 \tEGFR\tEGFR\r\n",
        "EMPTY\tno genes here\t\t\n",
        "WEIGHTED\tenrichr style\tKRAS,1.0\tNRAS,0.5\tODD,NAME\n",
    ]
    lib = parse_gmt_lines(lines, source="dir/lib.gmt")
    assert lib.name == "lib"
    assert lib.gene_sets == {
        "SET_A": ["TP53", "MDM2", "CDKN1A"],
        "SET_B": ["EGFR", "ERBB2"],
        "WEIGHTED": ["KRAS", "NRAS", "ODD,NAME"],
    }
    assert lib.descriptions == {"SET_A": "http://example.org/a", "SET_B": "",
                                "WEIGHTED": "enrichr style"}
    assert lib.n_duplicate_genes == 3  # one TP53, two EGFR
    assert lib.n_empty_sets == 1
    assert len(lib) == 3
    assert lib.genes == {"TP53", "MDM2", "CDKN1A", "EGFR", "ERBB2", "KRAS", "NRAS", "ODD,NAME"}


def test_name_only_line_is_an_empty_set():
    lib = parse_gmt_lines(["A\tdesc\tX\n", "B\tdesc\n"])
    assert list(lib.gene_sets) == ["A"] and lib.n_empty_sets == 1


@pytest.mark.parametrize("lines, message", [
    (["SET_A TP53 MDM2\n"], "line 1 has no tab"),
    (["\tdesc\tTP53\n"], "line 1 has an empty gene-set name"),
    (["A\td\tX\n", "\n", "A\td\tY\n"], "line 3: gene set 'A' is defined twice"),
    ([], "no gene sets found"),
    (["A\tdesc\t\t\n"], "no gene sets found"),
])
def test_bad_gmt_content(lines, message):
    with pytest.raises(UserInputError, match=message):
        parse_gmt_lines(lines, source="x.gmt")


def test_read_missing_file_and_library_names(tmp_path):
    with pytest.raises(UserInputError, match="GMT file not found"):
        read_gmt(tmp_path / "missing.gmt")
    with pytest.raises(UserInputError, match="aprior fetch"):
        read_gmt("KEGG_2021_Human")
    with pytest.raises(UserInputError, match="is a directory"):
        read_gmt(tmp_path)
    assert looks_like_library_name("GO_Biological_Process_2021")
    assert not looks_like_library_name("data/h.all.gmt")
    assert not looks_like_library_name("h.all.gmt")
    assert library_name("a/b/h.all.v7.0.symbols.gmt.gz") == "h.all.v7.0.symbols"


def test_not_utf8_is_a_user_error(tmp_path):
    path = tmp_path / "bad.gmt"
    path.write_bytes(b"A\td\t\xff\xfe\n")
    with pytest.raises(UserInputError, match="cannot read GMT"):
        read_gmt(path)


@pytest.mark.parametrize("name", ["lib.gmt", "lib.gmt.gz"])
def test_write_read_round_trip(tmp_path, name):
    lib = GeneSetLibrary(name="lib", gene_sets={"A": ["X", "Y"], "B": ["Z"]},
                         descriptions={"A": "first", "B": ""})
    path = write_gmt(tmp_path / name, lib)
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as handle:
            assert handle.readline() == "A\tfirst\tX\tY\n"
    back = read_gmt(path)
    assert back.gene_sets == lib.gene_sets
    assert back.descriptions == lib.descriptions
    assert back.path == path
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temp file left


@pytest.mark.realdata
def test_shared_gmt_files_parse(shared_data):
    gmt = shared_data / "gsea" / "gmt"
    hallmark = read_gmt(gmt / "h.all.v7.0.symbols.gmt")
    assert len(hallmark) == 50
    assert hallmark.descriptions["HALLMARK_TNFA_SIGNALING_VIA_NFKB"].startswith("http")
    kegg = read_gmt(gmt / "enrichr.KEGG_2016.gmt")
    assert len(kegg) == 293 and kegg.n_duplicate_genes == 0
    assert all(d == "" for d in kegg.descriptions.values())  # Enrichr: empty description
    assert len(read_gmt(gmt / "c2.cp.kegg.v7.5.1.symbols.gmt")) == 186
