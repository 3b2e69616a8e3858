"""Where rows come from: the source seam.

A run takes its rows from one `RowSource`, read into one frame (`sync.sources.table.Table`):
the input file (`sync.sources.file.InputFile`, CSV or Parquet), or a migration's snapshot of
its source account (`sync.sources.snapshot.AccountSnapshot`); `sync.pipeline.rows_of` picks
it. A new kind of input (a database query) is one module with an object that meets
`RowSource`; a new account to migrate from is one that meets `AccountSource`.

A migration first reads every partner of an `AccountSource` as provider-neutral
rows (`sync.neutral.neutral_row`: email, names, country, payout email, `referral_code`,
`status`, `source_id`, `created_at`, ...) and writes them to its snapshot beside the
checkpoint (`sync.sources.snapshot`), which it then moves like an input file; a resumed
migration reuses its snapshot instead of reading the source again. Two kinds of account
source exist:

- a provider account (`--from dub|partnero|promotekit`): `sync.sources.account.ProviderAccount`,
  the provider's own listing and its `to_neutral`;
- a source platform, read-only (`--from rewardful|tolt|firstpromoter|partnerstack|tapfiliate`):
  a `sync.sources.platform.Reading` of the module's `PlatformSource`.

A new account to migrate from (another platform's API) is one module whose object meets
`AccountSource`, plus its line in `sync/registry.py` and its settings in
`sync/source_settings.py`; a new kind of input (a database query) is one module whose object
meets `RowSource`, and its case in `sync.pipeline.rows_of`.
To add a source platform:

1. `sync/sources/NAME.py`: its constants (NAME, DEFAULT_BASE_URL, the environment variables,
   DEFAULT_RATE_LIMIT per minute, UNPORTABLE), `auth_headers`, `error_message`, a pure
   `to_neutral(record)` and `async read_roster(http, policy, ...) -> list[neutral row]` that
   pages to the end through `call_with_retries`, guarded by `sync.sources.paging.PageGuard`
   (a page of partners already read, a cursor seen twice: the read stops, nothing moves);
   at its end, `SOURCE = PlatformSource.stated_in(__name__, ...)` takes those constants and
   `error_message` from the module and states the rest (variables, sandbox seed, the read).
   Credentials come from env_keys (a missing one is a ConfigError naming it, exit 3); with
   none set and no --from-base-url, the built-in sandbox of the platform is the source.
   The module docstring lists every assumption made where the platform's docs are UNCERTAIN.
2. `sync/sandbox/NAME.py`: an emulator on `sync.sandbox.readonly.ReadOnlyEmulator`, faithful
   to the same assumptions (shapes, paging, auth, 429 bodies), seeded with the platform's own
   record shapes; `samples/` holds its seed.
3. `sync/registry.py`: one line naming the source and its emulator.
4. Mapping: `mappings/source-to-TARGET.toml` maps the neutral columns into each target; a
   `NAME-to-TARGET.toml` is needed only if a pair must differ.
5. README: a section for the platform (keys, the command, what moves and what does not).

The skip policy (`sync.migration`) and `verify` apply to every source alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sync.progress import Progress
    from sync.sandbox.builtin import BuiltIn
    from sync.sources.table import Table

NeutralRows = list[dict[str, str | None]]


class Origin(Protocol):
    """What a run says about where its partners came from."""

    @property
    def name(self) -> str: ...

    @property
    def unportable(self) -> Mapping[str, str]: ...


class AccountSource(Origin, Protocol):
    """An account a migration reads every partner of: a provider's, or a source platform's."""

    @property
    def builtin(self) -> BuiltIn | None:
        """The built-in sandbox that stands in for the account when no key is set."""

    @property
    def secrets(self) -> list[str]:
        """The keys it is read with, for the log redaction."""

    def at(self, base_url: str) -> AccountSource:
        """The same source reached at `base_url` (its built-in sandbox, once served)."""

    async def read_partners(self, progress: Progress | None, calls: Counter[str]) -> NeutralRows:
        """Every partner of the account, as neutral rows, in any order; the requests the
        reading made are added to `calls`, by kind (the run's summary shows them)."""


class RowSource(Protocol):
    """Where a run's rows come from: read whole into one frame, each row with its number and
    any problem the reader found."""

    async def read(self, progress: Progress | None) -> Table:
        """Every row; a source that cannot be read raises `InputError` (or the account's error)
        before anything is sent."""
