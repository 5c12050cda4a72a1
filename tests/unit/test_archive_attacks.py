"""Hostile layers: each test is one way out of the target, and proves it stays shut.

Every test runs with both resolvers (kernel openat2 RESOLVE_IN_ROOT and the
component walk used where openat2 is missing) and checks a sentinel directory
next to the target: nothing in it may be created, changed or removed.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from hull.archive.apply import apply_stream
from hull.archive.resolve import open_dir_openat2, open_dir_walking, openat2_available
from hull.errors import CorruptArchive
from tests.unit.test_archive_support import (
    Member,
    directory,
    file,
    hardlink,
    make_tar,
    snapshot,
    symlink,
)

OPENERS = [
    pytest.param(open_dir_openat2, id="openat2",
                 marks=pytest.mark.skipif(not openat2_available(), reason="no openat2")),
    pytest.param(open_dir_walking, id="walk"),
]


@pytest.fixture(params=OPENERS)
def opener(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return request.param


class Scene:
    """A target directory and, beside it, a sentinel that must survive every attack."""

    def __init__(self, tmp_path: Path, opener) -> None:  # type: ignore[no-untyped-def]
        self.target = tmp_path / "target"
        self.sentinel = tmp_path / "sentinel"
        self.target.mkdir()
        self.sentinel.mkdir()
        (self.sentinel / "secret").write_bytes(b"secret\n")
        (self.sentinel / "victim").write_bytes(b"victim\n")
        (self.sentinel / "subdir").mkdir()
        self.opener = opener
        self.before = snapshot(str(self.sentinel))

    @property
    def sentinel_rel(self) -> str:
        """The sentinel's absolute path without the leading slash."""
        return str(self.sentinel).lstrip("/")

    def apply(self, members: list[Member], whiteouts: str = "delete") -> None:
        apply_stream(io.BytesIO(make_tar(members)), str(self.target), whiteouts,  # type: ignore[arg-type]
                     opener=self.opener)

    def refused(self, members: list[Member], whiteouts: str = "delete") -> str:
        with pytest.raises(CorruptArchive) as caught:
            self.apply(members, whiteouts)
        message = str(caught.value)
        assert "\n" not in message
        return message

    def assert_sentinel_intact(self) -> None:
        assert snapshot(str(self.sentinel)) == self.before


@pytest.fixture
def scene(tmp_path: Path, opener) -> Scene:  # type: ignore[no-untyped-def]
    return Scene(tmp_path, opener)


def test_dotdot_entry_is_refused(scene: Scene) -> None:
    message = scene.refused([file("../sentinel/pwned", b"x")])
    assert "../sentinel/pwned" in message
    scene.assert_sentinel_intact()


def test_dotdot_hidden_inside_a_name_is_refused(scene: Scene) -> None:
    scene.refused([directory("a"), file("a/b/../../../sentinel/pwned", b"x")])
    scene.assert_sentinel_intact()


def test_absolute_name_is_taken_relative_to_the_target(scene: Scene) -> None:
    scene.apply([file(f"{scene.sentinel}/pwned", b"x")])
    assert (scene.target / scene.sentinel_rel / "pwned").read_bytes() == b"x"
    scene.assert_sentinel_intact()


def test_symlink_to_absolute_dir_planted_in_the_layer(scene: Scene) -> None:
    # evil -> /…/sentinel resolves to target/…/sentinel, which does not exist.
    scene.refused([symlink("evil", str(scene.sentinel)), file("evil/pwned", b"x")])
    scene.assert_sentinel_intact()


def test_symlink_to_root_then_write_below_it(scene: Scene) -> None:
    scene.apply([symlink("a", "/"), file(f"a/{scene.sentinel_rel}/pwned", b"x")])
    assert (scene.target / scene.sentinel_rel / "pwned").read_bytes() == b"x"
    scene.assert_sentinel_intact()


def test_relative_symlink_climbing_above_the_target(scene: Scene) -> None:
    # From target/evil, ../../.. would reach the host's /; inside the root it stops at target.
    scene.apply([symlink("evil", "../../../../../.."), file("evil/pwned", b"x")])
    assert (scene.target / "pwned").read_bytes() == b"x"
    scene.assert_sentinel_intact()


def test_symlink_already_present_in_the_target(scene: Scene) -> None:
    (scene.target / "evil").symlink_to(scene.sentinel)
    scene.refused([file("evil/pwned", b"x")])
    scene.assert_sentinel_intact()


def test_relative_symlink_already_present_in_the_target(scene: Scene) -> None:
    (scene.target / "evil").symlink_to("../sentinel")
    scene.refused([file("evil/secret", b"overwritten")])
    scene.assert_sentinel_intact()


def test_existing_symlink_as_the_entry_itself_is_replaced_not_followed(scene: Scene) -> None:
    (scene.target / "victim").symlink_to(scene.sentinel / "victim")
    scene.apply([file("victim", b"replaced")])
    assert not (scene.target / "victim").is_symlink()
    assert (scene.target / "victim").read_bytes() == b"replaced"
    scene.assert_sentinel_intact()


def test_directory_entry_over_an_existing_symlink(scene: Scene) -> None:
    (scene.target / "d").symlink_to(scene.sentinel)
    scene.apply([directory("d", mode=0o777), file("d/pwned", b"x")])
    assert (scene.target / "d").is_dir() and not (scene.target / "d").is_symlink()
    assert (scene.target / "d" / "pwned").exists()
    scene.assert_sentinel_intact()


