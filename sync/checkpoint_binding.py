"""Which job a checkpoint belongs to: what it was made from, and whether a run may resume it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from sync.errors import ConfigError

# Parts of the binding that may change between jobs on one checkpoint (a grown roster, an edited
# mapping); the others name the account, and what was learned about it is only valid for it.
_JOB_FIELDS = frozenset({"input_hash", "mapping"})


@dataclass(frozen=True, slots=True)
class Binding:
    """What a checkpoint was made from; a run with any other value may not resume it."""

    input_hash: str
    mapping: str
    provider: str
    base_url: str
    account: str  # a hash of the API key, never the key
    mode: str = "create"

    def differences(self, other: Binding) -> list[str]:
        mine, theirs = asdict(self), asdict(other)
        return [name for name in mine if mine[name] != theirs[name]]


# How a message names each part of the binding that differs.
_WHAT_CHANGED = {
    "input_hash": "the input file's content",
    "mapping": "the mapping",
    "provider": "the provider",
    "base_url": "the base URL",
    "account": "the API key (account)",
    "mode": "create/invite mode",
}


def resumes(stored: Binding, binding: Binding, *, finished: bool, path: Path) -> bool:
    """Whether a run bound to `binding` resumes the job stored as `stored` (True) or plans a new
    one (False): a finished job may be followed by another one on the same account (the nightly
    run over a grown roster); an unfinished job must be finished first.

    Raises:
        ConfigError: the stored job is unfinished and differs, or belongs to another account;
            the message names what differs and how to start over.
    """
    differences = stored.differences(binding)
    if not differences:
        return True
    if set(differences) <= _JOB_FIELDS and finished:
        return False
    what = ", ".join(_WHAT_CHANGED[name] for name in differences)
    unfinished = "" if finished else " and that job is not finished"
    raise ConfigError(
        f"checkpoint {path} belongs to another job: {what} changed since it was made{unfinished}",
        hint=f"to start over, pass --restart or delete {path}; "
        "to finish the old job, run it with its original input and options",
    )
