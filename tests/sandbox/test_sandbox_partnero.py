"""The Partnero emulation: Laravel-style auth, validation, simple pagination and lookups."""

from __future__ import annotations

import pytest
from support.sandboxes import people


def test_missing_or_wrong_token_is_401(make_sandbox, make_client):
    sandbox = make_sandbox("partnero", api_key="right")
    for client in (make_client(sandbox, token=None), make_client(sandbox, token="wrong")):
        response = client.get("/v1/partners")
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthenticated."}
    assert make_client(sandbox, token="right").get("/v1/partners").status_code == 200


def test_unknown_route_is_404(make_sandbox, make_client):
    response = make_client(make_sandbox("partnero")).get("/v1/customers")
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}


def test_create_returns_the_documented_record(make_sandbox, make_client):
    sandbox = make_sandbox("partnero")
    client = make_client(sandbox)
    response = client.post(
        "/v1/partners",
        json={
            "email": "john@example.com",
            "name": "John",
            "surname": "Doe",
            "password": "Secret123",
            "id": "partner_123",
            "key": "ref_123",
            "tags": ["new", "premium"],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == 1
    data = body["data"]
    assert set(data) == {
        "email",
        "created_at",
        "updated_at",
        "name",
        "id",
        "surname",
        "tos",
        "approved",
        "status",
        "custom_fields",
        "referrals_count",
        "tags",
        "referral_link",
        "referral_links",
    }
    assert data["id"] == "partner_123"
    assert data["status"] == "active" and data["approved"] is True
    assert data["tags"] == [{"value": "new"}, {"value": "premium"}]
    assert data["referral_link"].endswith("?aff=ref_123")
    assert "password" not in response.text
    assert data["created_at"].endswith("Z") and len(data["created_at"]) == len(
        "2025-04-30T16:44:13.000000Z"
    )
    assert sandbox.stats.creates_committed == 1


def test_generated_id_and_key_are_unique(make_sandbox, make_client):
    client = make_client(make_sandbox("partnero"))
    first = client.post("/v1/partners", json={"email": "a@example.com"}).json()["data"]
    second = client.post("/v1/partners", json={"email": "b@example.com"}).json()["data"]
    assert first["id"] != second["id"]
    assert first["referral_link"] != second["referral_link"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"email": "TAKEN@example.com"}, "email", "Email already exists"),
        ({"email": "new@example.com", "id": "p1"}, "id", "ID already exists"),
        ({"email": "new@example.com", "key": "k1"}, "key", "Key already exists"),
        ({}, "email", "The email field is required."),
        ({"email": "nope"}, "email", "The email field must be a valid email address."),
        ({"email": "new@example.com", "tags": "vip"}, "tags", "The tags field must be an array."),
    ],
)
def test_validation_errors_are_laravel_422s(make_sandbox, make_client, body, field, message):
    sandbox = make_sandbox(
        "partnero", seed=[{"email": "taken@example.com", "id": "p1", "key": "k1"}]
    )
    response = make_client(sandbox).post("/v1/partners", json=body)
    assert response.status_code == 422
    assert response.json() == {"message": message, "errors": {field: [message]}}
    assert len(sandbox.partners()) == 1


def test_password_policy(make_sandbox, make_client):
    client = make_client(make_sandbox("partnero"))
    response = client.post("/v1/partners", json={"email": "a@example.com", "password": "short"})
    assert response.status_code == 422
    body = response.json()
    assert (
        body["message"] == "The password field must be at least 8 characters. (and 2 more errors)"
    )
    assert body["errors"]["password"] == [
        "The password field must be at least 8 characters.",
        "The password field must contain at least one uppercase and one lowercase letter.",
        "The password field must contain at least one number.",
    ]
    weak = client.post("/v1/partners", json={"email": "a@example.com", "password": "alllowercase1"})
    assert weak.status_code == 422
    assert (
        client.post(
            "/v1/partners", json={"email": "a@example.com", "password": "Strong123"}
        ).status_code
        == 201
    )


def test_unparseable_body_reads_as_no_input(make_sandbox, make_client):
    client = make_client(make_sandbox("partnero"))
    response = client.post(
        "/v1/partners", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"email": ["The email field is required."]}


def test_surrounding_spaces_are_trimmed(make_sandbox, make_client):
    client = make_client(make_sandbox("partnero"))
    data = client.post("/v1/partners", json={"email": "  a@example.com ", "name": ""}).json()[
        "data"
    ]
    assert data["email"] == "a@example.com"
    assert data["name"] is None


def test_referring_partner_must_exist(make_sandbox, make_client):
    client = make_client(
        make_sandbox("partnero", seed=[{"email": "boss@example.com", "key": "boss"}])
    )
    missing = client.post(
        "/v1/partners", json={"email": "a@example.com", "referring_partner": {"key": "nobody"}}
    )
    assert missing.status_code == 400
    assert missing.json() == {"message": "Referring partner not found"}
    found = client.post(
        "/v1/partners",
        json={"email": "a@example.com", "referring_partner": {"email": "BOSS@example.com"}},
    )
    assert found.status_code == 201


