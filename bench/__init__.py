"""Benchmarks of partner-sync against its own sandbox: they print figures, they assert nothing.

Run `uv run python -m bench --quick` (under a minute) or `uv run python -m bench` (the full set);
bench/README.md holds the latest figures and what each one measures.
"""
