"""Partnero's pages, refusals and bodies, from hand-built answers and rows (no I/O)."""

from __future__ import annotations

import asyncio

import pytest
from support.rows import Row, validate_rows

from sync.errors import RejectedError, RetryableProviderError
from sync.mapping_spec import bind_mapping, identity_mapping
from sync.models import Candidate, RemotePartner, Status
from sync.providers.partnero import Partnero, PartneroInvitation
from sync.providers.partnero_answers import parse_page, taken_fields

PARTNERO = Partnero()


def record(n: int) -> dict:
    return {"id": f"p{n}", "email": f"p{n}@example.com", "name": "P", "status": "active"}


def page_body(records: list[dict], next_url: str | None) -> dict:
    return {
        "data": records,
        "links": {"first": "…?page=1", "last": None, "prev": None, "next": next_url},
        "meta": {"current_page": 1, "per_page": 100},
        "status": 1,
    }


def test_a_page_follows_links_next_and_its_ids_are_tenant_ids():
    page = parse_page(
        page_body([record(1), record(2)], "https://api.partnero.com/v1/partners?page=2")
    )
    assert page.has_next and page.total is None
    assert page.partners[0] == RemotePartner("p1", "p1@example.com", "p1", None)
    last = parse_page(page_body([record(3)], None))
    assert not last.has_next and len(last.partners) == 1


@pytest.mark.parametrize("body", [None, [], {"data": {"id": 1}}, {"status": 1}, "<html>"])
def test_an_answer_that_is_not_a_page_is_retried(body):
    with pytest.raises(RetryableProviderError, match="unexpected answer"):
        parse_page(body)


@pytest.mark.parametrize(
    ("body", "taken"),
    [
        (
            {
                "message": "The email has already been taken. (and 1 more error)",
                "errors": {
                    "email": ["The email has already been taken."],
                    "key": ["The key has already been taken."],
                },
            },
            {"email", "key"},
        ),
        ({"message": "ID already exists"}, {"id"}),  # the seed page's wording
        ({"message": "Email already exists"}, {"email"}),
        ({"message": "x", "errors": {"password": ["The password field must be..."]}}, set()),
        ("not json", set()),
    ],
)
def test_taken_fields_read_both_wordings(body, taken):
    assert taken_fields(body) == taken


def refusal(status: int, body: object) -> RejectedError:
    return RejectedError(f"partnero: HTTP {status}", status=status, body=body)


def laravel(**errors: str) -> dict:
    return {"message": next(iter(errors.values())), "errors": {k: [v] for k, v in errors.items()}}


WITH_ID = Candidate(1, {"email": "a@x.com", "id": "crm-1"}, "a@x.com", "crm-1")
WITHOUT_ID = Candidate(2, {"email": "b@x.com"}, "b@x.com", None)
TAKEN = "has already been taken."


@pytest.mark.parametrize(
    ("error", "candidate", "status", "field", "if_not_found"),
    [
        # A taken email: look it up; nobody found means another id's partner (or, without an
        # id of our own, the partner).
        (refusal(422, laravel(email=f"The email {TAKEN}")), WITH_ID, None, "email", "conflict"),
        (refusal(422, laravel(email=f"The email {TAKEN}")), WITHOUT_ID, None, "email", "exists"),
        (
            refusal(422, laravel(email=f"The email {TAKEN}", id=f"The id {TAKEN}")),
            WITH_ID,
            None,
            "email",
            "conflict",
        ),
        (refusal(422, laravel(id=f"The id {TAKEN}")), WITH_ID, None, "id", "conflict"),
        # The texts of the create page's error table, with or without Laravel's `errors`.
        (refusal(422, laravel(email="Email already exists")), WITH_ID, None, "email", "conflict"),
        (refusal(422, laravel(id="ID already exists")), WITH_ID, None, "id", "conflict"),
        (refusal(422, laravel(key="Key already exists")), WITH_ID, None, "key", "conflict"),
        (refusal(422, {"message": "Email already exists"}), WITHOUT_ID, None, "email", "exists"),
        (refusal(422, {"message": "Key already exists"}), WITH_ID, None, "key", "conflict"),
        # Only the key: the email and id are free, so the key is someone else's (once the
        # lookup has not found the partner).
        (refusal(422, laravel(key=f"The key {TAKEN}")), WITH_ID, None, "key", "conflict"),
        (
            refusal(422, laravel(name="The name field must be a string.")),
            WITH_ID,
            "invalid",
            "name",
            "failed",
        ),
        (
            refusal(400, {"message": "Referring partner not found"}),
            WITH_ID,
            "invalid",
            "referring_partner",
            "failed",
        ),
        (refusal(404, {"message": "Not found"}), WITH_ID, "failed", None, "failed"),
    ],
)
def test_refusals_resolve_by_what_is_taken(error, candidate, status, field, if_not_found):
    resolution = PARTNERO.resolve_rejection(error, candidate)
    assert resolution.status == (Status(status) if status else None)
    assert resolution.field == field
    assert resolution.if_not_found == Status(if_not_found)


