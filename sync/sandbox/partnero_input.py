"""Partnero's input as its Laravel app reads it: the default middleware (strings trimmed, empty
strings null, passwords left alone), the validation rules with Laravel's messages, and its 422.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from sync.sandbox.base import JSON, Reply, Request, json_reply

# Laravel's `email` rule (RFC validation) is lenient: one @ with something on both sides.
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")
# Laravel's TrimStrings leaves passwords alone.
_UNTRIMMED = frozenset({"password"})


def message(text: str, status: int) -> Reply:
    return json_reply(status, {"message": text})


def validation_error(errors: Mapping[str, list[str]]) -> Reply:
    """Laravel's 422: the first message, a count of the others, and every message by field."""
    messages = [text for texts in errors.values() for text in texts]
    summary = messages[0]
    others = len(messages) - 1
    if others:
        summary += f" (and {others} more error{'s' if others > 1 else ''})"
    return json_reply(422, {"message": summary, "errors": dict(errors)})


def _clean_input(value: JSON, key: str = "") -> JSON:
    """Laravel's default input middleware: strings trimmed, empty strings become null."""
    if isinstance(value, dict):
        return {k: _clean_input(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_input(v) for v in value]
    if isinstance(value, str):
        text = value if key in _UNTRIMMED else value.strip()
        return text or None
    return value


def request_input(request: Request) -> dict[str, Any]:
    """The request's JSON object; a body that is not one reads as no input, as in Laravel."""
    try:
        body = json.loads(request.body) if request.body else {}
    except ValueError:
        return {}
    cleaned = _clean_input(body)
    return cleaned if isinstance(cleaned, dict) else {}


# The create page's error table (seed 003), in place of Laravel's "has already been taken".
_TAKEN_MESSAGE = {
    "email": "Email already exists",
    "id": "ID already exists",
    "key": "Key already exists",
}


class Rules:
    """Collects Laravel-style messages, field by field, in the order rules are applied."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, list[str]] = {}

    def fail(self, field: str, text: str) -> None:
        self.errors.setdefault(field, []).append(text)

    def string(self, field: str, *, required: bool = False, max_len: int = 255) -> str | None:
        label = field.replace("_", " ")
        value = self.data.get(field)
        if value is None:
            if required:
                self.fail(field, f"The {label} field is required.")
            return None
        if not isinstance(value, str):
            self.fail(field, f"The {label} field must be a string.")
            return None
        if len(value) > max_len:
            self.fail(field, f"The {label} field must not be greater than {max_len} characters.")
            return None
        return value

    def email(self, field: str, *, required: bool) -> str | None:
        value = self.string(field, required=required)
        if value is not None and not _EMAIL.fullmatch(value):
            self.fail(field, f"The {field} field must be a valid email address.")
            return None
        return value

    def unique(self, field: str, value: str | None, taken: Callable[[str], bool]) -> None:
        if value is not None and taken(value):
            self.fail(field, _TAKEN_MESSAGE[field])

    def password(self, field: str) -> None:
        value = self.string(field)
        if value is None:
            return
        if len(value) < 8:
            self.fail(field, f"The {field} field must be at least 8 characters.")
        if not (_has_lower(value) and _has_upper(value)):
            self.fail(
                field,
                f"The {field} field must contain at least one uppercase and one lowercase letter.",
            )
        if not any(char.isdigit() for char in value):
            self.fail(field, f"The {field} field must contain at least one number.")

    def string_list(self, field: str) -> list[str] | None:
        value = self.data.get(field)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(field, f"The {field} field must be an array.")
            return None
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{field}.{index}", f"The {field}.{index} field must be a string.")
        return [item for item in value if isinstance(item, str)]


def _has_lower(text: str) -> bool:
    return any(char.islower() for char in text)


def _has_upper(text: str) -> bool:
    return any(char.isupper() for char in text)


def int_param(
    rules: Rules, request: Request, name: str, default: int, low: int, high: int | None
) -> int:
    raw = request.arg(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        number = int(raw.strip())
    except ValueError:
        rules.fail(name, f"The {name} field must be an integer.")
        return default
    if high is not None and not low <= number <= high:
        rules.fail(name, f"The {name} field must be between {low} and {high}.")
    elif number < low:
        rules.fail(name, f"The {name} field must be at least {low}.")
    return number
