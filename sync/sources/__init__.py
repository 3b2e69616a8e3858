"""Where a migration's partners come from: the source seam.

A migration reads a whole roster from a source, turns each partner into a provider-neutral
row (`sync.neutral.neutral_row`: email, names, country, payout email, `referral_code`,
`status`, `source_id`, `created_at`, ...) and moves those rows like an input file. Two kinds
of source exist:

- a provider account (Dub, Partnero, PromoteKit: `--from dub`): the provider's own listing
  (`pipeline.export_source`, `remote.RemoteReader`) and its `to_neutral`;
- a source platform, read-only (`--from rewardful|tolt|firstpromoter|partnerstack|
  tapfiliate`): a `sync.sources.platform.PlatformSource` in the registry `PLATFORMS`.

To add a source platform:

1. `sync/sources/NAME.py`: its constants (NAME, DEFAULT_BASE_URL, the environment variables,
   DEFAULT_RATE_LIMIT per minute, UNPORTABLE), `auth_headers`, `error_message`, a pure
   `to_neutral(record)` and `async read_roster(http, policy, ...) -> list[neutral row]` that
   pages to the end through `call_with_retries`, guarded by `sync.sources.paging.PageGuard`
   (a page of partners already read, a cursor seen twice: the read stops, nothing moves).
   The module docstring lists every assumption made where the platform's docs are UNCERTAIN.
2. `sync/sources/platform.py`: a `PlatformSource` subclass (env_keys, secret_env_keys,
   rate_published, sample_seed, sandbox_credentials, read) and one line in `PLATFORMS`.
   Credentials come from env_keys (a missing one is a ConfigError naming it, exit 3); with
   none set and no --from-base-url, the built-in sandbox of the platform is the source.
3. `sync/sandbox/NAME.py`: an emulator on `sync.sandbox.readonly.ReadOnlyEmulator`, faithful
   to the same assumptions (shapes, paging, auth, 429 bodies), seeded with the platform's own
   record shapes, and one line in `sync/sandbox/server.py` PROVIDERS; `samples/` holds its seed.
4. Mapping: `mappings/source-to-TARGET.toml` maps the neutral columns into each target; a
   `NAME-to-TARGET.toml` is needed only if a pair must differ.
5. README: a section for the platform (keys, the command, what moves and what does not).

Either kind is read by `sync.sources.snapshot.read_source` into the migration's snapshot (a
neutral CSV beside the checkpoint), which a resumed migration reuses instead of listing the
source again. The skip policy (`sync.migration`) and `verify` apply to every source alike.
"""
