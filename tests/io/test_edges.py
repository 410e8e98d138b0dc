"""Edge files: 3-column HumanBase and 2-column lists, .gz, merging, malformed lines."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io.edges import read_edge_file, read_edges


def named_edges(e):
    ids = np.asarray(e.ids)
    return list(zip(ids[e.src].tolist(), ids[e.dst].tolist(), e.weight.tolist(), strict=True))


def test_three_columns_gz(tmp_path):
    path = tmp_path / "e.tsv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("1\t2\t0.5\n2\t3\t0.05\n3\t1\t0.9\n")
    e = read_edge_file(path)
    assert named_edges(e) == [("1", "2", 0.5), ("2", "3", 0.05), ("3", "1", 0.9)]
    assert e.meta["columns"] == 3


def test_two_columns_and_header(tmp_path):
    pairs = tmp_path / "p.txt"
    pairs.write_text("A\tB\nB\tC\n")
    assert named_edges(read_edge_file(pairs)) == [("A", "B", 1.0), ("B", "C", 1.0)]
    headed = tmp_path / "h.tsv"
    headed.write_text("gene1\tgene2\tweight\nA\tB\t0.3\n")
    e = read_edge_file(headed)
    assert named_edges(e) == [("A", "B", 0.3)] and e.meta["header"]


def test_merge_unifies_ids(tmp_path):
    (tmp_path / "a.tsv").write_text("A\tB\t0.5\n")
    (tmp_path / "b.tsv").write_text("B\tC\t0.7\nC\tA\t0.2\n")
    e, per_file = read_edges([tmp_path / "a.tsv", tmp_path / "b.tsv"])
    assert named_edges(e) == [("A", "B", 0.5), ("B", "C", 0.7), ("C", "A", 0.2)]
    assert len(e.ids) == 3
    assert [f["edges"] for f in per_file] == [1, 2]


@pytest.mark.parametrize("text, message", [
    ("A\tB\t0.5\nC\tD\n", "line 2: expected 3 tab-separated columns, found 2"),
    ("A\tB\t0.5\nC\tD\t0.1\t9\n", "line 2: expected 3 tab-separated columns, found 4"),
    ("A\tB\t0.5\nC\tD\tzero\n", "line 2: weight 'zero' is not a number"),
    ("A B 0.5\n", "line 1: expected 2 .* found 1"),
    ("A\tB\t1\tx\n", "line 1: expected 2 .* found 4"),
    ("", "empty"),
])
def test_malformed(tmp_path, text, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(UserInputError, match=message) as info:
        read_edge_file(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserInputError, match="file not found"):
        read_edges([tmp_path / "nope.tsv"])


@pytest.mark.parametrize("weights, line, what", [
    ("0.5 -0.2 0.3", 2, "negative"), ("0.5 0.2 inf", 3, "not finite"),
    ("nan 0.2 0.3", 1, "not finite"), ("0.5 0.2 -inf", 3, "not finite")])
def test_negative_or_non_finite_weights_are_refused_with_the_line(tmp_path, weights, line, what):
    """A negative weight makes L = D - W indefinite: the 'smoothness' penalty could go negative."""
    w = weights.split()
    (tmp_path / "e.tsv").write_text(f"A\tB\t{w[0]}\nB\tC\t{w[1]}\nC\tD\t{w[2]}\n")
    with pytest.raises(UserInputError, match=rf"e.tsv: line {line}: edge weight .* is {what}"):
        read_edge_file(tmp_path / "e.tsv")
    (tmp_path / "h.tsv").write_text(f"gene1\tgene2\tweight\nA\tB\t{w[0]}\nB\tC\t{w[1]}\n"
                                    f"C\tD\t{w[2]}\n")
    with pytest.raises(UserInputError, match=rf"line {line + 1}:"):   # the header counts
        read_edge_file(tmp_path / "h.tsv")


def test_laplacian_refuses_negative_adjacency():
    import scipy.sparse as sp

    from aprior_cli.graph import laplacian

    w = sp.csr_matrix(np.array([[0, -1.0], [-1.0, 0]]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        laplacian(w)
    lap = laplacian(-w).toarray()                     # a valid graph: PSD
    assert np.linalg.eigvalsh(lap).min() >= -1e-12
