"""Dub's usernames, link keys, links routes, groups and seeds, as providers.md §6 describes."""

from __future__ import annotations

import re

import pytest

from sync.sandbox.dub_links import slugify


def error_of(response):
    body = response.json()
    return body["error"]["code"], body["error"]["message"]


def test_username_is_generated_and_the_sent_one_seeds_the_link_key(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    created = client.post(
        "/partners", json={"email": "ann@example.com", "name": "Ann Lee", "username": "ANN10"}
    ).json()
    assert re.fullmatch(r"ann-lee-[a-z0-9]{4}", created["username"])
    (link,) = created["links"]
    assert link["key"] == "ANN10"
    assert link["shortLink"].endswith("/ANN10")
    assert set(link) == {
        "id", "domain", "key", "shortLink", "url", "clicks", "leads", "conversions", "sales",
        "saleAmount",
    }  # fmt: skip


def test_username_without_a_name_comes_from_the_whole_email(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    created = client.post("/partners", json={"email": "bo.ray@example.com"}).json()
    assert re.fullmatch(r"bo-ray-example-com-[a-z0-9]{4}", created["username"])
    assert created["links"][0]["key"] == "bo-ray"  # the email's local part, slugified


def test_a_taken_key_silently_gets_a_suffix(make_sandbox, make_client):
    client = make_client(make_sandbox("dub", seed=[{"email": "old@example.com", "links": ["ann"]}]))
    created = client.post("/partners", json={"email": "ann@example.com", "username": "ann"})
    assert created.status_code == 201
    assert re.fullmatch(r"ann-[a-z0-9]{4}", created.json()["links"][0]["key"])


def test_keys_compare_case_insensitively(make_sandbox, make_client):
    client = make_client(make_sandbox("dub", seed=[{"email": "old@example.com", "links": ["Ann"]}]))
    created = client.post("/partners", json={"email": "a@example.com", "username": "ann"}).json()
    assert created["links"][0]["key"] != "ann"


def test_name_seeds_the_key_when_no_username_is_sent(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    created = client.post("/partners", json={"email": "z@example.com", "name": "Zoë O'Brien"})
    assert created.json()["links"][0]["key"] == "zoe-o-brien"


def test_slugify_follows_sindresorhus():
    assert slugify("Liam O'Connor") == "liam-o-connor"
    assert slugify("fooBar 123 $#%") == "foo-bar-123"
    assert slugify("Déjà Vu & Co") == "deja-vu-and-co"


def test_empty_username_is_accepted(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    response = client.post("/partners", json={"email": "e@example.com", "username": ""})
    assert response.status_code == 201
    assert response.json()["links"][0]["key"] == "e"


def test_invalid_username_has_dubs_text(make_sandbox, make_client):
    response = make_client(make_sandbox("dub")).post(
        "/partners", json={"email": "a@b.co", "username": "has space"}
    )
    assert response.status_code == 422
    assert error_of(response) == (
        "unprocessable_entity",
        "custom: username: Invalid username. Must be a URL-friendly string.",
    )


def test_create_answer_is_the_plain_enrolment_but_reads_add_legacy_fields(
    make_sandbox, make_client
):
    client = make_client(make_sandbox("dub"))
    created = client.post("/partners", json={"email": "a@example.com"}).json()
    for absent in ("tags", "clicks", "leads", "conversions", "sales", "saleAmount"):
        assert absent not in created
    again = client.post("/partners", json={"email": "a@example.com"}).json()
    assert "tags" not in again and "clicks" not in again  # the upsert's answer too
    (listed,) = client.get("/partners").json()
    assert listed["tags"] == [] and listed["clicks"] == 0
    assert listed["username"] == created["username"]


# --- /partners/links ----------------------------------------------------------------------


def test_get_links_by_partner_id_or_tenant_id(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    created = client.post(
        "/partners", json={"email": "a@example.com", "tenantId": "t-1", "username": "code1"}
    ).json()
    by_id = client.get("/partners/links", params={"partnerId": created["id"]})
    by_tenant = client.get("/partners/links", params={"tenantId": "t-1"})
    assert by_id.status_code == by_tenant.status_code == 200
    assert [link["key"] for link in by_id.json()] == ["code1"]
    assert by_tenant.json() == by_id.json()


def test_get_links_of_an_unknown_partner_is_404(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    response = client.get("/partners/links", params={"tenantId": "nobody"})
    assert response.status_code == 404
    assert error_of(response) == ("not_found", "Partner not found.")
    response = client.get("/partners/links")
    assert response.status_code == 400
    assert error_of(response) == (
        "bad_request",
        "Either `partnerId` or `tenantId` must be provided.",
    )


def test_links_routes_forward_the_limiter_headers_on_success_unlike_the_partner_routes(
    make_sandbox, make_client, limiter_clock
):
    client = make_client(make_sandbox("dub", rate_limit=10))
    created = client.post("/partners", json={"email": "a@example.com", "tenantId": "t-1"})
    assert created.status_code == 201
    assert not any(h.lower().startswith("x-ratelimit") for h in created.headers)
    listed = client.get("/partners/links", params={"tenantId": "t-1"})
    made = client.post("/partners/links", json={"tenantId": "t-1", "key": "extra"})
    assert (listed.status_code, made.status_code) == (200, 201)
    for answer, remaining in ((listed, "8"), (made, "7")):
        assert answer.headers["X-RateLimit-Limit"] == "10"
        assert answer.headers["X-RateLimit-Remaining"] == remaining
        # Upstash's reset, in epoch milliseconds, as on every Dub answer that carries it.
        assert int(answer.headers["X-RateLimit-Reset"]) == (limiter_clock.now + 60) * 1000
        assert answer.headers["Retry-After"] == answer.headers["X-RateLimit-Reset"]


def test_post_link_with_an_exact_key_then_409_when_taken(make_sandbox, make_client):
    client = make_client(make_sandbox("dub", seed=[{"email": "old@example.com", "links": ["ann"]}]))
    partner = client.post("/partners", json={"email": "a@example.com", "tenantId": "t-1"}).json()
    made = client.post("/partners/links", json={"tenantId": "t-1", "key": "ANN-2024"})
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["key"] == "ANN-2024" and link["partnerId"] == partner["id"]
    assert link["tenantId"] == "t-1" and link["shortLink"].endswith("/ANN-2024")
    taken = client.post("/partners/links", json={"partnerId": partner["id"], "key": "ann"})
    assert taken.status_code == 409
    assert error_of(taken) == ("conflict", "Duplicate key: This short link already exists.")
    keys = [lk["key"] for lk in client.get("/partners/links", params={"tenantId": "t-1"}).json()]
    assert keys == ["a", "ANN-2024"]


def test_post_link_refusals(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    client.post("/partners", json={"email": "a@example.com", "tenantId": "t-1"})
    unknown = client.post("/partners/links", json={"tenantId": "t-2", "key": "x"})
    assert unknown.status_code == 404
    bad_key = client.post("/partners/links", json={"tenantId": "t-1", "key": "_x"})
    assert error_of(bad_key) == ("unprocessable_entity", "Invalid key.")
    long_key = client.post("/partners/links", json={"tenantId": "t-1", "key": "k" * 191})
    assert long_key.status_code == 422
    other = client.post(
        "/partners/links", json={"tenantId": "t-1", "url": "https://elsewhere.example.org/x"}
    )
    assert other.status_code == 400 and "elsewhere.example.org" in error_of(other)[1]
    random_key = client.post("/partners/links", json={"tenantId": "t-1"})
    assert random_key.status_code == 201 and len(random_key.json()["key"]) == 7


# --- groups -------------------------------------------------------------------------------

GROUPS = [
    {"id": "grp_VIP", "slug": "vip"},
    {"id": "grp_THEIRS", "slug": "theirs", "programId": "prog_other"},
]


@pytest.mark.parametrize("value", ["grp_VIP", "vip"])
def test_group_by_id_or_slug(make_sandbox, make_client, value):
    client = make_client(make_sandbox("dub", groups=GROUPS))
    created = client.post("/partners", json={"email": "a@example.com", "groupId": value})
    assert created.status_code == 201
    assert created.json()["groupId"] == "grp_VIP"


def test_default_group_by_slug_and_when_omitted(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    by_slug = client.post("/partners", json={"email": "a@example.com", "groupId": "default"})
    omitted = client.post("/partners", json={"email": "b@example.com"})
    assert by_slug.json()["groupId"] == omitted.json()["groupId"]
    assert by_slug.json()["groupId"].startswith("grp_")


def test_unknown_group_is_404_and_another_programs_is_403(make_sandbox, make_client):
    client = make_client(make_sandbox("dub", groups=GROUPS))
    unknown = client.post("/partners", json={"email": "a@example.com", "groupId": "gold"})
    assert unknown.status_code == 404
    assert error_of(unknown) == ("not_found", 'Group "gold" not found.')
    theirs = client.post("/partners", json={"email": "b@example.com", "groupId": "grp_THEIRS"})
    assert theirs.status_code == 403
    assert error_of(theirs) == ("forbidden", 'Group "grp_THEIRS" not found in your program.')
    # Another program's slug is not looked up outside this program: unknown here.
    by_slug = client.post("/partners", json={"email": "c@example.com", "groupId": "theirs"})
    assert by_slug.status_code == 404
    assert client.get("/partners/count").json() == 0


# --- list parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page": "1.5"}, "invalid_type: page: Page must be an integer."),
        ({"page": ""}, "too_small: page: Page must be greater than 0."),
        ({"page": "x"}, "invalid_type: page: Page must be a number."),
        ({"sortBy": "commissions"}, "invalid_union: sortBy: Invalid input"),
        ({"sortBy": "name"}, "invalid_union: sortBy: Invalid input"),
    ],
)
def test_list_parameter_errors_have_dubs_texts(make_sandbox, make_client, params, message):
    response = make_client(make_sandbox("dub")).get("/partners", params=params)
    assert response.status_code == 422
    assert error_of(response) == ("unprocessable_entity", message)


@pytest.mark.parametrize(
    "alias", ["clicks", "leads", "conversions", "sales", "saleAmount", "totalSales"]
)
def test_legacy_sort_aliases_are_accepted(make_sandbox, make_client, alias):
    response = make_client(make_sandbox("dub")).get("/partners", params={"sortBy": alias})
    assert response.status_code == 200


def test_empty_filters_filter_nothing(make_sandbox, make_client):
    seed = [{"email": "a@example.com", "tenantId": "t"}, {"email": "b@example.com"}]
    client = make_client(make_sandbox("dub", seed=seed))
    assert len(client.get("/partners", params={"email": ""}).json()) == 2
    assert len(client.get("/partners", params={"tenantId": ""}).json()) == 2
    assert client.get("/partners/count", params={"tenantId": ""}).json() == 2
    assert len(client.get("/partners", params={"email": "a@example.com"}).json()) == 1


# --- seeds --------------------------------------------------------------------------------


def test_seeds_carry_links_statuses_and_groups(make_sandbox, make_client):
    seed = [
        {"email": "b@example.com", "status": "banned", "links": [{"key": "BAN1"}]},
        {"email": "d@example.com", "status": "deactivated", "username": "deact"},
        {"email": "r@example.com", "status": "archived", "links": ["ARCH", "ARCH-2"]},
        {"email": "p@example.com", "status": "pending", "groupId": "vip"},
    ]
    sandbox = make_sandbox("dub", seed=seed)
    client = make_client(sandbox)
    rows = {p["email"]: p for p in client.get("/partners", params={"sortBy": "createdAt"}).json()}
    assert rows["b@example.com"]["status"] == "banned" and rows["b@example.com"]["bannedAt"]
    assert [link["key"] for link in rows["b@example.com"]["links"]] == ["BAN1"]
    assert [link["key"] for link in rows["d@example.com"]["links"]] == ["deact"]
    assert [link["key"] for link in rows["r@example.com"]["links"]] == ["ARCH", "ARCH-2"]
    assert rows["p@example.com"]["status"] == "pending"
    vip = client.post("/partners", json={"email": "n@example.com", "groupId": "vip"})
    assert vip.json()["groupId"] == rows["p@example.com"]["groupId"]
    # A seeded key is taken like any other.
    taken = client.post("/partners", json={"email": "x@example.com", "username": "BAN1"})
    assert taken.json()["links"][0]["key"] != "BAN1"


@pytest.mark.parametrize(
    ("record", "complaint"),
    [
        ({"email": "a@example.com", "status": "gone"}, "status 'gone'"),
        ({"email": "a@example.com", "links": [{"url": "x"}]}, "non-empty string key"),
        ({"email": "a@example.com", "links": ["k", "K"]}, "already taken"),
    ],
)
def test_bad_seed_links_and_statuses_are_refused(record, complaint):
    from sync.sandbox import Sandbox

    with pytest.raises(ValueError, match=complaint):
        Sandbox("dub", seed=[record])
