"""structlog set-up: stderr, readable on a terminal, JSON lines otherwise; secrets redacted.

On a terminal every line is printed through one rich console, the one the progress display
(sync/progress.py) draws on, so that a log line lands above the bars instead of inside one."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from rich.console import Console
from rich.text import Text

REDACTED = "[redacted]"
# Short strings would redact ordinary words; real keys are long.
MIN_SECRET_LENGTH = 8
# The credential of an Authorization value quoted anywhere (a provider that echoes the request's
# headers): whichever key it is, the scheme stays and the credential goes. Lower-case "basic" is
# left alone: it is an ordinary word far more often than a header.
_CREDENTIAL = re.compile(r"\b((?i:bearer)|Basic|BASIC)(\s+)[A-Za-z0-9._~+/=:-]+")


# The console of the terminal the logs go to, when they go to one (see `terminal`).
_terminal: Console | None = None


def terminal() -> Console | None:
    """The rich console the logs print through, when they go to a terminal; else None."""
    return _terminal


class ConsoleLogger:
    """A structlog logger that prints each rendered line through a rich console: while a live
    display is on screen, the console prints the line above it."""

    def __init__(self, console: Console) -> None:
        self._console = console

    def msg(self, message: str) -> None:
        # The renderer's colours arrive as escape codes; rich re-draws them as its own styles.
        self._console.print(Text.from_ansi(message), soft_wrap=True, highlight=False)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


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

    def finds(self, text: str) -> bool:
        """Whether `scrub` would change `text` at all: a secret or a credential is in it."""
        if any(secret in text for secret in self._secrets):
            return True
        # A credential needs its scheme's word: a plain search for it is many times faster than
        # the pattern's. (Only ASCII letters lower to the letters of "bearer", and no other
        # character matches one of them ignoring case: tests/unit/test_redaction.py.)
        if "Basic" not in text and "BASIC" not in text and "bearer" not in text.lower():
            return False
        return bool(_CREDENTIAL.search(text))

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
    global _terminal
    stream = stream or sys.stderr
    tty = stream.isatty()
    if json is None:
        json = not tty
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=tty)
    )
    # Decided by the stream alone: a variable such as FORCE_COLOR must not bring bars and
    # escape codes into a pipe.
    console = Console(file=stream, force_terminal=True) if tty else None
    _terminal = console
    factory: Any = (
        structlog.PrintLoggerFactory(file=stream)
        if console is None
        else (lambda *_: ConsoleLogger(console))
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
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
