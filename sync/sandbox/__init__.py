"""Emulations of the Dub, Partnero and PromoteKit partner APIs, served over HTTP on loopback."""

from __future__ import annotations

from sync.sandbox.faults import Faults
from sync.sandbox.seed import load_seed
from sync.sandbox.server import Sandbox
from sync.sandbox.stats import SandboxStats

__all__ = ["Faults", "Sandbox", "SandboxStats", "load_seed"]
