"""PromoteKit's affiliates API v1 (providers.md section 3), under the base path /api/v1.

Assumptions where PromoteKit publishes nothing: a create answers 201; a taken email,
ref_code or promo_code is a 409 "conflict"; an unknown campaign_id is a 404 "not_found";
lists come newest first, so affiliates added during a scan shift the later pages; a 429
carries no rate-limit headers.
"""

from __future__ import annotations

import copy
import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sync.sandbox.base import (
    ALNUM,
    JSON,
    Emulator,
    Options,
    Reply,
    Request,
    Route,
    bearer_token,
    created_at_of,
    json_reply,
    parse_iso,
    positive_int,
    random_id,
    utc_iso,
)

CREATE_STATUS = 201  # the docs do not say whether a create answers 200 or 201
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
PROGRAM_SITE = "https://sandbox.example.com"
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SERVER_ERRORS = {
    500: ("Internal server error", "internal_error"),
    502: ("Bad gateway", "internal_error"),
    503: ("Service unavailable", "service_unavailable"),
}


def error(status: int, message: str, kind: str) -> Reply:
    return json_reply(status, {"success": False, "error": {"message": message, "type": kind}})


class _Invalid(Exception):
    """The first field of a request body that fails its check."""


def _stamp(moment: datetime) -> str:
    return utc_iso(moment, digits=0)


