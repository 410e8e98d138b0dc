"""One line naming the file for every way a file can fail to decode (aprior_cli.io.read_errors)."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import zlib

import numpy as np
import pandas as pd
import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io.files import read_text_file, read_text_lines
from aprior_cli.io.read_errors import describe, is_decode_error, reading
from aprior_cli.io.tables import read_table

TABLE = pd.DataFrame(np.arange(4000).reshape(1000, 4), columns=list("abcd")).to_csv(sep="\t")


def _cut(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize("name, content, reason", [
    ("t.tsv.gz", _cut(gzip.compress(TABLE.encode())), "truncated"),
    ("t.tsv.bz2", _cut(bz2.compress(TABLE.encode())), "truncated"),
    ("t.tsv.xz", _cut(lzma.compress(TABLE.encode())), "truncated"),
    ("t.tsv.gz", b"plain text\t1\n", "not a gzip file"),
    ("t.tsv", "a\tb\n\xe9\t1\n".encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    ("t.parquet", b"PAR1 not parquet", "cannot read table"),
    ("t.h5ad", b"not hdf5", "cannot read table"),
])
def test_damaged_tables_give_one_line_naming_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UserInputError) as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot read table") and reason in message
    assert "\n" not in message and len(message) < 300


def test_text_readers_share_the_translation(tmp_path):
    path = tmp_path / "genes.txt.gz"
    path.write_bytes(_cut(gzip.compress(b"TP53\n" * 5000)))
    with pytest.raises(UserInputError, match=r"genes.txt.gz: cannot read gene list: truncated"):
        read_text_lines(path, "gene list")
    (tmp_path / "c.yaml").write_bytes(b"\xff\xfe")
    with pytest.raises(UserInputError, match=r"c.yaml: cannot read config: not UTF-8"):
        read_text_file(tmp_path / "c.yaml", "config")
    with pytest.raises(UserInputError, match=r"is a directory"):
        read_text_file(tmp_path, "config")


def test_describe_and_is_decode_error():
    assert describe(EOFError("x")).startswith("truncated")
    assert "corrupt compressed data" in describe(zlib.error("Error -3"))
    try:
        json.loads("{bad")
    except json.JSONDecodeError as exc:
        assert describe(exc).startswith("invalid JSON at line 1 column 2")
    assert describe(OSError("Invalid data stream")) == "corrupt bz2 data"
    assert is_decode_error(EOFError()) and is_decode_error(gzip.BadGzipFile("x"))
    assert not is_decode_error(ZeroDivisionError()) and not is_decode_error(OSError(28, "full"))


def test_reading_passes_user_errors_and_bugs_through(tmp_path):
    with pytest.raises(UserInputError, match="^mine$"), reading(tmp_path, "x"):
        raise UserInputError("mine")
    with pytest.raises(ZeroDivisionError), reading(tmp_path, "x"):
        1 / 0  # noqa: B018
    with pytest.raises(UserInputError, match="cannot read x: truncated"), reading(tmp_path, "x"):
        raise EOFError
