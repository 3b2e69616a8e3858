"""The PartnerStack and Tapfiliate emulations: auth, shapes, paging, 429s, read-only."""

from __future__ import annotations

import httpx
import pytest
from support.sandboxes import MakeSandbox

from sync.registry import emulator_of
from sync.sandbox import Sandbox
from sync.sandbox.base import Options, Request
from sync.sandbox.faults import Faults
from sync.sandbox.readonly import ReadOnlyEmulator

PS_PAIR = ("pk_sandbox_3Fh8", "sk_sandbox_9Qw2")
TAP_KEY = "tap_sandbox_5Lm7Xc"


def ps_client(sandbox: Sandbox, pair: tuple[str, str] = PS_PAIR) -> httpx.Client:
    return httpx.Client(base_url=sandbox.base_url, auth=pair, timeout=5.0)


def tap_client(sandbox: Sandbox, key: str = TAP_KEY) -> httpx.Client:
    return httpx.Client(base_url=sandbox.base_url, headers={"X-Api-Key": key}, timeout=5.0)


def ps_seed(count: int) -> list[dict[str, object]]:
    states = ("approved", "approved", "approved", "pending", "declined")
    return [
        {
            "email": f"p{n}@example.com",
            "first_name": f"P{n}",
            "last_name": "Stack",
            "approved_status": states[n % len(states)],
            "country": "Germany" if n % 2 else "FR",
            "code": f"ps{n}",
        }
        for n in range(count)
    ]