class PromoteKitEmulator(Emulator):
    """One organisation with one default campaign."""

    name = "promotekit"
    base_path = "/api/v1"
    record_noun = "affiliate"
    default_rate_limit = 200

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.default_campaign = self._campaign(self._uuid(), default=True)
        self._campaigns = {self.default_campaign["id"]: self.default_campaign}
        self._rows: list[dict[str, Any]] = []  # creation order; lists read it newest first
        self._by_id: dict[str, dict[str, Any]] = {}
        self._by_email: dict[str, dict[str, Any]] = {}
        self._ref_codes: set[str] = set()  # lower-cased
        self._promo_codes: set[str] = set()  # lower-cased

    @property
    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/affiliates", self._list),
            Route("POST", "/affiliates", self._create, write=True),
            Route("GET", "/affiliates/{id}", self._retrieve),
        )

    # --- protocol -------------------------------------------------------------------------

    def authenticate(self, request: Request) -> Reply | None:
        if not self.token_accepted(bearer_token(request)):
            return error(401, "Invalid API key", "authentication_error")
        return None

    def server_error(self, status: int) -> Reply:
        text, kind = _SERVER_ERRORS.get(status, _SERVER_ERRORS[500])
        return error(status, text, kind)

    def unknown_route(self, request: Request) -> Reply:
        return error(404, "Not found", "not_found")

    def too_many_requests(self) -> Reply:
        return error(429, "Too many requests", "rate_limit_exceeded")

    def limit_header_units(self, status: int, template: str) -> dict[str, str]:
        return {}  # none documented

    # --- state ----------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _campaign(self, campaign_id: str, *, default: bool) -> dict[str, Any]:
        return {
            "id": campaign_id,
            "name": "Default Campaign" if default else "Campaign",
            "created_at": _stamp(datetime.now(UTC) - timedelta(days=30)),
            "website_url": PROGRAM_SITE,
            "commission_type": "percentage",
            "commission_amount": 30,
            "is_default": default,
            "limit_type": "none",
            "limit_amount": 0,
            "code_mode": "link",
            "reference_coupon": None,
            "custom_commission_type": None,
            "welcome_message": None,
            "approval_needed": False,
            "collect_details": False,
            "details_text": None,
            "hide_emails": False,
            "dashboard_text": None,
            "cookie_duration": 60,
            "first_payment_commission": {"enabled": False, "type": "percentage", "amount": 0},
        }

    def _stored(self) -> list[dict[str, Any]]:
        return self._rows

    def _seed_fields(self, record: dict[str, Any]) -> dict[str, Any]:
        # The codes are shown inside the link and the promo codes, the campaign as an object.
        if record["links"]:
            record["ref_code"] = record["links"][0]["code"]
        if record["promo_codes"]:
            record["promo_code"] = record["promo_codes"][0]["code"]
        record["campaign_id"] = record["campaign"]["id"]
        return record

    def _insert_lenient(
        self, fields: Mapping[str, JSON], created: datetime, what: str
    ) -> dict[str, Any]:
        email = fields.get("email")
        if not isinstance(email, str) or not email.strip():
            raise ValueError(f"{what}: needs an email (a non-empty string)")
        if email.strip().lower() in self._by_email:
            raise ValueError(f"{what}: email {email} is already an affiliate")
        affiliate_id = fields.get("id")
        if affiliate_id is not None and (
            not isinstance(affiliate_id, str) or affiliate_id in self._by_id
        ):
            raise ValueError(f"{what}: id {affiliate_id!r} is not a new string id")
        created = created_at_of(fields, "created_at", created, what)
        campaign_id = fields.get("campaign_id")
        if isinstance(campaign_id, str) and campaign_id not in self._campaigns:
            self._campaigns[campaign_id] = self._campaign(campaign_id, default=False)
        for field, taken in (("ref_code", self._ref_codes), ("promo_code", self._promo_codes)):
            code = fields.get(field)
            if isinstance(code, str) and code.lower() in taken:
                raise ValueError(f"{what}: {field} {code!r} is already taken")
        record = self._new_record(
            {
                "email": email.strip(),
                "first_name": _text(fields.get("first_name")) or "",
                "last_name": _text(fields.get("last_name")) or "",
                "payout_email": _text(fields.get("payout_email")),
                "ref_code": _text(fields.get("ref_code")),
                "promo_code": _text(fields.get("promo_code")),
                "campaign_id": campaign_id if isinstance(campaign_id, str) else None,
                "approved": fields.get("approved", True),
                "details": _text(fields.get("details")),
                "new_paid_referral_notifications": fields.get(
                    "new_paid_referral_notifications", True
                ),
            },
            created,
            affiliate_id if isinstance(affiliate_id, str) else None,
        )
        for field in ("banned", "clicks"):
            if field in fields:
                record[field] = fields[field]
        self._store(record)
        return record

    def _new_record(
        self, fields: Mapping[str, Any], created: datetime, affiliate_id: str | None = None
    ) -> dict[str, Any]:
        code = fields["ref_code"] or self._fresh_ref_code(fields["first_name"])
        promo = fields["promo_code"]
        campaign = self._campaigns[fields["campaign_id"] or self.default_campaign["id"]]
        return {
            "id": affiliate_id or self._uuid(),
            "email": fields["email"],
            "first_name": fields["first_name"],
            "last_name": fields["last_name"],
            "payout_email": fields["payout_email"],
            "links": [{"url": f"{PROGRAM_SITE}?via={code}", "code": code}],
            "promo_codes": (
                [{"code": promo, "external_id": "promo_" + random_id(self.rng, ALNUM, 24)}]
                if promo
                else []
            ),
            "clicks": 0,
            "approved": fields["approved"],
            "banned": False,
            "details": fields["details"],
            "new_paid_referral_notifications": fields["new_paid_referral_notifications"],
            "created_at": _stamp(created),
            "campaign": copy.deepcopy(campaign),
        }

    def _fresh_ref_code(self, first_name: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "", first_name.lower()) or "ref"
        code = base
        while code in self._ref_codes:
            code = f"{base}{random_id(self.rng, '0123456789', 4)}"
        return code

    def _store(self, record: dict[str, Any]) -> None:
        self._rows.append(record)
        self._by_id[record["id"]] = record
        self._by_email[record["email"].lower()] = record
        for link in record["links"]:
            self._ref_codes.add(link["code"].lower())
        for promo in record["promo_codes"]:
            self._promo_codes.add(promo["code"].lower())

    # --- POST /affiliates -----------------------------------------------------------------

    def _create(self, request: Request) -> Reply:
        try:
            body = json.loads(request.body)
        except ValueError:
            return error(400, "Request body must be valid JSON", "validation_error")
        try:
            fields = _validate(body)
        except _Invalid as exc:
            return error(400, str(exc), "validation_error")
        with self.lock:
            campaign_id = fields["campaign_id"]
            if campaign_id is not None and campaign_id not in self._campaigns:
                return error(404, f"Campaign {campaign_id} not found", "not_found")
            email: str = fields["email"]
            if email.lower() in self._by_email:
                return error(409, f"An affiliate with email {email} already exists", "conflict")
            for field, taken in (("ref_code", self._ref_codes), ("promo_code", self._promo_codes)):
                code = fields[field]
                if code is not None and code.lower() in taken:
                    return error(409, f"The {field} {code} is already taken", "conflict")
            record = self._new_record(fields, datetime.now(UTC))
            self._store(record)
            return json_reply(
                CREATE_STATUS, {"success": True, "data": copy.deepcopy(record)}, committed=True
            )

    # --- reads ----------------------------------------------------------------------------

    def _list(self, request: Request) -> Reply:
        try:
            limit = _bounded_int(request.arg("limit"), "limit", DEFAULT_LIMIT, MAX_LIMIT)
            page = _bounded_int(request.arg("page"), "page", 1, None)
        except _Invalid as exc:
            return error(400, str(exc), "validation_error")
        email = request.arg("email")
        ref_code = request.arg("ref_code")
        promo_code = request.arg("promo_code")
        campaign_id = request.arg("campaign_id")
        with self.lock:
            ranked = list(enumerate(self._rows))
        ranked.sort(key=lambda pair: (parse_iso(pair[1]["created_at"]), pair[0]), reverse=True)
        rows = []
        for _, row in ranked:
            if email is not None and row["email"].lower() != email.strip().lower():
                continue
            if ref_code is not None and not _has_code(row["links"], ref_code):
                continue
            if promo_code is not None and not _has_code(row["promo_codes"], promo_code):
                continue
            if campaign_id is not None and row["campaign"]["id"] != campaign_id:
                continue
            rows.append(row)
        start = (page - 1) * limit
        total = len(rows)
        return json_reply(
            200,
            {
                "success": True,
                "data": copy.deepcopy(rows[start : start + limit]),
                "pagination": {
                    "page": page,
                    "limit": limit,
                    "total_count": total,
                    "total_pages": math.ceil(total / limit),
                    "has_more": start + limit < total,
                },
            },
        )

    def _retrieve(self, request: Request) -> Reply:
        with self.lock:
            row = self._by_id.get(request.params["id"])
            found = copy.deepcopy(row) if row else None
        if found is None:
            return error(404, "Affiliate not found", "not_found")
        return json_reply(200, {"success": True, "data": found})


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _has_code(entries: Sequence[Mapping[str, Any]], code: str) -> bool:
    return any(str(entry["code"]).lower() == code.strip().lower() for entry in entries)


