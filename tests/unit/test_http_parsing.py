from __future__ import annotations

import pytest

from sync.providers.dub import Dub
from sync.providers.waits import parse_wait
from sync.remote import choose_strategy, lookup_calls, scan_calls

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12.0),
        ("0.5", 0.5),
        (str(int(NOW + 30)), 30.0),  # epoch seconds
        (str(int((NOW + 7.5) * 1000)), 7.5),  # epoch milliseconds (Dub)
        (str(int((NOW - 10) * 1000)), 0.0),  # a reset in the past: no wait
        ("Wed, 15 Jan 2027 08:00:10 GMT", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_wait_understands_every_unit(value, expected):
    result = parse_wait(value, now=NOW)
    if value and value.startswith("Wed"):
        assert result is not None and result > 0
    else:
        assert result == (pytest.approx(expected) if expected is not None else None)


def test_scan_reads_a_final_short_or_empty_page():
    assert scan_calls(0, 100) == 1
    assert scan_calls(99, 100) == 1
    assert scan_calls(100, 100) == 2
    assert scan_calls(200_000, 100) == 2001


def test_strategy_picks_the_cheaper_way_and_says_why():
    nightly = choose_strategy(40, 200_000, 100, 80)
    assert nightly.name == "lookup" and nightly.estimated_calls == 80
    migration = choose_strategy(50_000, 1_000, 100, 50_000)
    assert migration.name == "scan" and migration.estimated_calls == 11
    assert "list page(s)" in migration.reason
    assert choose_strategy(10, None, 100, 0).name == "scan"
    assert choose_strategy(0, 5, 100, 1).name == "none"


def test_a_dub_row_with_a_tenant_id_counts_two_lookup_calls():
    """Dub finds by email, then by tenantId unless the email's partner has it: one new row
    with a tenant id costs two lookups, more than the one page that lists 21 partners, and
    the choice said "1 lookups <= 1 list page(s)" before making two calls."""
    assert lookup_calls(Dub(), 1, with_tenant=1) == 2
    assert lookup_calls(Dub(), 3, with_tenant=0) == 3
    chosen = choose_strategy(1, 21, 100, lookup_calls(Dub(), 1, with_tenant=1))
    assert chosen.name == "scan" and chosen.estimated_calls == 1
    assert chosen.reason == "1 list page(s) for 21 partners < 2 lookup call(s) at most"
