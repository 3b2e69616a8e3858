"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

from typing import Any


def people(count: int, **extra: Any) -> list[dict[str, Any]]:
    """`count` distinct seed records: person0@example.com, person1@example.com, ..."""
    return [
        {"email": f"person{i}@example.com", "name": f"Person {i}", **extra} for i in range(count)
    ]
