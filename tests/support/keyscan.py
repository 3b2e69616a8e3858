"""Scans every byte the tool writes during the end-to-end suite for the API keys it was given."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class KeyScan:
    """Keys seen in the environment of any run, and what was scanned for them."""

    keys: set[str] = field(default_factory=set)
    bytes_scanned: int = 0
    sources: int = 0
    leaks: list[str] = field(default_factory=list)

    def learn(self, env: Mapping[str, str]) -> None:
        self.keys |= {value for name, value in env.items() if "KEY" in name and len(value) >= 8}

    def scan(self, where: str, data: bytes | str) -> None:
        raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
        self.bytes_scanned += len(raw)
        self.sources += 1
        for key in self.keys:
            if key.encode() in raw:
                self.leaks.append(f"{where} contains a key ({key[:6]}...)")

    def scan_tree(self, root: Path, skip: Iterable[Path] = ()) -> None:
        skipped = set(skip)
        for path in sorted(root.rglob("*")):
            if path.is_file() and path not in skipped:
                self.scan(str(path), path.read_bytes())


SCAN = KeyScan()
