"""``changes()`` lists what ``docker diff`` lists, whichever snapshotter made the change."""

from __future__ import annotations

import os
from pathlib import Path

from hull.archive import changes
from tests.unit.test_archive_roundtrip import copy_tree, lower, overlay

__all__ = ["lower"]  # the busybox-tree fixture, shared with the round-trip tests


def edit_in_place(root: Path) -> None:
    """Edits that leave every parent directory's own metadata untouched."""
    with open(root / "etc" / "passwd", "ab") as f:
        f.write(b"app:x:1000:1000::/home/app:/bin/sh\n")
    os.chown(root / "var" / "log", 5, 5)
    os.chmod(root / "usr" / "sbin", 0o700)


def test_parents_of_in_place_edits_are_changed_in_both_modes(tmp_path: Path,
                                                             lower: Path) -> None:
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    with overlay(lower, upper, work, merged):
        edit_in_place(merged)
    changed = copy_tree(lower, tmp_path / "changed")
    edit_in_place(changed)

    expected = [("C", "/etc"), ("C", "/etc/passwd"), ("C", "/usr"), ("C", "/usr/sbin"),
                ("C", "/var"), ("C", "/var/log")]
    assert changes(str(lower), str(upper), overlay=True) == expected
    assert changes(str(lower), str(changed), overlay=False) == expected


def test_unchanged_tree_lists_nothing(tmp_path: Path, lower: Path) -> None:
    changed = copy_tree(lower, tmp_path / "changed")
    assert changes(str(lower), str(changed), overlay=False) == []