def _bounded_int(raw: str | None, name: str, default: int, high: int | None) -> int:
    if raw is None:
        return default
    try:
        return positive_int(raw, name, high)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None


def _optional(body: Mapping[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        article = "a boolean" if kind is bool else "a string"
        raise _Invalid(f"{name} must be {article}")
    return value


def _validate(body: object) -> dict[str, Any]:
    """Check a POST /affiliates body field by field; the first failure names its field."""
    if not isinstance(body, dict):
        raise _Invalid("Request body must be a JSON object")
    email = body.get("email")
    if not isinstance(email, str) or not email.strip():
        raise _Invalid("email is required")
    if not _EMAIL.fullmatch(email.strip()):
        raise _Invalid("email must be a valid email address")
    names = {}
    for name in ("first_name", "last_name"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            raise _Invalid(f"{name} is required")
        names[name] = value.strip()
    payout = _optional(body, "payout_email", str)
    if payout is not None and not _EMAIL.fullmatch(payout.strip()):
        raise _Invalid("payout_email must be a valid email address")
    ref_code = _optional(body, "ref_code", str)
    promo_code = _optional(body, "promo_code", str)
    for name, code in (("ref_code", ref_code), ("promo_code", promo_code)):
        if code is not None and not code.strip():
            raise _Invalid(f"{name} must not be empty")
    campaign_id = _optional(body, "campaign_id", str)
    if campaign_id is not None and not _UUID.fullmatch(campaign_id):
        raise _Invalid("campaign_id must be a valid UUID")
    approved = _optional(body, "approved", bool)
    details = _optional(body, "details", str)
    notify = _optional(body, "new_paid_referral_notifications", bool)
    return {
        "email": email.strip(),
        **names,
        "payout_email": payout.strip() if payout else None,
        "ref_code": ref_code.strip() if ref_code else None,
        "promo_code": promo_code.strip() if promo_code else None,
        "campaign_id": campaign_id,
        "approved": True if approved is None else approved,
        "details": details,
        "new_paid_referral_notifications": True if notify is None else notify,
    }
