"""Capped lists in messages: one short line whatever the number of ids."""

from __future__ import annotations

from aprior_cli.messages import MAX_MESSAGE_CHARS, capped, one_line


def test_capped_shows_a_few_and_counts_the_rest():
    ids = [f"G{i}" for i in range(64_102)]
    assert capped(ids) == "G0, G1, G2, G3 … and 64,098 more"
    assert capped(ids[:3]) == "G0, G1, G2"
    assert capped([]) == "(none)"
    assert capped(["a", "b"], quote=True) == "'a', 'b'"
    assert capped(ids, shown=1) == "G0 … and 64,101 more"


def test_capped_reads_only_what_it_shows_when_told_the_total():
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    assert capped(endless(), shown=2, total=10**9) == "0, 1 … and 999,999,998 more"


def test_long_items_are_shortened_and_messages_cut():
    text = capped(["x" * 500, "y"])
    assert len(text) < 100 and text.endswith(", y")
    assert one_line("a\n  b\tc") == "a b c"
    long = one_line("z" * 10_000)
    assert len(long) == MAX_MESSAGE_CHARS and long.endswith("…")
