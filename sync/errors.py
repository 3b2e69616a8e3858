"""The exception tree of partner-sync, each class carrying the exit code the CLI uses.

This module imports nothing from `sync`, so every other module can raise these.

    SyncError                       exit 1
    ├── UsageError                  exit 2   a flag or a combination of flags is wrong
    ├── InputError                  exit 3   the input file or mapping is unusable; nothing sent
    │   ├── ConfigError             exit 3   settings, checkpoint binding or lock; nothing written
    │   └── GuardError              exit 3   a safety limit of unattended runs; nothing sent
    ├── ReportError                 exit 1   the report could not be written; outcomes kept
    ├── CheckpointError             exit 1   the checkpoint could not be written (a full disk)
    ├── ProviderError               exit 1
    │   ├── RetryableProviderError  exit 1   try again later (429, 5xx, network); carries `reached`
    │   ├── RejectedError           exit 1   this request refused for cause (4xx): do not resend
    │   ├── AcceptedWithoutPartner  exit 1   a create answered 2xx without naming the partner
    │   ├── FatalProviderError      exit 4   the provider refused the account (auth, plan, limit)
    │   └── UnreachableError        exit 5   the provider could not be reached (refused, DNS, TLS,
    │                                        or no answer for a while); checkpoint saved
    └── Interrupted                 exit 130 stopped, checkpoint saved; the same command resumes
        └── AskedToWait             exit 130 the provider asked for a longer wait than --max-wait

Exit codes mean the same in every command: 0 all rows created or already there, 1 finished with
rows that need a person, 2 usage, 3 bad input or configuration (nothing sent), 4 account refused,
5 provider unreachable (run again later: it resumes), 130 stopped and resumable.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error partner-sync raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(SyncError):
    """The command line was used wrongly."""

    exit_code = 2


class InputError(SyncError):
    """The input file or its mapping cannot be used; nothing was sent."""

    exit_code = 3


class ConfigError(InputError):
    """Settings, checkpoint binding or checkpoint lock forbid the run; nothing was sent."""


class GuardError(InputError):
    """A safety limit for unattended runs tripped (--max-creates, --max-invalid-share)."""


class ReportError(SyncError):
    """The report file could not be written (a full disk); the run's outcomes are kept."""


class CheckpointError(SyncError):
    """A change could not be written to the checkpoint (a full disk); earlier ones are kept."""


class ProviderError(SyncError):
    """A provider answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: object = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.body = body


class RetryableProviderError(ProviderError):
    """A transient failure: the same request may succeed later.

    `reached` says whether the request may have reached the provider: False only when it provably
    did not (connection refused, 429), which is the one case a create may be resent blindly.
    """

    def __init__(
        self,
        message: str,
        *,
        reached: bool,
        retry_after: float | None = None,
        status: int | None = None,
        body: object = None,
    ) -> None:
        super().__init__(message, status=status, body=body)
        self.reached = reached
        self.retry_after = retry_after


class RejectedError(ProviderError):
    """The provider refused this one request for cause (4xx other than auth); do not resend it."""


class AcceptedWithoutPartner(ProviderError):
    """A create answered 2xx whose body names no partner (empty, `null`, not JSON, too large,
    cut off): the provider accepted it, so it is never sent again; the partner is looked up."""


class FatalProviderError(ProviderError):
    """The provider refused the account itself (bad key, plan, partner limit): stop the run."""

    exit_code = 4


class UnreachableError(ProviderError):
    """The provider could not be reached (connection refused, DNS, TLS, or no answer at all for
    too long): stop the run; the checkpoint holds everything done so far."""

    exit_code = 5


class Interrupted(SyncError):
    """The run was stopped by a signal; the checkpoint holds everything done so far."""

    exit_code = 130


class AskedToWait(Interrupted):
    """The provider asked to wait (Retry-After) longer than the run may: stopped, resumable."""
