"""``hull build``'s click-free parser reads every ordinary command line as click does, and
leaves the rest (help, mistakes) to click."""

from __future__ import annotations

import pytest

from hull.cli.commands.build_core import parse_args

BUILD_LINES = [
    ["."],
    ["-q", "-t", "app", "/src/app"],
    ["-t", "a:1", "--tag", "b:2", "-tc", "--tag=d", "ctx"],
    ["ctx", "-t", "app", "--no-cache"],
    ["-f", "-", "--progress", "plain"],
    ["--file=Dockerfile.dev", "--progress=tty", "-"],
    ["--build-arg", "A=1", "--build-arg=B", "--label", "x=y", "--label=z", "ctx"],
    ["--target", "builder", "--network", "none", "--iidfile", "/tmp/id", "ctx"],
    ["--secret", "id=s,src=/f", "--platform", "linux/amd64", "ctx"],
    ["--rm", "--force-rm", "-q", "ctx"],
    ["-qt", "app", "ctx", "--network=host"],
    ["--network", "", "--progress", "auto", "ctx"],
    [],
]


def _click_values(args: list[str]) -> dict:  # type: ignore[no-untyped-def]
    from hull.cli.commands.build import build

    return dict(build.make_context("build", list(args)).params)


@pytest.mark.parametrize("args", BUILD_LINES, ids=[" ".join(a) or "(none)" for a in BUILD_LINES])
def test_build_lines_parse_like_click(args: list[str]) -> None:
    parsed = parse_args(args)
    assert parsed is not None
    opts, context = parsed
    expected = _click_values(args)
    assert context == expected.pop("context")
    if expected["network"] is None:  # the click command fills the default the same way
        expected["network"] = "default"
    assert opts == expected


@pytest.mark.parametrize("args", [
    ["--help"],
    ["--bogus", "ctx"],
    ["--progress", "fancy", "ctx"],
    ["one", "two"],
    ["-t"],
    ["--no-cache=yes", "ctx"],
    ["--", "ctx"],
])
def test_unusual_lines_are_left_to_click(args: list[str]) -> None:
    assert parse_args(args) is None