def test_partnerstack_pages_by_cursor_in_its_envelope(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox("partnerstack", seed=ps_seed(23), api_key=":".join(PS_PAIR))
    assert sandbox.base_url.endswith("/api/v2")
    with ps_client(sandbox) as client:
        first = client.get("/partnerships", params={"limit": 10}).json()
        assert set(first) == {"data", "message", "status"} and first["status"] == 200
        assert first["data"]["has_more"] is True and len(first["data"]["items"]) == 10
        keys = [item["key"] for item in first["data"]["items"]]
        after = keys[-1]
        read = list(keys)
        while True:
            body = client.get("/partnerships", params={"limit": 10, "starting_after": after})
            data = body.json()["data"]
            read += [item["key"] for item in data["items"]]
            if not data["has_more"]:
                break
            after = data["items"][-1]["key"]
        assert len(read) == len(set(read)) == 23
        record = first["data"]["items"][1]
        assert record["address"] == {"country": "Germany"}  # a name, as PartnerStack may send
        assert isinstance(record["created_at"], int)  # epoch milliseconds
        approved = client.get("/partnerships", params={"approved_status": "approved", "limit": 250})
        assert len(approved.json()["data"]["items"]) == 15
        links = client.get("/links/partnership/p3@example.com").json()["data"]["items"]
        assert links[0]["url"].endswith("/ps3") and set(links[0]) == {"key", "dest", "url"}


def test_partnerstack_refuses_what_its_api_refuses(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox("partnerstack", seed=ps_seed(2), api_key=":".join(PS_PAIR))
    with ps_client(sandbox, ("pk_other", "sk_other")) as wrong:
        refused = wrong.get("/partnerships")
        assert refused.status_code == 401 and refused.json()["status"] == 401
    with ps_client(sandbox) as client:
        assert client.get("/partnerships", params={"limit": 251}).status_code == 400
        assert (
            client.get("/partnerships", params={"starting_after": "part_nope"}).status_code == 400
        )
        both = client.get("/partnerships", params={"starting_after": "a", "ending_before": "b"})
        assert both.status_code == 400
        # The identifier is the email; a partnership key is not one.
        key = client.get("/partnerships").json()["data"]["items"][0]["key"]
        assert client.get(f"/links/partnership/{key}").status_code == 404
        assert client.post("/partnerships", json={"email": "x@example.com"}).status_code == 404


def test_partnerstack_429_body(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox("partnerstack", seed=ps_seed(1), faults=Faults(burst_429=1.0))
    with ps_client(sandbox) as client:
        answer = client.get("/partnerships")
    assert answer.status_code == 429
    assert answer.json() == {"message": "Too many requests", "status": 429}


def tap_seed() -> list[dict[str, object]]:
    seed: list[dict[str, object]] = [
        {"email": f"t{n}@example.com", "firstname": f"T{n}", "lastname": "Ap", "ref": f"tap{n}"}
        for n in range(27)
    ]
    seed[3]["approved"] = False
    seed[4]["approved"] = None
    seed[5]["program_id"] = None  # in the account, in no program
    return seed


def test_tapfiliate_pages_by_link_header_25_a_page(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox("tapfiliate", seed=tap_seed(), api_key=TAP_KEY)
    assert sandbox.base_url.endswith("/1.6")
    with tap_client(sandbox) as client:
        first = client.get("/affiliates/", params={"limit": 100})  # the size is fixed
        assert len(first.json()) == 25
        assert first.links["next"]["url"] == f"{sandbox.base_url}/affiliates/?page=2"
        second = client.get("/affiliates/", params={"page": 2})
        assert len(second.json()) == 2 and "next" not in second.links
        assert second.links["prev"]["url"].endswith("page=1")
        past = client.get("/affiliates/", params={"page": 3})
        assert past.json() == [] and "next" not in past.links
        program = client.get("/programs/").json()[0]["id"]
        enrolled = client.get(f"/programs/{program}/affiliates/").json()
        enrolled += client.get(f"/programs/{program}/affiliates/", params={"page": 2}).json()
        assert len(enrolled) == 26
        entry = enrolled[0]
        assert set(entry) >= {"affiliate", "approved", "coupon", "referral_link"}
        assert entry["referral_link"]["link"].endswith("?ref=tap0")
        assert [e["approved"] for e in enrolled[3:5]] == [False, None]


def test_tapfiliate_refuses_a_wrong_key_and_an_unknown_program(make_sandbox: MakeSandbox):
    sandbox = make_sandbox("tapfiliate", seed=tap_seed(), api_key=TAP_KEY)
    with tap_client(sandbox, "wrong") as wrong:
        answer = wrong.get("/affiliates/")
        assert answer.status_code == 401 and "message" in answer.json()
    with tap_client(sandbox) as client:
        assert client.get("/programs/nope/affiliates/").status_code == 404


def test_tapfiliate_states_its_limit_and_its_429(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox("tapfiliate", seed=tap_seed(), rate_limit=2)
    with tap_client(sandbox) as client:
        ok = client.get("/affiliates/")
        assert ok.headers["X-Ratelimit-Limit"] == "2"
        client.get("/affiliates/")
        refused = client.get("/affiliates/")
    assert refused.status_code == 429 and refused.json() == {"message": "Too many requests"}
    assert int(refused.headers["X-Ratelimit-Reset"]) > 1_000_000_000  # epoch seconds


@pytest.mark.parametrize(
    "name", ["partnerstack", "tapfiliate", "rewardful", "tolt", "firstpromoter"]
)
def test_every_source_platform_stands_on_the_one_read_only_base(name: str) -> None:
    emulator = emulator_of(name)(Options(api_key="right:key"))
    assert isinstance(emulator, ReadOnlyEmulator)
    emulator.seed([{"email": "a@example.com"}])
    # Each email once, whatever its case and spaces; nothing is kept of a refused record.
    with pytest.raises(ValueError, match="email"):
        emulator.seed([{"email": " A@example.com "}])
    assert len(emulator.partners()) == 1
    # Every refusal in the platform's own body, by the base's one statement of each.
    anonymous = Request("GET", "/", {}, {"Account-ID": "key"}, b"")
    refused = emulator.authenticate(anonymous)
    replies = [refused, emulator.unknown_route(anonymous), emulator.too_many_requests()]
    replies.append(emulator.server_error(503))
    assert [reply.status if reply else None for reply in replies] == [401, 404, 429, 503]
    assert len({reply.body for reply in replies if reply}) == 4  # each says its own words
