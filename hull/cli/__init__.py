"""The command-line front end: flags and output only; the work is done by hull.engine."""
