"""The in-process tier (`uv run pytest tests/unit`): no test here starts a process or opens a
connection of its own. HTTP goes through httpx.MockTransport; the end-to-end tiers beside this
one drive the CLI against sandboxes on loopback."""

from __future__ import annotations

import socket
import subprocess
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _in_process_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(
            "tests/unit is the in-process tier: no subprocess, no server, no socket "
            "(use httpx.MockTransport here, or move the test to tests/e2e)"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
