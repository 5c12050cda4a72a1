"""Engine metadata in one SQLite database."""
