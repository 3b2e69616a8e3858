"""partner-sync: bring affiliate partner rosters into partner-program platforms, exactly once."""

__version__ = "0.1.0"
