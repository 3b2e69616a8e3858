"""Answers are redacted at the door: the text check that spares clean answers the walk over
every string never lets through anything the walk would have redacted."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.logs import REDACTED
from sync.providers.redaction import AnswerRedaction, decoded_text

KEY = "dub_test_9Zx8Yw7Vu6Ts/5Rq4Po3"
HEADERS = {"Authorization": f"Bearer {KEY}"}


def redacted(content: bytes, *, success: bool = True) -> Any:
    return AnswerRedaction(HEADERS).body(content, success=success)


def escaped(text: str) -> str:
    """Every character as a \\uXXXX escape (astral ones as surrogate pairs)."""
    units = text.encode("utf-16-be")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


@pytest.mark.parametrize(
    "written",
    [
        f'"{KEY}"',
        '"' + KEY.replace("/", "\\/") + '"',  # PHP escapes every slash
        f'"{escaped(KEY)}"',
        '"' + escaped(KEY[:5]) + KEY[5:] + '"',  # partly escaped
        '"token: Bearer ' + escaped("abc") + 'def"',  # a credential, escaped
        '"Basic\\tdXNlcjpwYXNz"',  # any whitespace between scheme and credential
    ],
    ids=["plain", "escaped-slash", "all-escaped", "partly-escaped", "credential", "tab"],
)
def test_a_secret_however_the_json_writes_it_is_redacted(written: str) -> None:
    body = redacted(f'{{"data": [{{"note": {written}}}]}}'.encode())
    note = body["data"][0]["note"]
    assert KEY not in note and "abcdef" not in note and "dXNlcjpwYXNz" not in note
    assert REDACTED in note


def test_an_answer_with_nothing_to_redact_comes_back_as_decoded() -> None:
    content = json.dumps({"data": [{"email": "a@example.com", "note": "caf\u00e9 \U0001f600"}]})
    assert redacted(content.encode()) == json.loads(content)
    ascii_only = json.dumps({"note": "caf\u00e9 \U0001f600", "url": "https:\\/\\/x"})
    assert redacted(ascii_only.encode()) == json.loads(ascii_only)


def test_an_answer_in_utf16_is_read_and_redacted_as_json_reads_it() -> None:
    content = json.dumps({"echo": KEY}).encode("utf-16")
    assert redacted(content) == {"echo": REDACTED}


def test_a_short_key_is_redacted_from_errors_only() -> None:
    redaction = AnswerRedaction({"Authorization": "Bearer k9"})
    assert redaction.body(b'{"error": "k9 bad"}', success=False) == {"error": f"{REDACTED} bad"}
    assert redaction.body(b'{"name": "k9 ok"}', success=True) == {"name": "k9 ok"}


def test_a_body_that_is_not_json_is_none() -> None:
    assert redacted(b"<html>Bearer abc</html>") is None
    assert redacted(b"\xff\xfe\x00") is None


def test_every_string_of_a_document_is_a_piece_of_its_decoded_text() -> None:
    document = {"a\\b": ["x\ny", "\u00e9\U0001f600", 'q"uote'], "n": 1}
    text = decoded_text(json.dumps(document).encode())
    for piece in ["a\\b", "x\ny", "\u00e9\U0001f600", 'q"uote']:
        assert piece in text


_PIECES = st.sampled_from(
    [KEY, KEY[:7], KEY[7:], "Bearer ", "bearer\u00a0", "BASIC ", "basic ", "x", "/", "\\", '"']
)
_TEXTS = st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=6).map("".join)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXTS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXTS, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(document=_JSON, ascii_only=st.booleans(), success=st.booleans())
def test_the_text_check_redacts_exactly_what_the_walk_redacts(
    document: Any, ascii_only: bool, success: bool
) -> None:
    redaction = AnswerRedaction(HEADERS)
    walker = redaction.data if success else redaction.error
    content = json.dumps(document, ensure_ascii=ascii_only).encode()
    assert redaction.body(content, success=success) == walker.scrub(json.loads(content))


def test_only_what_lowers_to_a_letter_of_bearer_matches_it_ignoring_case() -> None:
    """What `Redactor.finds` assumes to skip the credential pattern: a text whose lower case
    holds no "bearer" cannot match `(?i:bearer)`."""
    letters = re.compile("(?i:[bear])")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if letters.fullmatch(char):
            assert char.lower() in "bear", hex(code)
        if char.lower() and set(char.lower()) & set("bear"):
            assert char.lower() in "bear", hex(code)  # never part of a longer lowering