def test_list_pages_until_links_next_is_null(make_sandbox, make_client):
    sandbox = make_sandbox("partnero", seed=people(40))
    client = make_client(sandbox)
    first = client.get("/v1/partners").json()
    assert len(first["data"]) == 15  # the default limit
    assert first["meta"] == {
        "current_page": 1,
        "from": 1,
        "path": f"{sandbox.base_url}/v1/partners",
        "per_page": 15,
        "to": 15,
    }
    assert first["links"]["last"] is None and first["links"]["prev"] is None
    emails, url = [], f"{sandbox.base_url}/v1/partners?limit=12"
    while url:
        page = client.get(url).json()
        emails += [p["email"] for p in page["data"]]
        url = page["links"]["next"]
    assert emails == [f"person{i}@example.com" for i in range(40)]  # creation order
    last = client.get("/v1/partners", params={"limit": 12, "page": 4}).json()
    assert last["meta"]["from"] == 37 and last["meta"]["to"] == 40
    assert "limit=12" in last["links"]["prev"]
    beyond = client.get("/v1/partners", params={"page": 9}).json()
    assert beyond["data"] == [] and beyond["meta"]["from"] is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 251}, "The limit field must be between 1 and 250."),
        ({"limit": 0}, "The limit field must be between 1 and 250."),
        ({"limit": "ten"}, "The limit field must be an integer."),
        ({"page": 0}, "The page field must be at least 1."),
    ],
)
def test_bad_paging_parameters_are_422(make_sandbox, make_client, params, message):
    response = make_client(make_sandbox("partnero")).get("/v1/partners", params=params)
    assert response.status_code == 422
    assert response.json()["message"] == message


def test_get_by_id(make_sandbox, make_client):
    client = make_client(make_sandbox("partnero", seed=[{"email": "a@example.com", "id": "p1"}]))
    found = client.get("/v1/partners/p1")
    assert found.status_code == 200
    assert found.json()["data"]["email"] == "a@example.com"
    missing = client.get("/v1/partners/p2")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Partner not found"}


def test_lookup_by_email_key_or_id(make_sandbox, make_client):
    sandbox = make_sandbox("partnero", seed=[{"email": "a@example.com", "id": "p1", "key": "ka"}])
    client = make_client(sandbox)
    for params in ({"email": "A@EXAMPLE.COM"}, {"key": "ka"}, {"id": "p1"}):
        response = client.get("/v1/partner", params=params)
        assert response.status_code == 200
        assert response.json()["data"]["id"] == "p1"
    assert client.get("/v1/partner", params={"email": "b@example.com"}).status_code == 404
    assert sandbox.stats.requests[("GET", "/v1/partner")] == 4


def test_lookup_can_be_switched_off(make_sandbox, make_client):
    client = make_client(
        make_sandbox("partnero", seed=[{"email": "a@example.com"}], email_lookup=False)
    )
    response = client.get("/v1/partner", params={"email": "a@example.com"})
    assert response.status_code == 404
    assert response.json() == {"message": "Not found"}


def test_search_matches_partially(make_sandbox, make_client):
    seed = [{"email": "anna@shop.com", "key": "anna1"}, {"email": "bob@shop.com", "key": "bobby"}]
    client = make_client(make_sandbox("partnero", seed=seed))
    found = client.get("/v1/partners:search", params={"email": "SHOP"}).json()
    assert [p["email"] for p in found["data"]] == ["anna@shop.com", "bob@shop.com"]
    by_key = client.get("/v1/partners:search", params={"key": "bob"}).json()
    assert [p["email"] for p in by_key["data"]] == ["bob@shop.com"]
    assert client.get("/v1/partners:search").status_code == 422


def test_invite_creates_a_pending_partner_once(make_sandbox, make_client):
    sandbox = make_sandbox("partnero", seed=[{"email": "member@example.com"}])
    client = make_client(sandbox)
    response = client.post(
        "/v1/partners:invite",
        json={"email": "jane@example.com", "name": "Jane", "surname": "Smith"},
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["status"] == "pending" and data["approved"] is False
    assert data["name"] == "Jane" and data["surname"] == "Smith"
    listed = [p["email"] for p in client.get("/v1/partners").json()["data"]]
    assert listed == ["member@example.com", "jane@example.com"]
    for email in ("jane@example.com", "MEMBER@example.com"):
        again = client.post("/v1/partners:invite", json={"email": email, "name": "X"})
        assert again.status_code == 422
        assert again.json()["errors"]["email"] == ["Email already exists"]
    # An invitee is a partner row too: creating the same email is refused.
    assert client.post("/v1/partners", json={"email": "jane@example.com"}).status_code == 422
    nameless = client.post("/v1/partners:invite", json={"email": "new@example.com"})
    assert nameless.json()["errors"] == {"name": ["The name field is required."]}
    assert sandbox.stats.creates_committed == 1


def test_rate_limit_headers_are_laravel_style(make_sandbox, make_client, limiter_clock):
    sandbox = make_sandbox("partnero", rate_limit=2, window=5.0)
    client = make_client(sandbox)
    first = client.get("/v1/partners")
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert "Retry-After" not in first.headers
    limiter_clock.now += 1
    client.get("/v1/partners")
    limiter_clock.now += 1
    limited = client.get("/v1/partners")
    assert limited.status_code == 429
    assert limited.json() == {"message": "Too Many Attempts."}
    # The refused request is logged too: the next fits once the first two have left the
    # window, 4 s after the refused one.
    assert limited.headers["Retry-After"] == "4"  # seconds
    assert int(limited.headers["X-RateLimit-Reset"]) == limiter_clock.now + 4  # epoch seconds
    assert limited.headers["X-RateLimit-Remaining"] == "0"


def test_partner_records_from_seed_and_ui(make_sandbox):
    sandbox = make_sandbox(
        "partnero",
        seed=[{"email": "a@example.com", "created_at": "2024-01-02T03:04:05Z", "tags": ["x"]}],
    )
    assert sandbox.partners()[0]["created_at"] == "2024-01-02T03:04:05.000000Z"
    assert sandbox.partners()[0]["tags"] == [{"value": "x"}]
    added = sandbox.add_partner({"email": "b@example.com", "name": "B"})
    assert added["status"] == "active"
    with pytest.raises(ValueError, match="already a partner"):
        sandbox.add_partner({"email": "B@example.com"})
