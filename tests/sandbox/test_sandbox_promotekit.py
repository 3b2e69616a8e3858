"""The PromoteKit emulation: envelope, validation, conflicts, newest-first paging."""

from __future__ import annotations

import re

import pytest
from support.sandboxes import people

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def affiliate(email: str, **extra):
    return {"email": email, "first_name": "Ann", "last_name": "Lee", **extra}


def test_base_url_carries_the_api_path(make_sandbox, make_client):
    sandbox = make_sandbox("promotekit")
    assert sandbox.base_url.endswith("/api/v1")
    root = sandbox.base_url.removesuffix("/api/v1")
    response = make_client(sandbox).get(f"{root}/affiliates")
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": {"message": "Not found", "type": "not_found"},
    }


def test_bad_token_is_401(make_sandbox, make_client):
    sandbox = make_sandbox("promotekit", api_key="right")
    for client in (make_client(sandbox, token=None), make_client(sandbox, token="wrong")):
        response = client.get("/affiliates")
        assert response.status_code == 401
        assert response.json() == {
            "success": False,
            "error": {"message": "Invalid API key", "type": "authentication_error"},
        }


def test_create_then_get(make_sandbox, make_client):
    sandbox = make_sandbox("promotekit")
    client = make_client(sandbox)
    response = client.post(
        "/affiliates",
        json=affiliate(
            "ann@example.com", ref_code="ann", promo_code="ANN10", details="hi", approved=False
        ),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert UUID.fullmatch(data["id"])
    assert data["links"] == [{"url": "https://sandbox.example.com?via=ann", "code": "ann"}]
    assert data["promo_codes"][0]["code"] == "ANN10"
    assert data["approved"] is False and data["banned"] is False and data["clicks"] == 0
    assert data["new_paid_referral_notifications"] is True
    assert data["campaign"]["is_default"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["created_at"])
    fetched = client.get(f"/affiliates/{data['id']}").json()
    assert fetched == {"success": True, "data": data}
    missing = client.get("/affiliates/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found"


def test_campaign_id_must_name_a_campaign(make_sandbox, make_client):
    sandbox = make_sandbox("promotekit")
    client = make_client(sandbox)
    default = client.post("/affiliates", json=affiliate("a@example.com")).json()["data"][
        "campaign"
    ]["id"]
    chosen = client.post("/affiliates", json=affiliate("b@example.com", campaign_id=default))
    assert chosen.status_code == 201
    unknown = client.post(
        "/affiliates",
        json=affiliate("c@example.com", campaign_id="78614b6c-fe7c-41e2-8e25-c9b3a3c91904"),
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "not_found"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"first_name": "A", "last_name": "B"}, "email is required"),
        (affiliate("not-an-email"), "email must be a valid email address"),
        ({"email": "a@example.com", "last_name": "B"}, "first_name is required"),
        ({"email": "a@example.com", "first_name": "A", "last_name": " "}, "last_name is required"),
        (
            affiliate("a@example.com", payout_email="nope"),
            "payout_email must be a valid email address",
        ),
        (affiliate("a@example.com", campaign_id="123"), "campaign_id must be a valid UUID"),
        (affiliate("a@example.com", approved="yes"), "approved must be a boolean"),
    ],
)
def test_validation_errors_name_the_field(make_sandbox, make_client, body, message):
    response = make_client(make_sandbox("promotekit")).post("/affiliates", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": {"message": message, "type": "validation_error"},
    }


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (affiliate("TAKEN@example.com"), "taken@example.com"),
        (affiliate("new@example.com", ref_code="TAKEN"), "ref_code"),
        (affiliate("new@example.com", promo_code="save10"), "promo_code"),
    ],
)
def test_taken_email_ref_code_or_promo_code_is_409(make_sandbox, make_client, body, named):
    seed = [affiliate("taken@example.com", ref_code="taken", promo_code="SAVE10")]
    sandbox = make_sandbox("promotekit", seed=seed)
    response = make_client(sandbox).post("/affiliates", json=body)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["type"] == "conflict"
    assert named in error["message"].lower()
    assert len(sandbox.partners()) == 1


def test_list_is_newest_first_with_pagination(make_sandbox, make_client):
    sandbox = make_sandbox("promotekit", seed=people(25))
    client = make_client(sandbox)
    first = client.get("/affiliates").json()
    assert len(first["data"]) == 10  # default limit
    assert first["data"][0]["email"] == "person24@example.com"
    assert first["pagination"] == {
        "page": 1,
        "limit": 10,
        "total_count": 25,
        "total_pages": 3,
        "has_more": True,
    }
    last = client.get("/affiliates", params={"page": 3}).json()
    assert len(last["data"]) == 5 and last["pagination"]["has_more"] is False


def test_affiliates_added_during_a_scan_shift_later_pages(make_sandbox, make_client):
    sandbox = make_sandbox("promotekit", seed=people(10))
    client = make_client(sandbox)
    page1 = client.get("/affiliates", params={"limit": 5}).json()["data"]
    sandbox.add_partner({"email": "late@example.com", "first_name": "Late", "last_name": "Comer"})
    page2 = client.get("/affiliates", params={"limit": 5, "page": 2}).json()["data"]
    assert page2[0]["email"] == page1[-1]["email"]  # seen twice; the newcomer was never seen


def test_list_filters(make_sandbox, make_client):
    seed = [
        affiliate("ann@example.com", ref_code="ann", promo_code="ANN10"),
        affiliate("bob@example.com"),
    ]
    client = make_client(make_sandbox("promotekit", seed=seed))

    def emails(**params):
        return [a["email"] for a in client.get("/affiliates", params=params).json()["data"]]

    assert emails(email="ANN@example.com") == ["ann@example.com"]
    assert emails(email="nobody@example.com") == []
    assert emails(ref_code="ann") == ["ann@example.com"]
    assert emails(promo_code="ann10") == ["ann@example.com"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"page": 0}, {"limit": "x"}])
def test_bad_paging_is_400(make_sandbox, make_client, params):
    response = make_client(make_sandbox("promotekit")).get("/affiliates", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "validation_error"


def test_rate_limit_answers_without_headers(make_sandbox, make_client):
    client = make_client(make_sandbox("promotekit", rate_limit=1, window=30))
    assert client.get("/affiliates").status_code == 200
    limited = client.get("/affiliates")
    assert limited.status_code == 429
    assert limited.json() == {
        "success": False,
        "error": {"message": "Too many requests", "type": "rate_limit_exceeded"},
    }
    assert "Retry-After" not in limited.headers
    assert not any(h.lower().startswith("x-ratelimit") for h in limited.headers)
