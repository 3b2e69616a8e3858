"""The Rewardful, Tolt and FirstPromoter emulators: auth, shapes, paging and 429s as
sources.md states them (and as sync/sources/ reads them)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx

from sync.registry import emulator_of
from sync.sandbox import Sandbox, load_seed
from sync.sandbox.base import Options

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def basic(user: str, password: str = "") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def seeded(name: str, file: str, **options: Any) -> Sandbox:
    return Sandbox(name, seed=load_seed(SAMPLES / file), **options)


def test_rewardful_basic_auth_with_an_empty_password_and_its_envelope() -> None:
    with seeded("rewardful", "rewardful_affiliates.json", api_key="sec", rate_limit=0) as box:
        url = f"{box.base_url}/affiliates"
        refused = httpx.get(url, headers=basic("sec", "password"))
        assert refused.status_code == 401 and refused.json() == {"error": "Invalid API Secret."}
        first = httpx.get(url, params={"limit": 5}, headers=basic("sec")).json()
        assert first["pagination"]["next_page"] == 2 and first["pagination"]["total_count"] == 12
        assert "links" not in first["data"][0]  # only when expanded
        last = httpx.get(
            url, params={"limit": 5, "page": 3, "expand[]": "links"}, headers=basic("sec")
        ).json()
        assert last["pagination"]["next_page"] is None and len(last["data"]) == 2
        assert last["data"][0]["links"][0]["token"]
        dates = [row["created_at"] for row in first["data"]]
        assert dates == sorted(dates, reverse=True)  # newest first
        assert httpx.get(url, params={"limit": 101}, headers=basic("sec")).status_code == 422


def test_rewardful_counts_45_requests_per_30_seconds() -> None:
    with seeded("rewardful", "rewardful_affiliates.json") as box:
        with httpx.Client(headers=basic("any")) as client:
            answers = [client.get(f"{box.base_url}/campaigns") for _ in range(46)]
        assert [a.status_code for a in answers[:45]] == [200] * 45
        limited = answers[45]
        assert limited.status_code == 429 and "error" in limited.json()
        assert limited.headers["RateLimit-Limit"] == "45"
        assert 0 < int(limited.headers["Retry-After"]) <= 30


def test_tolt_needs_a_program_and_pages_by_cursor() -> None:
    with seeded("tolt", "tolt_partners.json", api_key="tk", rate_limit=0) as box:
        auth = {"Authorization": "Bearer tk"}
        url = f"{box.base_url}/partners"
        assert httpx.get(url, headers={"Authorization": "Bearer no"}).status_code == 401
        missing = httpx.get(url, headers=auth)
        assert missing.status_code == 400 and missing.json()["success"] is False
        params: dict[str, str | int] = {"program_id": "prg_sandbox", "limit": 5}
        first = httpx.get(url, params=params, headers=auth).json()
        assert first["has_more"] is True and len(first["data"]) == 5
        after = {**params, "starting_after": first["data"][-1]["id"], "limit": 100}
        rest = httpx.get(url, params=after, headers=auth).json()
        assert rest["has_more"] is False and len(rest["data"]) == 7
        links = httpx.get(
            f"{box.base_url}/links", params={"program_id": "prg_sandbox"}, headers=auth
        ).json()
        assert {"id", "param", "value", "partner_id"} <= set(links["data"][0])
        assert "links" not in first["data"][0]  # codes live apart from partners


def test_tolt_refuses_the_26th_request_in_a_second_with_its_v1_body() -> None:
    with seeded("tolt", "tolt_partners.json") as box:
        with httpx.Client(headers={"Authorization": "Bearer k"}) as client:
            url = f"{box.base_url}/links?program_id=prg_sandbox"
            answers = [client.get(url) for _ in range(26)]
        refused = [a for a in answers if a.status_code == 429]
        assert refused, "26 requests well within a second must meet the 25/s limit"
        assert refused[0].json()["error"]["type"] == "rate_limit_error"


def test_firstpromoter_needs_bearer_and_account_id_and_ends_on_an_empty_page() -> None:
    with seeded(
        "firstpromoter", "firstpromoter_promoters.json", api_key="k:acc", rate_limit=0
    ) as box:
        url = f"{box.base_url}/promoters"
        no_account = httpx.get(url, headers={"Authorization": "Bearer k"})
        assert no_account.status_code == 401 and "code" in no_account.json()
        wrong = httpx.get(url, headers={"Authorization": "Bearer k", "Account-ID": "other"})
        assert wrong.status_code == 401
        auth = {"Authorization": "Bearer k", "Account-ID": "acc"}
        page = httpx.get(url, params={"per_page": 100}, headers=auth).json()
        assert len(page["data"]) == 12 and "pending_count" in page["meta"]
        assert page["data"][0]["promoter_campaigns"][0]["ref_token"]
        beyond = httpx.get(url, params={"per_page": 100, "page": 2}, headers=auth).json()
        assert beyond["data"] == []
        assert httpx.get(url, params={"per_page": 101}, headers=auth).status_code == 422


def test_every_source_emulator_is_registered_and_seeds_its_own_shape() -> None:
    for name in ("rewardful", "tolt", "firstpromoter"):
        emulator = emulator_of(name)(Options())
        emulator.seed([{"email": "one@example.com"}])
        assert emulator.partners()[0]["email"] == "one@example.com"
