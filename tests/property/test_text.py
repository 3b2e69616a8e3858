"""Python's string semantics, on columns: every helper gives Python's answer for every value."""

from __future__ import annotations

import re

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import text
from sync.models import email_key, trim
from sync.providers.dub import _USERNAME_ALPHABET
from sync.providers.fields import EMAIL_BODY, check_email, utf16_length

# Python's whitespace includes U+001C..U+001F, which polars' own strip keeps.
# Zero-width characters and the BOM are trimmed too (models.trim), though str.strip() keeps them.
SPACES = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u3000\u200b\u200c\u200d\u2060\ufeff"
ODD = "ſKß😀é€İΣς'.._-/+@,\x00\x07\x1b\x7f\x85\x9f"
text_chars = st.characters(codec="utf-8", exclude_categories=("Cs",))

values = st.lists(
    st.one_of(
        st.none(),
        st.text(alphabet=text_chars, max_size=8),
        st.text(alphabet=SPACES + ODD + "ab", max_size=8),
    ),
    min_size=1,
    max_size=12,
)


def column(items, expression):
    return (
        pl.DataFrame({"v": items}, schema={"v": pl.String})
        .select(expression(pl.col("v")))["v"]
        .to_list()
    )


def python(items, function):
    return [None if item is None else function(item) for item in items]


@settings(max_examples=200, deadline=None)
@given(values)
def test_whitespace_and_case_as_python(items):
    assert column(items, text.strip) == python(items, str.strip)
    assert column(items, text.collapse_spaces) == python(items, lambda v: " ".join(v.split()))
    assert column(items, text.lower) == python(items, str.lower)
    assert column(items, text.upper) == python(items, str.upper)
    assert column(items, text.email_keys) == python(items, email_key)
    assert column(items, text.utf16_length) == python(items, utf16_length)
    assert column(items, text.trimmed) == python(items, trim)
    assert column(items, text.has_text) == python(items, lambda v: bool(trim(v)))
    own = column(items, text.is_own_key)
    assert all(email_key(item) == item for item, is_own in zip(items, own, strict=True) if is_own)
    # In two steps: polars alone (in a streaming query), then exact beyond ASCII.
    for trimmed in (False, True):
        inputs = [item if item is None or not trimmed else trim(item) for item in items]
        emails = pl.Series("e", inputs, dtype=pl.String)
        fast = pl.select(text.ascii_email_keys(pl.lit(emails), trimmed=trimmed)).to_series()
        assert text.exact_email_keys(emails, fast).to_list() == python(inputs, email_key)


def test_case_tables_differ_from_pythons_where_expected():
    # Characters newer than Python's Unicode tables: polars' kernel alone would disagree.
    items = ["\ua7cb", "ɤ", "ABC"]
    assert column(items, text.lower) == [item.lower() for item in items]
    assert column(items, text.upper) == [item.upper() for item in items]


# The pattern the email check used before it was written without look-arounds.
LOOKAROUND_EMAIL = re.compile(
    r"^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$"
)
email_like = st.text(alphabet="ab9_'+-.@Z", max_size=14)


@settings(max_examples=500, deadline=None)
@given(email_like)
def test_email_pattern_is_the_lookaround_pattern(value):
    try:
        check_email(value)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == bool(LOOKAROUND_EMAIL.match(value))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(email_like, st.text(alphabet=text_chars, max_size=6)), min_size=1))
def test_full_match_reads_patterns_as_python_does(items):
    for pattern in (EMAIL_BODY, _USERNAME_ALPHABET.pattern):
        expected = [re.fullmatch(pattern, item) is not None for item in items]
        assert column(items, lambda v, p=pattern: text.full_match(v, p)) == expected


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(SPACES + "\u200b\u200c\u200d\u2060\ufeffaé😀 "), max_size=8)
)
def test_trimmed_is_models_trim(value):
    got = pl.select(text.trimmed(pl.lit(value, dtype=pl.String))).item()
    assert got == trim(value)
