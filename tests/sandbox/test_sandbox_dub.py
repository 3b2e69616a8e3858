"""The Dub emulation: auth, errors, upsert semantics, validation, listing and its unstable order."""

from __future__ import annotations

import re

import pytest
from support.sandboxes import people

DOC = "https://dub.co/docs/api-reference/errors#"


def error_of(response):
    body = response.json()
    return body["error"]["code"], body["error"]["message"]


# --- auth and error shape -----------------------------------------------------------------


def test_missing_authorization_is_401(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"), token=None)
    response = client.get("/partners")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthorized",
        "message": "Missing Authorization header.",
        "doc_url": DOC + "unauthorized",
    }


def test_header_without_bearer_prefix_is_400(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"), token=None)
    response = client.get("/partners", headers={"Authorization": "dub_abc"})
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "bad_request"
    assert body["doc_url"] == DOC + "bad-request"


def test_wrong_key_is_401_when_a_key_is_set(make_sandbox, make_client):
    sandbox = make_sandbox("dub", api_key="dub_right")
    assert make_client(sandbox, token="dub_wrong").get("/partners").status_code == 401
    assert make_client(sandbox, token="dub_right").get("/partners").status_code == 200


def test_unknown_route_is_404_in_dub_shape(make_sandbox, make_client):
    response = make_client(make_sandbox("dub")).get("/programs")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_doc_url_replaces_only_the_first_underscore(make_sandbox, make_client):
    sandbox = make_sandbox("dub")
    response = make_client(sandbox).post(
        "/partners", json={"email": "x@example.com", "tenantId": "t" * 200}
    )
    assert response.status_code == 500
    assert response.json()["error"]["doc_url"] == DOC + "internal-server_error"


# --- create and read back -----------------------------------------------------------------


def test_create_then_list_retrieve_and_count(make_sandbox, make_client):
    sandbox = make_sandbox("dub")
    client = make_client(sandbox)
    response = client.post(
        "/partners",
        json={"email": "Ann@Example.com", "name": "Ann", "tenantId": "u-1", "country": "US"},
    )
    assert response.status_code == 201
    created = response.json()
    assert re.fullmatch(r"pn_[A-Za-z0-9]{24}", created["id"])
    assert created["partnerId"] == created["id"]
    assert created["email"] == "Ann@Example.com"  # stored as sent
    assert created["tenantId"] == "u-1"
    assert created["status"] == "approved"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created["createdAt"])
    assert len(created["links"]) == 1 and created["links"][0]["shortLink"].startswith("https://")
    assert created["totalSaleAmount"] == 0 and created["totalClicks"] == 0
    assert created["image"] is None

    listed = client.get("/partners").json()
    assert [p["id"] for p in listed] == [created["id"]]
    assert client.get(f"/partners/{created['id']}").json()["email"] == "Ann@Example.com"
    assert client.get("/partners/count").json() == 1
    assert sandbox.partners()[0]["id"] == created["id"]
    assert sandbox.stats.creates_committed == 1


def test_retrieve_unknown_partner_is_404(make_sandbox, make_client):
    response = make_client(make_sandbox("dub")).get("/partners/pn_nope")
    assert response.status_code == 404
    assert error_of(response) == ("not_found", "Partner not found.")