def check(schema=None, tenant_field="id", **values):
    bound = bind_mapping(identity_mapping(), list(values), PARTNERO.known_fields())
    return validate_rows([Row(1, values)], bound, schema or PARTNERO.schema, tenant_field)


def test_a_valid_row_is_sent_with_its_id_and_tags():
    (candidate,) = check(
        email=" ann@example.com ", name="Ann", id="crm-1", tags="a, b,"
    ).candidates()
    assert candidate.payload == {
        "email": "ann@example.com",
        "name": "Ann",
        "id": "crm-1",
        "tags": ["a", "b"],
    }
    assert candidate.tenant_id == "crm-1"


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("short1A", ["at least 8 characters"]),
        ("alllowercase1", ["an uppercase letter"]),
        ("ALLUPPERCASE1", ["a lowercase letter"]),
        ("NoDigitsHere", ["a digit"]),
        ("nothing", ["at least 8", "an uppercase letter", "a digit"]),
    ],
)
def test_the_password_policy_says_what_is_missing_but_never_the_password(password, missing):
    result = check(email="a@example.com", password=password)
    (outcome,) = result.invalid
    assert outcome.field == "password"
    assert all(part in outcome.message for part in missing)
    assert password not in outcome.message


def test_a_good_password_is_sent_as_given_and_hidden_from_reprs():
    password = " Spaces0k and all "  # Partnero does not trim passwords
    (candidate,) = check(email="a@example.com", password=password).candidates()
    assert candidate.payload["password"] == password
    model = PARTNERO.schema.model_validate({"email": "a@example.com", "password": password})
    assert password not in repr(model) and password not in str(model)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"email": "a@example.com", "id": "a/b"}, "id"),
        ({"email": "x" * 250 + "@example.com"}, "email"),
        ({"email": "a@example.com", "name": "n" * 256}, "name"),
        ({"email": "a@example.com", "tags": "ok," + "t" * 256}, "tags.1"),
    ],
)
def test_invalid_rows_name_their_field(values, field):
    (outcome,) = check(**values).invalid
    assert outcome.field == field


def test_a_referring_partner_needs_one_of_its_keys():
    model = PARTNERO.schema
    assert model.model_validate(
        {"email": "a@example.com", "referring_partner": {"email": "boss@example.com"}}
    )
    with pytest.raises(ValueError, match="needs an id, a key or an email"):
        model.model_validate({"email": "a@example.com", "referring_partner": {}})
    assert "referring_partner.email" in PARTNERO.known_fields()


def test_an_invitation_needs_a_name_and_leaves_the_other_fields_out():
    result = check(
        PartneroInvitation, None, email="a@example.com", name="Ann", id="crm-1", tags="x"
    )
    (candidate,) = result.candidates()
    assert candidate.payload == {"email": "a@example.com", "name": "Ann"}
    assert candidate.tenant_id is None
    (outcome,) = check(PartneroInvitation, None, email="b@example.com").invalid
    assert outcome.field == "name" and "required" in outcome.message


class FakeHTTP:
    """Answers GETs from a function of (path, params); a None answer is a 404."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list[tuple[str, dict]] = []

    async def request(self, method, path, *, params=None, json=None, kind):
        self.calls.append((path, dict(params or {})))
        body = self.answer(path, params or {})
        if body is None:
            raise RejectedError("partnero: HTTP 404", status=404, body={"message": "Not found"})
        return body


FIRST = record(1)


def listing_then(route):
    def answer(path, params):
        if path == "/v1/partners":
            return page_body([FIRST], None)
        return route(params)

    return answer


@pytest.mark.parametrize(
    ("route", "usable"),
    [
        (lambda p: {"data": FIRST, "status": 1} if p["email"] == FIRST["email"] else None, True),
        (lambda p: None, False),  # no such route: 404 even for a partner that exists
        (lambda p: {"data": FIRST, "status": 1}, False),  # ignores the email it is given
        (lambda p: {"data": [FIRST], "status": 1}, False),  # not the shape n8n reads
        (lambda p: {"data": record(2), "status": 1}, False),  # someone else
    ],
    ids=["works", "missing", "ignores-email", "list-shape", "wrong-partner"],
)
def test_the_email_route_is_used_only_once_it_proves_itself(route, usable):
    provider = Partnero()
    http = FakeHTTP(listing_then(route))
    asyncio.run(provider.probe(http))  # type: ignore[arg-type]
    assert provider.email_lookup is usable
    assert provider.lookup_calls_per_row == (1 if usable else 0)


def test_an_empty_program_cannot_prove_the_email_route():
    provider = Partnero()
    http = FakeHTTP(lambda path, params: page_body([], None))
    asyncio.run(provider.probe(http))  # type: ignore[arg-type]
    assert not provider.email_lookup and len(http.calls) == 1
