"""structlog set-up: stderr, readable on a terminal, JSON lines otherwise; secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"
# Short strings would redact ordinary words; real keys are long.
MIN_SECRET_LENGTH = 8
# The credential of an Authorization value quoted anywhere (a provider that echoes the request's
# headers): whichever key it is, the scheme stays and the credential goes. Lower-case "basic" is
# left alone: it is an ordinary word far more often than a header.
_CREDENTIAL = re.compile(r"\b((?i:bearer)|Basic|BASIC)(\s+)[A-Za-z0-9._~+/=:-]+")


class Redactor:
    """A structlog processor that replaces every known secret, wherever it appears in an event,
    and the credential of any `Bearer ...` / `Basic ...` value."""

    def __init__(self, secrets: Iterable[str], *, min_length: int = MIN_SECRET_LENGTH) -> None:
        self._secrets = sorted(
            {s for s in secrets if len(s) >= max(min_length, 1)}, key=len, reverse=True
        )

    def __call__(
        self, logger: Any, method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in event.items():
            event[key] = self.scrub(value)
        return event

    def scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, REDACTED)
            return _CREDENTIAL.sub(rf"\1\2{REDACTED}", value)
        if isinstance(value, BaseException):
            return self.scrub(str(value))
        if isinstance(value, dict):
            return {k: self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value


def configure(
    *,
    secrets: Iterable[str] = (),
    json: bool | None = None,
    verbose: bool = False,
    stream: TextIO | None = None,
) -> None:
    """Configure structlog once, at the entry point.

    Args:
        secrets: values that must never be written (API keys).
        json: force JSON lines (True) or console (False); None chooses by whether stderr is a TTY.
        verbose: include debug events.
        stream: where logs go; stderr by default.
    """
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            Redactor(secrets),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbose else logging.INFO
        ),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