def test_symlink_then_file_of_the_same_name_in_one_layer(scene: Scene) -> None:
    scene.apply([symlink("x", str(scene.sentinel / "victim")), file("x", b"replaced")])
    assert (scene.target / "x").read_bytes() == b"replaced"
    scene.assert_sentinel_intact()


def test_hardlink_climbing_out_is_refused(scene: Scene) -> None:
    scene.refused([hardlink("h", "../sentinel/secret")])
    assert not (scene.target / "h").exists()
    scene.assert_sentinel_intact()
    assert os.stat(scene.sentinel / "secret").st_nlink == 1


def test_hardlink_to_an_absolute_path_stays_inside(scene: Scene) -> None:
    scene.refused([hardlink("h", str(scene.sentinel / "secret"))])
    assert os.stat(scene.sentinel / "secret").st_nlink == 1
    scene.assert_sentinel_intact()


def test_hardlink_through_a_planted_symlink(scene: Scene) -> None:
    scene.refused([symlink("a", "/"), hardlink("h", f"a/{scene.sentinel_rel}/secret")])
    assert os.stat(scene.sentinel / "secret").st_nlink == 1
    scene.assert_sentinel_intact()


def test_hardlink_destination_through_a_symlink(scene: Scene) -> None:
    (scene.target / "real").write_bytes(b"inside")
    scene.refused([symlink("out", str(scene.sentinel)), hardlink("out/h", "real")])
    scene.assert_sentinel_intact()


def test_symlink_loop_is_refused(scene: Scene) -> None:
    message = scene.refused([symlink("a", "b"), symlink("b", "a"), file("a/x", b"x")])
    assert "a/x" in message
    scene.assert_sentinel_intact()


def test_whiteout_through_a_symlink_deletes_nothing_outside(scene: Scene) -> None:
    scene.apply([symlink("evil", str(scene.sentinel)), file("evil/.wh.victim")])
    scene.assert_sentinel_intact()


def test_whiteout_through_a_symlink_in_overlay_mode(scene: Scene) -> None:
    with pytest.raises(CorruptArchive):
        scene.apply([symlink("evil", str(scene.sentinel)), file("evil/.wh.victim")],
                    "overlay")
    scene.assert_sentinel_intact()


def test_whiteout_of_dotdot_is_refused(scene: Scene) -> None:
    # ".wh..." would whiteout "..": deleting the target's parent, sentinel included.
    scene.refused([file(".wh...")])
    scene.assert_sentinel_intact()
    assert scene.target.is_dir()


def test_whiteout_of_dot_is_refused(scene: Scene) -> None:
    (scene.target / "keep").write_bytes(b"k")
    scene.refused([directory("d"), file("d/.wh..")])
    assert (scene.target / "keep").exists()
    scene.assert_sentinel_intact()


def test_opaque_marker_through_a_symlink(scene: Scene) -> None:
    scene.apply([symlink("evil", "../sentinel"), file("evil/.wh..wh..opq")])
    scene.assert_sentinel_intact()


def test_opaque_marker_through_a_symlink_to_root(scene: Scene) -> None:
    (scene.target / "keep").write_bytes(b"k")
    scene.apply([symlink("evil", "/"), file(f"evil/{scene.sentinel_rel}/.wh..wh..opq")])
    assert (scene.target / "keep").exists()
    scene.assert_sentinel_intact()


def test_root_entry_that_is_a_symlink_is_refused(scene: Scene) -> None:
    scene.refused([symlink("./", str(scene.sentinel))])
    assert scene.target.is_dir() and not scene.target.is_symlink()
    scene.assert_sentinel_intact()


def test_nul_byte_in_a_name_is_refused(scene: Scene) -> None:
    scene.refused([file("innocent", b"x", pax={"path": "a\x00/../../sentinel/pwned"})])
    scene.assert_sentinel_intact()


def test_device_node_over_a_symlink_does_not_follow_it(scene: Scene) -> None:
    (scene.target / "null").symlink_to(scene.sentinel / "victim")
    scene.apply([Member("null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)])
    assert (scene.target / "null").is_char_device()
    scene.assert_sentinel_intact()


def test_overlay_private_xattrs_in_a_layer_are_dropped(scene: Scene) -> None:
    # A redirect xattr would make overlayfs look up another lower path.
    scene.apply([directory("d", pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc"})],
                "overlay")
    assert "trusted.overlay.redirect" not in os.listxattr(scene.target / "d")
    scene.assert_sentinel_intact()


def test_absurdly_deep_nesting_is_handled(scene: Scene) -> None:
    deep = "/".join(["d"] * 1500)  # deeper than Python's recursion limit
    try:
        scene.apply([file(f"{deep}/f", b"x")])
        assert (scene.target / deep / "f").read_bytes() == b"x"
        scene.apply([file(".wh.d")])
        assert not (scene.target / "d").exists()
        scene.assert_sentinel_intact()
    finally:
        # pytest's own clean-up of old temporary directories recurses and would fail on
        # this tree in every later session, so never leave it behind.
        subprocess.run(["rm", "-rf", str(scene.target / "d")], check=True)
