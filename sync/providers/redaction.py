"""Every answer redacted at the door: no secret a request carried, and no `Bearer`/`Basic`
credential, gets past the HTTP client into a message, an exception, a log line or a record.

Redacting means looking at every string of a decoded answer (logs.Redactor.scrub), which for a
list page of a hundred partners is thousands of strings, nearly always for nothing. So the
answer's whole text is looked at first, once, with its JSON escapes resolved: every string of
the decoded answer is a piece of that text, so a secret or a credential that is in no piece of
the text is in no string, and only an answer whose text holds one is scrubbed string by string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sync.logs import MIN_SECRET_LENGTH, Redactor

# A JSON escape: a surrogate pair (one character), any other \uXXXX, or a one-letter escape.
_ESCAPE = re.compile(
    r"\\(?:u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    r"|u([0-9a-fA-F]{4})|(.))",
    re.DOTALL,
)
_LETTERS = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class AnswerRedaction:
    """The redaction of one account's answers, from the headers its requests carry."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        secrets = secrets_of(headers)
        # In an error answer the key is redacted whatever its length; in data (a 2xx body) a
        # short key is more likely part of an email or a name than an echo of the request.
        self.error = Redactor(secrets, min_length=1)
        self.data = Redactor(secrets, min_length=MIN_SECRET_LENGTH)

    def body(self, content: bytes, *, success: bool) -> Any:
        """The decoded JSON body, redacted (as data when `success`); None when it is not JSON."""
        try:
            body = json.loads(content)
        except (ValueError, UnicodeDecodeError):
            return None
        redactor = self.data if success else self.error
        if not redactor.finds(decoded_text(content)):
            return body  # no string of it holds anything to redact
        return redactor.scrub(body)

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """A success's headers (names in lower case), redacted like its body."""
        lowered = {name.lower(): value for name, value in headers.items()}
        scrubbed: dict[str, str] = self.data.scrub(lowered)
        return scrubbed


def decoded_text(content: bytes) -> str:
    """The text of a JSON document as `json.loads` decodes it, with every escape resolved
    (its syntax left in place): each string the document holds is a piece of it."""
    text = content.decode(json.detect_encoding(content), "surrogatepass")
    return _ESCAPE.sub(_unescaped, text) if "\\" in text else text


def _unescaped(escape: re.Match[str]) -> str:
    high, low, code, letter = escape.groups()
    if high is not None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    if code is not None:
        return chr(int(code, 16))
    return str(_LETTERS.get(letter, letter))


def secrets_of(headers: Mapping[str, str]) -> list[str]:
    """What the credential headers give away: each value, and its credential without the
    scheme (`Bearer KEY` -> `KEY`)."""
    secrets: list[str] = []
    for value in headers.values():
        secrets.append(value)
        _, _, credential = value.partition(" ")
        if credential.strip():
            secrets.append(credential.strip())
    return secrets
