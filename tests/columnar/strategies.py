"""Hypothesis strategies for roster cells: ordinary values and awkward ones near each limit."""

from __future__ import annotations

from hypothesis import strategies as st

from sync.providers.countries import ISO_3166_ALPHA2

# Python's whitespace includes U+001C..U+001F, which polars' own strip keeps.
# Zero-width characters and the BOM are trimmed too (models.trim), though str.strip() keeps them.
SPACES = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u3000\u200b\u200c\u200d\u2060\ufeff"
ODD = "ſKß😀é€İΣς'.._-/+@,\x00\x07\x1b\x7f\x85\x9f"

text_chars = st.characters(codec="utf-8", exclude_categories=("Cs",))
small_text = st.text(alphabet=text_chars, max_size=12)
padded = st.builds(
    lambda left, core, right: left + core + right,
    st.text(alphabet=SPACES, max_size=2),
    small_text,
    st.text(alphabet=SPACES, max_size=2),
)


def near(limit: int, unit: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Strings whose length is close to `limit`, built from `unit`."""
    return st.integers(min_value=max(0, limit - 3), max_value=limit + 2).flatmap(
        lambda size: st.lists(unit, min_size=size, max_size=size).map("".join)
    )


local = st.text(alphabet="abcXYZ019_'+-.", min_size=1, max_size=12)
domain = st.lists(st.text(alphabet="abc-9", min_size=1, max_size=6), min_size=1, max_size=3)
tld = st.text(alphabet="abcZ1", min_size=1, max_size=4)
plain_emails = st.builds(
    lambda user, host, pad: f"{pad}{user}@{host}.com{pad}",
    st.text(alphabet="abcXYZ019_+-", min_size=1, max_size=8),
    st.text(alphabet="abc", min_size=1, max_size=5),
    st.sampled_from(["", "", " ", "\t", "\x1c", "\u3000", "\u200b", "\ufeff", "\xa0", "\x01"]),
)
odd_emails = st.one_of(
    st.builds(lambda a, d, t: f"{a}@{'.'.join(d)}.{t}", local, domain, tld),
    st.emails(),
    padded,
    st.builds(lambda n: "x" * n + "@example.com", st.integers(170, 182)),
    st.builds(lambda n: "x" * n + "@example.com", st.integers(240, 246)),  # around 254
    # Look-alike letters of other scripts (Cyrillic a, e, o; Greek omicron) and IDN domains.
    st.sampled_from(
        ["p\u0430ypal@example.com", "ann@\u0435xample.com", "bob@b\u00fccher.de", "\u03bf@x.io"]
    ),
)


def mostly(usual: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`usual` three times in four, `odd` otherwise."""
    return st.integers(0, 3).flatmap(lambda draw: odd if draw == 0 else usual)


emails = mostly(plain_emails, odd_emails)
names = mostly(padded, near(100, st.sampled_from(["a", "é", "😀", "€"])))
usernames = mostly(
    st.text(alphabet="abZ09_/-.😀é", min_size=1, max_size=10),
    st.one_of(
        st.text(alphabet="ab ~\n", max_size=4),
        st.sampled_from(["_x", ".well-known/a", "shell.php", "a.php7", "ok.phpx", "a\n"]),
        near(100, st.sampled_from(["u", "😀"])),
    ),
)
countries = mostly(
    st.sampled_from(sorted(ISO_3166_ALPHA2)[:20]),
    st.sampled_from(["us", " US", "XX", "Austria", "", "DE "]),
)
tenants = mostly(padded, near(191, st.sampled_from(["t", "😀"])))
descriptions = mostly(small_text, near(5000, st.sampled_from(["d", "😀"])))
cell = st.one_of(st.none(), padded, st.sampled_from(ODD))


def maybe(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    """A value, or an empty cell a quarter of the time."""
    return st.one_of(st.none(), values, values, values)
