"""Python's string semantics on columns: the whitespace set is every character Python strips."""

from __future__ import annotations

import sys

from sync import text


def test_the_whitespace_set_is_every_character_python_treats_as_whitespace() -> None:
    every = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())
    assert every == text.WHITESPACE
    assert max(map(ord, every)) == text.LAST_WHITESPACE
