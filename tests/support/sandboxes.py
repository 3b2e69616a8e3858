"""What the sandbox fixtures hand out, and seed records to start them with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sync.sandbox import Sandbox

# make_sandbox(provider, **options): a started sandbox, stopped and checked after the test.
MakeSandbox = Callable[..., Sandbox]
# The options every sandbox of a test starts with, by provider (a test's own options win).
SandboxOptions = Callable[[str], dict[str, Any]]


def people(count: int, **extra: Any) -> list[dict[str, Any]]:
    """`count` distinct seed records: person0@example.com, person1@example.com, ..."""
    return [
        {"email": f"person{i}@example.com", "name": f"Person {i}", **extra} for i in range(count)
    ]
