"""PromoteKit's envelopes, pages, refusals and body, from hand-built answers and rows."""

from __future__ import annotations

import pytest
from support.rows import Row, validate_rows

from sync.errors import RejectedError, RetryableProviderError
from sync.mapping_spec import bind_mapping, identity_mapping
from sync.models import Candidate, Status
from sync.providers.promotekit import PromoteKit, named_field, parse_page

PROMOTEKIT = PromoteKit()


def page_body(emails: list[str], *, has_more: bool, total: int) -> dict:
    return {
        "success": True,
        "data": [{"id": f"id-{email}", "email": email, "links": []} for email in emails],
        "pagination": {
            "page": 1,
            "limit": 100,
            "total_count": total,
            "total_pages": 1,
            "has_more": has_more,
        },
    }


def test_a_page_says_whether_more_follow_and_how_many_there_are():
    page = parse_page(page_body(["a@x.com", "b@x.com"], has_more=True, total=150))
    assert page.has_next and page.total == 150
    assert [(p.id, p.email, p.tenant_id) for p in page.partners] == [
        ("id-a@x.com", "a@x.com", None),
        ("id-b@x.com", "b@x.com", None),
    ]
    assert not parse_page(page_body([], has_more=False, total=0)).has_next


@pytest.mark.parametrize(
    "body",
    [
        {"success": False, "error": {"message": "boom", "type": "internal_error"}},
        {"success": True, "data": []},  # no pagination
        {"success": True, "data": {}, "pagination": {}},
        [],
    ],
)
def test_an_answer_that_is_not_a_page_is_retried(body):
    with pytest.raises(RetryableProviderError, match="unexpected answer"):
        parse_page(body)


def test_error_envelopes_read_as_one_line():
    body = {
        "success": False,
        "error": {"message": "Invalid API key", "type": "authentication_error"},
    }
    assert PROMOTEKIT.error_message(401, body) == "authentication_error: Invalid API key"
    assert PROMOTEKIT.is_account_error(401, body)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("An affiliate with email a@x.com already exists", "email"),
        ("payout_email must be a valid email address", "payout_email"),
        ("The ref_code ann is already taken", "ref_code"),
        ("The promo_code SAVE10 is already taken", "promo_code"),
        ("Something else went wrong", None),
    ],
)
def test_the_field_a_message_names(message, field):
    assert named_field(message) == field


def refusal(status: int, message: str, kind: str) -> RejectedError:
    body = {"success": False, "error": {"message": message, "type": kind}}
    return RejectedError(f"promotekit: HTTP {status}", status=status, body=body)


ROW = Candidate(1, {"email": "a@x.com"}, "a@x.com", None)


@pytest.mark.parametrize(
    ("error", "status", "field", "if_not_found"),
    [
        # A taken email: matching is by email, so whoever holds it, the affiliate exists.
        (
            refusal(409, "An affiliate with email a@x.com already exists", "conflict"),
            None,
            "email",
            "exists",
        ),
        # A taken code: a conflict, unless the lookup shows the affiliate is there already.
        (
            refusal(409, "The ref_code ann is already taken", "conflict"),
            None,
            "ref_code",
            "conflict",
        ),
        (
            refusal(409, "The promo_code X is already taken", "conflict"),
            None,
            "promo_code",
            "conflict",
        ),
        (
            refusal(400, "The promo code is already in use", "validation_error"),
            None,
            None,
            "conflict",
        ),
        (
            refusal(400, "first_name is required", "validation_error"),
            "invalid",
            "first_name",
            "failed",
        ),
        (refusal(404, "Campaign 7f0c… not found", "not_found"), "invalid", "campaign_id", "failed"),
        (refusal(402, "Payment required", "billing"), "failed", None, "failed"),
    ],
)
def test_refusals_resolve_by_what_they_name(error, status, field, if_not_found):
    resolution = PROMOTEKIT.resolve_rejection(error, ROW)
    assert resolution.status == (Status(status) if status else None)
    assert resolution.field == field
    assert resolution.if_not_found == Status(if_not_found)


def check(**values):
    bound = bind_mapping(identity_mapping(), list(values), PROMOTEKIT.known_fields())
    return validate_rows([Row(1, values)], bound, PROMOTEKIT.schema, PROMOTEKIT.tenant_field)


def test_a_valid_row_carries_the_documented_defaults():
    (candidate,) = check(
        email="a@example.com", first_name=" Ann ", last_name="Lee", approved="no"
    ).candidates()
    assert candidate.payload == {
        "email": "a@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "approved": False,
        "new_paid_referral_notifications": True,
    }
    assert candidate.tenant_id is None


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "a@example.com", "first_name": "Ann"}, "last_name"),
        ({"email": "a@example.com", "last_name": "Lee"}, "first_name"),
        (
            {"email": "a@example.com", "first_name": "A", "last_name": "L", "campaign_id": "x"},
            "campaign_id",
        ),
        (
            {"email": "a@example.com", "first_name": "A", "last_name": "L", "payout_email": "no"},
            "payout_email",
        ),
    ],
)
def test_invalid_rows_name_their_field(values, field):
    (outcome,) = check(**values).invalid
    assert outcome.field == field
