from __future__ import annotations

from pathlib import Path

import pytest

from sync.account_lock import account_lock, lock_path
from sync.errors import ConfigError


@pytest.fixture(autouse=True)
def _own_lock_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))


@pytest.mark.parametrize(
    ("written", "also"),
    [
        # Partnero's documented base URL and its bare host are one account.
        ("https://api.partnero.com/v1", "https://api.partnero.com"),
        ("https://API.Partnero.com/v1/", "https://api.partnero.com:443"),
        ("http://127.0.0.1:8123/api/v1", "http://127.0.0.1:8123"),
    ],
)
def test_one_account_is_one_lock_however_its_base_url_is_written(written: str, also: str):
    assert lock_path("partnero", written, "abc") == lock_path("partnero", also, "abc")
    with (
        account_lock("partnero", written, "abc"),
        pytest.raises(ConfigError, match="another partner-sync run is writing"),
        account_lock("partnero", also, "abc"),
    ):
        pass


def test_other_accounts_and_servers_have_their_own_locks():
    url = "http://127.0.0.1:8123"
    assert lock_path("dub", url, "abc") != lock_path("dub", url, "abd")  # another key
    assert lock_path("dub", url, "abc") != lock_path("dub", "http://127.0.0.1:8124", "abc")
    assert lock_path("dub", url, "abc") != lock_path("partnero", url, "abc")
    assert lock_path("dub", "built-in dub sandbox", "abc") != lock_path("dub", url, "abc")
    with account_lock("dub", url, "abc"), account_lock("dub", url, "abd"):
        pass  # two accounts: both runs go ahead
