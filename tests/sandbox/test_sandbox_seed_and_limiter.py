"""Seed files and the sliding-window limiter on its own."""

from __future__ import annotations

import json

import pytest
from support.clocks import SetClock

from sync.sandbox import Sandbox, load_seed
from sync.sandbox.ratelimit import SlidingWindow, SlidingWindowLog


def test_load_seed_reads_a_json_array(tmp_path):
    path = tmp_path / "seed.json"
    path.write_text(
        json.dumps([{"email": "a@example.com"}, {"email": "b@example.com", "id": "p2"}])
    )
    assert load_seed(path) == [{"email": "a@example.com"}, {"email": "b@example.com", "id": "p2"}]


def test_load_seed_reads_json_lines(tmp_path):
    path = tmp_path / "seed.jsonl"
    path.write_text('{"email": "a@example.com"}\n\n{"email": "b@example.com"}\n')
    assert [r["email"] for r in load_seed(str(path))] == ["a@example.com", "b@example.com"]


def test_load_seed_of_an_empty_file_is_empty(tmp_path):
    path = tmp_path / "seed.jsonl"
    path.write_text("\n")
    assert load_seed(path) == []


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"email": "a@example.com"}\n{"email": oops}\n', "line 2 is not valid JSON"),
        ('[{"email": "a@example.com"}, 3]', "item 1 is int"),
        ('[{"email": "a@example.com"}', "not a valid JSON array"),
        ('"just a string"\n', "line 1 is str"),
    ],
)
def test_load_seed_names_what_is_wrong(tmp_path, content, match):
    path = tmp_path / "seed.txt"
    path.write_text(content)
    with pytest.raises(ValueError, match=match):
        load_seed(path)


def test_load_seed_refuses_non_utf8(tmp_path):
    path = tmp_path / "seed.json"
    path.write_bytes(b'[{"email": "\xff@example.com"}]')
    with pytest.raises(ValueError, match="not UTF-8"):
        load_seed(path)


@pytest.mark.parametrize("provider", ["dub", "partnero", "promotekit"])
def test_seed_records_need_an_email_and_unique_keys(provider):
    with pytest.raises(ValueError, match="seed record 1: needs an email"):
        Sandbox(provider, seed=[{"email": "a@example.com"}, {"name": "no email"}])
    with pytest.raises(ValueError, match="seed record 1"):
        Sandbox(provider, seed=[{"email": "a@example.com"}, {"email": "A@example.com"}])


def test_dub_seed_keeps_given_ids_and_timestamps():
    sandbox = Sandbox(
        "dub",
        seed=[{"email": "a@example.com", "id": "pn_fixed", "createdAt": "2024-05-06T07:08:09Z"}],
    )
    record = sandbox.partners()[0]
    assert record["id"] == "pn_fixed" and record["partnerId"] == "pn_fixed"
    assert record["createdAt"] == "2024-05-06T07:08:09.000Z"


def test_unknown_provider_is_refused():
    with pytest.raises(ValueError, match="unknown provider"):
        Sandbox("impact")


def test_sliding_window_counts_refused_requests_too():
    clock = SetClock()
    limiter = SlidingWindowLog(2, 10.0, clock=clock)
    assert limiter.hit("k").allowed
    clock.now += 1
    second = limiter.hit("k")
    assert second.allowed and second.remaining == 0
    assert second.reset_in == pytest.approx(9.0)
    clock.now += 1
    third = limiter.hit("k")
    assert not third.allowed
    assert third.reset_in == pytest.approx(9.0)  # once the second request expires
    assert limiter.hit("other").allowed  # keys are counted apart
    clock.now += 8.5  # the first request has expired, but the refused one still counts
    assert not limiter.hit("k").allowed
    clock.now += 10
    assert limiter.hit("k").allowed


# --- Upstash's sliding window (Dub) -------------------------------------------------------
# Known sequences, computed by hand from slidingWindowLimitScript: windows are epoch-aligned,
# count = floor(previous * (1 - elapsed / window)) + current, refused before counting.


def test_upstash_window_counts_the_current_fixed_window():
    clock = SetClock()
    clock.now = 1000.0  # a window boundary: 1,000,000 ms is a multiple of 10,000 ms
    limiter = SlidingWindow(3, 10.0, clock=clock)
    verdicts = []
    for moment in (1000.0, 1001.0, 1002.0, 1003.0):
        clock.now = moment
        verdicts.append(limiter.hit("k"))
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    # reset is the end of the current fixed window, whatever the request's position in it.
    assert {v.reset_at for v in verdicts} == {1010.0}
    assert verdicts[3].reset_in == pytest.approx(7.0)
    assert limiter.hit("other").allowed  # keys are counted apart


def test_upstash_window_weighs_the_previous_window_after_the_reset():
    clock = SetClock()
    clock.now = 1000.0
    limiter = SlidingWindow(3, 10.0, clock=clock)
    for _ in range(3):
        assert limiter.hit("k").allowed
    clock.now = 1010.0  # the reset: previous 3 weigh floor(3 * 1.0) = 3
    refused = limiter.hit("k")
    assert not refused.allowed and refused.reset_at == 1020.0
    clock.now = 1013.4  # floor(3 * 0.66) = 1, current 0: allowed
    first = limiter.hit("k")
    assert first.allowed and first.remaining == 1
    clock.now = 1013.5  # floor(3 * 0.65) = 1, current 1: allowed
    assert limiter.hit("k").allowed
    clock.now = 1013.6  # floor(3 * 0.64) = 1, current 2: 3 reached
    assert not limiter.hit("k").allowed
    clock.now = 1016.7  # floor(3 * 0.33) = 0, current 2: allowed
    assert limiter.hit("k").allowed
    clock.now = 1030.0  # two windows on: the previous (1020-1030) is empty
    assert limiter.hit("k").allowed


def test_upstash_window_does_not_count_refused_requests():
    clock = SetClock()
    clock.now = 2000.0
    limiter = SlidingWindow(2, 10.0, clock=clock)
    assert limiter.hit("k").allowed and limiter.hit("k").allowed
    for step in range(100):  # knocking while limited costs nothing
        clock.now = 2000.0 + step * 0.09
        assert not limiter.hit("k").allowed
    clock.now = 2015.0  # floor(2 * 0.5) = 1 + 0: allowed, as without the knocking
    assert limiter.hit("k").allowed
    # A log that counted the refusals would still refuse here.


def test_upstash_window_reads_whole_milliseconds():
    clock = SetClock()
    clock.now = 99.9999  # 99,999 ms: the last millisecond of window 9 (of 10 s)
    limiter = SlidingWindow(1, 10.0, clock=clock)
    verdict = limiter.hit("k")
    assert verdict.allowed and verdict.reset_at == 100.0
    clock.now = 100.0005  # 100,000 ms: window 10 begins; floor(1 * 1.0) = 1 refuses
    assert not limiter.hit("k").allowed
