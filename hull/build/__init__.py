"""Dockerfile front end: parsing, word expansion, typed instructions, stages, .dockerignore.

Everything here is pure (no containers, no layers) so the executor, the linter-like
checks and the tests all consume the same view of a Dockerfile.  Modules are imported
on demand; this package imports nothing at start-up.
"""
