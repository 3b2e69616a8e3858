"""partner-sync: bring affiliate partner rosters into partner-program platforms, exactly once.

The shape of the code (README "Layout" draws the same picture):

- `cli/` parses, calls the library, prints and exits; nothing else prints to stdout or exits.
- `settings.py` resolves flags > environment > defaults into typed settings (keys as
  secrets) and starts nothing; `sandbox/builtin.py` serves a keyless run's built-in sandbox.
- `registry.py` is the one table of providers and source platforms with their emulators.
- `sources/` is where rows come from, behind one protocol (`RowSource`): a file, or (for a
  migration) an account whose partners become the snapshot file the run then reads.
- `pipeline.py` only wires the stages (`checked_input.py`, `planning.py`, `worker.py`,
  `run_result.py`); `providers/` are the only modules that speak HTTP.

Where polars may appear: in the stages that work on whole frames (the reader of files, the
mapping, validation, the plan and the index of existing partners, outcomes and the report);
never in the providers, the worker, the checkpoint, the settings or the command line, which
handle one partner, one request or one file of state at a time. tests/unit/test_layout.py
checks these rules against the imports.
"""

__version__ = "0.1.0"
