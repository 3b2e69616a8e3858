"""Shared fixtures: structlog and the provider keys are reset around every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _reset_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("DUB_API_KEY", "PARTNERO_API_KEY", "PROMOTEKIT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    yield
    structlog.reset_defaults()
