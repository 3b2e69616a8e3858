"""Seed files and the sliding-window limiter on its own."""

from __future__ import annotations

import json

import pytest

from sync.sandbox import Sandbox, load_seed
from sync.sandbox.ratelimit import SlidingWindowLog


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


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_counts_refused_requests_too():
    clock = Clock()
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
