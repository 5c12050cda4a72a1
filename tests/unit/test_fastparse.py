"""The click-free parser of ``run``/``create``/``exec`` agrees with the click commands."""

from __future__ import annotations

import pytest

from hull.cli import fastparse
from hull.cli.run_options import CONTAINER_OPTIONS, EXEC_OPTIONS, RUN_OPTIONS

RUN_LINES = [
    ["busybox"],
    ["--rm", "busybox", "true"],
    ["-it", "--rm", "busybox", "sh"],
    ["-dit", "--name", "web", "-p", "8080:80", "-p127.0.0.1:53:53/udp", "nginx"],
    ["-dp", "80:80", "--name=web", "nginx", "nginx", "-g", "daemon off;"],
    ["-e", "A=1", "--env", "B=2", "-eC=3", "--env=D=4", "busybox", "env"],
    ["--pids-limit", "-1", "-c", "512", "--stop-timeout=3", "busybox"],
    ["--sig-proxy=false", "busybox"],
    ["--sig-proxy", "no", "--detach-keys", "ctrl-x", "busybox"],
    ["-v", "/a:/b:ro", "--mount", "type=tmpfs,target=/t", "--tmpfs", "/run", "busybox"],
    ["--network", "none", "--", "busybox", "--rm", "-d"],
    ["busybox", "sh", "-c", "echo -e x", "--rm"],
    ["-u", "1000:1000", "-w", "/tmp", "--entrypoint", "", "busybox"],
    ["-l", "a=b", "-l", "c", "--label=d=e", "--read-only", "--init", "busybox"],
    ["-m", "64m", "--cpus", "0.5", "--ulimit", "nofile=10:20", "--cap-add", "NET_ADMIN", "x"],
    ["-h", "box", "--add-host", "h:1.2.3.4", "--dns", "1.1.1.1", "--restart=always", "x"],
    ["--health-cmd", "true", "--health-retries", "3", "--no-healthcheck", "x"],
    ["-", "x"],
]


def _click_values(command, args: list[str]) -> dict:  # type: ignore[no-untyped-def]
    ctx = command.make_context(command.name, list(args))
    return dict(ctx.params)


@pytest.mark.parametrize("args", RUN_LINES, ids=[" ".join(a) for a in RUN_LINES])
def test_run_lines_parse_like_click(args: list[str]) -> None:
    from hull.cli.commands.container_run import run

    parsed = fastparse.parse(args, RUN_OPTIONS)
    assert parsed is not None
    values, positionals = parsed
    expected = _click_values(run, args)
    assert positionals[0] == expected.pop("image")
    assert tuple(positionals[1:]) == expected.pop("command")
    assert values == expected


def test_create_lines_parse_like_click() -> None:
    from hull.cli.commands.container_run import create

    args = ["--name", "c1", "-e", "A=1", "busybox", "sleep", "1"]
    values, positionals = fastparse.parse(args, CONTAINER_OPTIONS)  # type: ignore[misc]
    expected = _click_values(create, args)
    assert positionals == [expected.pop("image"), *expected.pop("command")]
    assert values == expected


def test_exec_lines_parse_like_click() -> None:
    from hull.cli.commands.container_exec import exec_

    args = ["-it", "-u", "app", "--workdir=/srv", "-e", "A=1", "--privileged", "web", "ls"]
    values, positionals = fastparse.parse(args, EXEC_OPTIONS)  # type: ignore[misc]
    expected = _click_values(exec_, args)
    assert positionals == [expected.pop("container"), *expected.pop("command")]
    assert values == expected


@pytest.mark.parametrize("args", [
    ["--help", "busybox"], ["--bogus", "busybox"], ["-Z", "busybox"], ["-iZ", "busybox"],
    ["--rm=yes", "busybox"], ["--pids-limit", "many", "busybox"], ["--name"], ["-e"],
    ["--sig-proxy=maybe", "busybox"],
])
def test_anything_unusual_is_left_to_click(args: list[str]) -> None:
    assert fastparse.parse(args, RUN_OPTIONS) is None


def test_run_line_without_image_has_no_positionals() -> None:
    assert fastparse.parse(["--rm", "-d"], RUN_OPTIONS) == (
        fastparse.parse([], RUN_OPTIONS)[0] | {"rm": True, "detach": True}, [])  # type: ignore[index]
