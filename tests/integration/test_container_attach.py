"""Detach keys: Docker's grammar and finding the sequence across reads (no root needed); the
terminal behaviour itself is tested through a real pty in test_container_tty.py."""

from __future__ import annotations

import pytest

from hull.cli.terminal import DetachKeys, parse_detach_keys
from hull.errors import InvalidArgument


@pytest.mark.parametrize(("text", "sequence"), [
    ("ctrl-p,ctrl-q", b"\x10\x11"), ("ctrl-a", b"\x01"), ("ctrl-@,ctrl-_", b"\x00\x1f"),
    ("a,b", b"ab"), ("ctrl-x,x", b"\x18x"),
])
def test_detach_key_grammar(text: str, sequence: bytes) -> None:
    assert parse_detach_keys(text) == sequence


@pytest.mark.parametrize("text", ["ctrl-", "ctrl-1", "shift-a", "ab"])
def test_bad_detach_keys(text: str) -> None:
    with pytest.raises(InvalidArgument, match="Unknown character"):
        parse_detach_keys(text)


def test_sequence_found_across_reads_and_prefixes_passed_on() -> None:
    keys = DetachKeys(b"\x10\x11")
    assert keys.feed(b"ls\x10") == (b"ls", False)       # a possible start is held back
    assert keys.feed(b"x") == (b"\x10x", False)         # ... and passed on when it was not
    assert keys.feed(b"\x10\x10") == (b"\x10", False)
    assert keys.feed(b"\x11rest") == (b"", True)
    keys = DetachKeys(b"")
    assert keys.feed(b"\x10\x11") == (b"\x10\x11", False)