def test_name_defaults_to_email_and_country_is_not_checked(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    created = client.post("/partners", json={"email": "b@example.com", "country": "Narnia"}).json()
    assert created["name"] == "b@example.com"
    assert created["country"] == "Narnia"


def test_invalid_json_is_400(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    response = client.post(
        "/partners", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_of(response)[0] == "bad_request"


# --- duplicates ---------------------------------------------------------------------------


def test_same_email_returns_the_existing_partner_unchanged(make_sandbox, make_client):
    sandbox = make_sandbox(
        "dub", seed=[{"email": "ann@example.com", "name": "Ann", "tenantId": "t1"}]
    )
    client = make_client(sandbox)
    first = sandbox.partners()[0]
    response = client.post(
        "/partners", json={"email": "ANN@example.com", "name": "Other", "country": "FR"}
    )
    assert response.status_code == 201
    again = response.json()
    assert again["id"] == first["id"]
    assert again["name"] == "Ann" and again["country"] is None  # the rest is ignored
    assert sandbox.stats.creates_committed == 0
    assert len(sandbox.partners()) == 1


def test_same_tenant_id_returns_the_existing_partner(make_sandbox, make_client):
    sandbox = make_sandbox("dub", seed=[{"email": "ann@example.com", "tenantId": "t1"}])
    response = make_client(sandbox).post(
        "/partners", json={"email": "ann@example.com", "tenantId": "t1"}
    )
    assert response.status_code == 201
    assert response.json()["tenantId"] == "t1"


def test_tenant_id_of_partner_a_with_email_b_returns_partner_a(make_sandbox, make_client):
    sandbox = make_sandbox("dub", seed=[{"email": "a@example.com", "tenantId": "T"}])
    response = make_client(sandbox).post(
        "/partners", json={"email": "b@example.com", "tenantId": "T"}
    )
    assert response.status_code == 201
    assert response.json()["email"] == "a@example.com"  # not the partner that was asked for
    assert len(sandbox.partners()) == 1


def test_tenant_id_taken_by_another_partner_is_409(make_sandbox, make_client):
    sandbox = make_sandbox(
        "dub",
        seed=[
            {"email": "b@example.com", "tenantId": "TB"},
            {"email": "a@example.com", "tenantId": "TA"},
        ],
    )
    response = make_client(sandbox).post(
        "/partners", json={"email": "b@example.com", "tenantId": "TA"}
    )
    assert response.status_code == 409
    assert error_of(response) == (
        "conflict",
        "The tenantId 'TA' is already in associated with another partner in this program.",
    )


def test_new_tenant_id_overwrites_the_existing_one(make_sandbox, make_client):
    sandbox = make_sandbox("dub", seed=[{"email": "a@example.com", "tenantId": "old"}])
    client = make_client(sandbox)
    response = client.post("/partners", json={"email": "a@example.com", "tenantId": "new"})
    assert response.status_code == 201
    assert response.json()["tenantId"] == "new"
    assert sandbox.stats.creates_committed == 1
    assert len(client.get("/partners", params={"tenantId": "new"}).json()) == 1
    assert client.get("/partners", params={"tenantId": "old"}).json() == []


def test_empty_tenant_id_is_stored_and_a_second_one_is_500(make_sandbox, make_client):
    client = make_client(make_sandbox("dub"))
    first = client.post("/partners", json={"email": "a@example.com", "tenantId": ""})
    assert first.status_code == 201 and first.json()["tenantId"] == ""
    second = client.post("/partners", json={"email": "b@example.com", "tenantId": ""})
    assert second.status_code == 500
    assert error_of(second)[0] == "internal_server_error"


def test_partner_limit_is_checked_before_finding_the_existing_partner(make_sandbox, make_client):
    sandbox = make_sandbox("dub", seed=people(2), partners_limit=2)
    response = make_client(sandbox).post("/partners", json={"email": "person0@example.com"})
    assert response.status_code == 403
    code, message = error_of(response)
    assert code == "forbidden" and "partners limit of 2" in message


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "invalid_type: email: Invalid input: expected string, received undefined"),
        ({"email": " a@b.co "}, "invalid_format: email: Invalid email address"),
        ({"email": "no-at-sign"}, "invalid_format: email: Invalid email address"),
        (
            {"email": "a" * 185 + "@b.com"},
            "too_big: email: Too big: expected string to have <=190 characters",
        ),
        (
            {"email": "a@b.co", "name": "n" * 101},
            "too_big: name: Too big: expected string to have <=100 characters",
        ),
        (
            {"email": "a@b.co", "name": "😀" * 51},  # 51 characters, 102 UTF-16 units
            "too_big: name: Too big: expected string to have <=100 characters",
        ),
        (
            {"email": "a@b.co", "tenantId": None},
            "invalid_type: tenantId: Invalid input: expected string, received null",
        ),
        (
            {"email": "a@b.co", "description": "d" * 5001},
            "too_big: description: Too big: expected string to have <=5000 characters",
        ),
        (
            {"email": "a@b.co", "linkProps": {"externalId": ""}},
            "too_small: linkProps.externalId: Too small: expected string to have >=1 characters",
        ),
        (
            {"email": "a@b.co", "linkProps": {"tagIds": 5}},
            "invalid_union: linkProps.tagIds: Invalid input",
        ),
        (
            {
                "email": "a@b.co",
                "linkProps": {"testVariants": [{"url": "https://a.co", "percentage": 50}]},
            },
            "too_small: linkProps.testVariants: Too small: expected array to have >=2 items",
        ),
        (
            {
                "email": "a@b.co",
                "linkProps": {
                    "testVariants": [
                        {"url": "https://a.co/1", "percentage": 5},
                        {"url": "https://a.co/2", "percentage": 95},
                    ]
                },
            },
            "too_small: linkProps.testVariants[0].percentage: "
            "Too small: expected number to be >=10",
        ),
        # Only the first issue is reported: the bad email, not the long name.
        ({"email": "bad", "name": "n" * 101}, "invalid_format: email: Invalid email address"),
    ],
)
def test_validation_reports_the_first_zod_issue(make_sandbox, make_client, body, message):
    response = make_client(make_sandbox("dub")).post("/partners", json=body)
    assert response.status_code == 422
    assert error_of(response) == ("unprocessable_entity", message)
    assert response.json()["error"]["doc_url"] == DOC + "unprocessable-entity"


