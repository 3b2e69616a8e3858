"""Read partner records for a sandbox to start with, from a JSON array or a JSON Lines file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def load_seed(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read seed records: a JSON array of objects, or one JSON object per line.

    Args:
        path: the seed file. Records are in the provider's create-body shape and may also
            carry `id`, `createdAt` or `created_at`.

    Returns:
        The records, in file order.

    Raises:
        ValueError: the file is not UTF-8, not JSON, or holds something other than objects.
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"seed file {source}: not UTF-8 text ({exc.reason})") from exc
    stripped = text.lstrip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"seed file {source}: not a valid JSON array (line {exc.lineno}: {exc.msg})"
            ) from exc
        if not isinstance(items, list):  # pragma: no cover - a '[' always decodes to a list
            raise ValueError(f"seed file {source}: expected a JSON array of objects")
        records: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValueError(
                    f"seed file {source}: item {index} is {type(item).__name__}, "
                    "expected an object with the partner's fields"
                )
            records.append(item)
        return records
    return _json_lines(source, text)


def _json_lines(source: Path, text: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"seed file {source}: line {number} is not valid JSON ({exc.msg}); "
                "expected a JSON array or one JSON object per line"
            ) from exc
        if not isinstance(item, dict):
            raise ValueError(
                f"seed file {source}: line {number} is {type(item).__name__}, "
                "expected an object with the partner's fields"
            )
        records.append(item)
    return records
