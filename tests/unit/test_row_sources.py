"""The source seam: every run takes its rows from one RowSource, a file or a migration's
snapshot of its source account, read into the same one frame."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import SecretStr

from sync.neutral import neutral_row
from sync.pipeline import read_input, rows_of
from sync.progress import Progress
from sync.registry import get_provider
from sync.sandbox.builtin import BuiltIn
from sync.settings import Settings
from sync.sources import AccountSource, NeutralRows, RowSource
from sync.sources.file import InputFile
from sync.sources.snapshot import AccountSnapshot
from sync.sources.table import NUMBER


@dataclass
class ListedAccount:
    """An account source whose partners are given, counting how often it is read."""

    partners: NeutralRows
    name: str = "listed"
    unportable: Mapping[str, str] = field(default_factory=dict)
    builtin: BuiltIn | None = None
    secrets: list[str] = field(default_factory=list)
    reads: int = 0

    def at(self, base_url: str) -> AccountSource:
        return self

    async def read_partners(self, progress: Progress | None, calls: Counter[str]) -> NeutralRows:
        self.reads += 1
        calls["list"] += 1
        return [dict(row) for row in self.partners]


def _settings(tmp_path: Path, input_path: Path, source: AccountSource | None = None) -> Settings:
    return Settings(
        input=input_path,
        provider=get_provider("dub"),
        base_url="http://127.0.0.1:9",  # never called: only the input is read
        api_key=SecretStr("unused"),
        source=source,
    )


def _partners() -> NeutralRows:
    # Out of creation order: the snapshot orders rows by the source's creation time.
    return [
        neutral_row(source_id="b", email="bo@example.com", created_at="2024-02-01T00:00:00Z"),
        neutral_row(source_id="a", email="ann@example.com", created_at="2024-01-01T00:00:00Z"),
    ]


def test_a_file_run_reads_its_input_file_and_a_migration_its_snapshot(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    file_rows: RowSource = rows_of(_settings(tmp_path, roster))
    assert file_rows == InputFile(roster)
    account = ListedAccount(_partners())
    snapshot = tmp_path / "run.source.csv"
    migration = rows_of(_settings(tmp_path, snapshot, account), resuming=True)
    assert migration == AccountSnapshot(account, snapshot, reuse=True)


def test_the_file_and_the_snapshot_give_the_same_frame(tmp_path: Path) -> None:
    account = ListedAccount(_partners())
    snapshot = tmp_path / "run.source.csv"
    from_account = asyncio.run(AccountSnapshot(account, snapshot).read(None))
    from_file = asyncio.run(InputFile(snapshot).read(None))
    assert account.reads == 1
    assert from_account.frame.equals(from_file.frame)
    assert from_account.content_hash == from_file.content_hash
    assert from_account.frame[NUMBER].to_list() == [1, 2]
    assert from_account.frame["email"].to_list() == ["ann@example.com", "bo@example.com"]


def test_an_unfinished_migration_reads_its_snapshot_not_the_account_again(tmp_path: Path) -> None:
    account = ListedAccount(_partners())
    snapshot = tmp_path / "run.source.csv"
    first = asyncio.run(AccountSnapshot(account, snapshot).read(None))
    account.partners = [*_partners(), neutral_row(source_id="c", email="cy@example.com")]
    again = asyncio.run(AccountSnapshot(account, snapshot, reuse=True).read(None))
    assert account.reads == 1
    assert again.content_hash == first.content_hash
    fresh = asyncio.run(AccountSnapshot(account, snapshot).read(None))
    assert account.reads == 2 and fresh.height == 3


def test_a_migration_is_mapped_and_validated_like_a_file(tmp_path: Path) -> None:
    account = ListedAccount(_partners())
    snapshot = tmp_path / "run.source.csv"
    settings = replace(_settings(tmp_path, snapshot, account), mapping=None)
    checked = asyncio.run(read_input(settings))
    assert account.reads == 1
    assert checked.table.path == snapshot and checked.table.height == 2
    assert set(checked.valid.keys["email"].to_list()) == {"ann@example.com", "bo@example.com"}