@pytest.mark.parametrize("username", ["_hidden", ".well-known/x", "index.php", "has space", "a?b"])
def test_username_must_be_url_safe(make_sandbox, make_client, username):
    response = make_client(make_sandbox("dub")).post(
        "/partners", json={"email": "a@b.co", "username": username}
    )
    assert response.status_code == 422
    assert error_of(response)[1].startswith("custom: username: Invalid username")


def test_valid_link_props_and_url_safe_username_are_accepted(make_sandbox, make_client):
    body = {
        "email": "a@b.co",
        "username": "ann-1_x/é.😀",
        "linkProps": {
            "externalId": "ext_123",
            "tagNames": "a,b",
            "testVariants": [
                {"url": "https://a.co/1", "percentage": 10},
                {"url": "https://a.co/2", "percentage": 90},
            ],
        },
    }
    response = make_client(make_sandbox("dub")).post("/partners", json=body)
    assert response.status_code == 201, response.text


# --- listing ------------------------------------------------------------------------------


def test_page_size_over_100_is_422(make_sandbox, make_client):
    response = make_client(make_sandbox("dub")).get("/partners", params={"pageSize": 101})
    assert response.status_code == 422
    assert error_of(response)[1] == "too_big: pageSize: Max page size is 100."


@pytest.mark.parametrize(
    "params", [{"pageSize": 0}, {"page": 0}, {"page": "x"}, {"sortBy": "name"}, {"status": "gone"}]
)
def test_bad_list_parameters_are_422(make_sandbox, make_client, params):
    response = make_client(make_sandbox("dub")).get("/partners", params=params)
    assert response.status_code == 422
    assert error_of(response)[0] == "unprocessable_entity"


def test_list_is_a_bare_array_of_at_most_100_by_default(make_sandbox, make_client):
    client = make_client(make_sandbox("dub", seed=people(130)))
    first = client.get("/partners", params={"sortBy": "createdAt", "sortOrder": "asc"}).json()
    second = client.get(
        "/partners", params={"sortBy": "createdAt", "sortOrder": "asc", "page": 2}
    ).json()
    assert isinstance(first, list) and len(first) == 100 and len(second) == 30
    emails = [p["email"] for p in first + second]
    assert emails == [
        f"person{i}@example.com" for i in range(130)
    ]  # seeds get increasing createdAt


def test_filters_combine(make_sandbox, make_client):
    seed = [
        {"email": "ann@example.com", "name": "Ann Lee", "tenantId": "t1", "country": "US"},
        {
            "email": "bob@example.com",
            "name": "Bob Ray",
            "tenantId": "t2",
            "country": "FR",
            "status": "banned",
        },
        {"email": "cid@example.com", "name": "Cid Lee", "country": "US"},
    ]
    sandbox = make_sandbox("dub", seed=seed)
    client = make_client(sandbox)

    def emails(**params):
        return sorted(p["email"] for p in client.get("/partners", params=params).json())

    assert emails(email="ANN@example.com") == ["ann@example.com"]
    assert emails(email="ann@example.com", tenantId="t2") == []  # AND-combined
    assert emails(tenantId="T1") == []  # case-sensitive
    assert emails(status="banned") == ["bob@example.com"]
    assert emails(country="US") == ["ann@example.com", "cid@example.com"]
    assert emails(country="-US") == ["bob@example.com"]
    assert emails(search="lee") == ["ann@example.com", "cid@example.com"]
    assert emails(search="bob@example.com") == ["bob@example.com"]
    assert emails(search="bob@") == []  # '@' means an exact email
    pid = sandbox.partners()[2]["id"]
    assert emails(search=pid) == ["cid@example.com"]
    count = client.get("/partners/count", params={"country": "US"})
    assert count.json() == 2
    grouped = client.get("/partners/count", params={"groupBy": "country"}).json()
    assert {"country": "US", "_count": 2} in grouped


def test_default_order_shuffles_ties_but_created_at_order_is_stable(make_sandbox, make_client):
    seed = [*people(30), {"email": "top@example.com", "totalSaleAmount": 5000}]
    client = make_client(make_sandbox("dub", seed=seed))
    default_orders = {tuple(p["id"] for p in client.get("/partners").json()) for _ in range(5)}
    assert len(default_orders) > 1  # ties on totalSaleAmount come back in a new order
    assert all(
        order[0] == next(iter(default_orders))[0] for order in default_orders
    )  # the top seller leads
    params = {"sortBy": "createdAt", "sortOrder": "asc"}
    stable = {
        tuple(p["id"] for p in client.get("/partners", params=params).json()) for _ in range(5)
    }
    assert len(stable) == 1


def test_paging_in_default_order_can_miss_partners(make_sandbox, make_client):
    client = make_client(make_sandbox("dub", seed=people(30)))
    missed = 0
    for _ in range(5):
        seen = set()
        for page in (1, 2, 3):
            seen |= {
                p["id"]
                for p in client.get("/partners", params={"pageSize": 10, "page": page}).json()
            }
        missed += 30 - len(seen)
    assert missed > 0


def test_add_partner_during_a_scan_lands_last_in_created_at_order(make_sandbox, make_client):
    sandbox = make_sandbox("dub", seed=people(5))
    client = make_client(sandbox)
    added = sandbox.add_partner({"email": "late@example.com", "tenantId": "late"})
    assert added["tenantId"] == "late"
    ordered = client.get("/partners", params={"sortBy": "createdAt", "sortOrder": "asc"}).json()
    assert ordered[-1]["email"] == "late@example.com"
    with pytest.raises(ValueError, match="already enrolled"):
        sandbox.add_partner({"email": "LATE@example.com"})


def test_created_at_is_strictly_increasing_under_fast_creates(make_sandbox, make_client):
    sandbox = make_sandbox("dub")
    client = make_client(sandbox)
    for i in range(20):
        client.post("/partners", json={"email": f"p{i}@example.com"})
    stamps = [p["createdAt"] for p in sandbox.partners()]
    assert stamps == sorted(set(stamps))


# --- rate limit ---------------------------------------------------------------------------


def test_rate_limit_429_carries_epoch_millisecond_reset(make_sandbox, make_client, limiter_clock):
    # Just after a window boundary: the windows are epoch-aligned whole seconds.
    start = limiter_clock.now + 0.01
    limiter_clock.now = start
    sandbox = make_sandbox("dub", rate_limit=3, window=1.0)
    client = make_client(sandbox)
    window_end_ms = (int(start) + 1) * 1000
    for _ in range(3):
        ok = client.get("/partners")
        assert ok.status_code == 200
        assert not any(h.lower().startswith("x-ratelimit") for h in ok.headers)  # not on successes
        limiter_clock.now += 0.1
    limited = client.get("/partners")
    assert limited.status_code == 429
    assert error_of(limited) == ("rate_limit_exceeded", "Too many requests.")
    # Upstash's reset: the end of the current fixed window, in epoch milliseconds.
    assert int(limited.headers["X-RateLimit-Reset"]) == window_end_ms
    assert limited.headers["Retry-After"] == limited.headers["X-RateLimit-Reset"]
    assert limited.headers["X-RateLimit-Limit"] == "3"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert sandbox.stats.rate_limited == 1
    # Another key has its own window.
    assert make_client(sandbox, token="other").get("/partners").status_code == 200
    # Halfway into the next window the previous one weighs floor(3 * 0.5) = 1: room again.
    limiter_clock.now = window_end_ms / 1000 + 0.5
    assert client.get("/partners").status_code == 200


def test_errors_after_the_limiter_carry_the_limiter_headers(
    make_sandbox, make_client, limiter_clock
):
    client = make_client(make_sandbox("dub", rate_limit=10))
    response = client.post("/partners", json={})
    assert response.status_code == 422
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "9"
