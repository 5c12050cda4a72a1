"""Conformance table: Dockerfiles covering each instruction and parser rule, with the
resulting image config checked field by field (and, where it matters, the files and the
behaviour of the image), as ``docker image inspect`` would show them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HullEnv
from tests.integration.build_fixtures.helpers import image_output, inspect, write_context

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="builds need root")

PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Case:
    name: str
    dockerfile: str
    config: dict[str, Any] = field(default_factory=dict)  # Config field -> exact value
    env: list[str] = field(default_factory=list)  # entries Config.Env must contain
    top: dict[str, Any] = field(default_factory=dict)  # top-level inspect fields
    runs: list[tuple[list[str], str]] = field(default_factory=list)  # command -> stdout
    args: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("env", 'ENV A=1 B="two words"\nENV C ${A}-x\nENV D=$B\n',
         env=["A=1", "B=two words", "C=1-x", "D=two words"],
         runs=[(["sh", "-c", "echo $C"], "1-x\n")]),
    Case("label", 'LABEL a=b "c d"=e\nLABEL a=override\n', args=["--label", "from=flag"],
         config={"Labels": {"a": "override", "c d": "e", "from": "flag"}}),
    Case("expose", "EXPOSE 80 443/udp 8000-8001\n",
         config={"ExposedPorts": {"80/tcp": {}, "443/udp": {}, "8000/tcp": {},
                                  "8001/tcp": {}}}),
    Case("cmd-shell-form", "CMD echo hi there\n",
         config={"Cmd": ["/bin/sh", "-c", "echo hi there"], "Entrypoint": None},
         runs=[([], "hi there\n")]),
    Case("entrypoint-and-cmd", 'ENTRYPOINT ["/bin/echo", "e"]\nCMD ["c"]\n',
         config={"Entrypoint": ["/bin/echo", "e"], "Cmd": ["c"]}, runs=[([], "e c\n")]),
    Case("entrypoint-clears-inherited-cmd",
         'FROM busybox AS base\nCMD ["from-base"]\nFROM base\nENTRYPOINT ["/bin/echo"]\n',
         config={"Entrypoint": ["/bin/echo"], "Cmd": None}),
    Case("shell", 'SHELL ["/bin/sh", "-ec"]\nRUN echo "$0 $-" > /shell-flags\nCMD echo x\n',
         config={"Shell": ["/bin/sh", "-ec"], "Cmd": ["/bin/sh", "-ec", "echo x"]},
         files={"/shell-flags": "/bin/sh ce\n"}),
    Case("user", "USER www-data\nRUN id -u > /tmp/uid\n",
         config={"User": "www-data"}, files={"/tmp/uid": "33\n"}),
    Case("workdir", "ENV X=c\nWORKDIR /a\nWORKDIR b\nWORKDIR $X\nRUN pwd > /pwd\n",
         config={"WorkingDir": "/a/b/c"}, files={"/pwd": "/a/b/c\n"}),
    Case("volume", 'VOLUME ["/data", "/logs"]\nVOLUME /more\n',
         config={"Volumes": {"/data": {}, "/logs": {}, "/more": {}}}),
    Case("stopsignal", "ARG SIG=SIGQUIT\nSTOPSIGNAL $SIG\n", config={"StopSignal": "SIGQUIT"}),
    Case("healthcheck", "HEALTHCHECK --interval=5s --timeout=2s --retries=3 "
                        "CMD wget -q -O- localhost || exit 1\n",
         config={"Healthcheck": {"Test": ["CMD-SHELL", "wget -q -O- localhost || exit 1"],
                                 "Interval": 5_000_000_000, "Timeout": 2_000_000_000,
                                 "Retries": 3}}),
    Case("healthcheck-none", "HEALTHCHECK NONE\n", config={"Healthcheck": {"Test": ["NONE"]}}),
    Case("onbuild", "ONBUILD RUN echo triggered > /trigger\nONBUILD ENV T=1\n",
         config={"OnBuild": ["RUN echo triggered > /trigger", "ENV T=1"]}),
    Case("onbuild-triggers-run-in-child",
         "FROM busybox AS parent\nONBUILD RUN echo triggered > /trigger\n"
         "FROM parent\nRUN cat /trigger > /seen\n",
         config={"OnBuild": None}, files={"/seen": "triggered\n"}),
    Case("maintainer", "MAINTAINER Jane Doe <jane@example.com>\n",
         top={"Author": "Jane Doe <jane@example.com>"}),
    Case("arg-before-from", "ARG BASE=busybox\nFROM ${BASE}\nARG BASE\nRUN echo $BASE > /base\n",
         files={"/base": "busybox\n"}),
    Case("build-arg-overrides-default", "ARG V=default\nRUN echo $V > /v\n",
         args=["--build-arg", "V=given"], files={"/v": "given\n"}),
    Case("predefined-platform-args", "ARG TARGETOS\nARG TARGETARCH\n"
                                     "RUN echo $TARGETOS > /os\n", files={"/os": "linux\n"}),
    Case("env-wins-over-arg", "ARG X=arg\nENV X=env\nRUN echo $X > /x\n", files={"/x": "env\n"}),
    Case("lowercase-instructions", "run echo lower > /lower\ncmd [\"true\"]\n",
         config={"Cmd": ["true"]}, files={"/lower": "lower\n"}),
    Case("continuations-with-comments",
         "RUN echo one \\\n# a comment inside\n\n    two > /joined\n",
         files={"/joined": "one two\n"}),
    Case("escape-directive", "# escape=`\nFROM busybox\nRUN echo a `\n    b > /escaped\n",
         files={"/escaped": "a b\n"}),
    Case("heredoc-run", "RUN <<EOF\necho first > /h1\necho second >> /h1\nEOF\n",
         files={"/h1": "first\nsecond\n"}),
    Case("heredoc-copy", "ARG WHO=world\nCOPY <<EOF /greeting\nhello $WHO\nEOF\n",
         files={"/greeting": "hello world\n"}),
    Case("heredoc-script", "RUN <<EOF\n#!/bin/sh\necho from-script > /script-out\nEOF\n",
         files={"/script-out": "from-script\n"}),
    Case("exec-form-run", 'RUN ["/bin/sh", "-c", "echo exec > /exec"]\n',
         files={"/exec": "exec\n"}),
    Case("json-with-variables-not-expanded", 'ENV V=x\nCMD ["echo", "$V"]\n',
         config={"Cmd": ["echo", "$V"]}, runs=[([], "$V\n")]),
]


def _dockerfile(case: Case) -> str:
    text = case.dockerfile
    if "FROM " in text.split("\n# escape", 1)[0] or text.startswith("# escape"):
        return text
    return "FROM busybox\n" + text


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance(case: Case, hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": _dockerfile(case)})
    hull.ok("build", "-q", "-t", "conf", *case.args, str(ctx))
    image = inspect(hull, "conf")
    config = image["Config"]
    for key, expected in case.config.items():
        assert config.get(key) == expected, (key, config)
    for entry in case.env:
        assert entry in (config["Env"] or []), config["Env"]
    for key, expected in case.top.items():
        assert image[key] == expected
    for command, stdout in case.runs:
        assert image_output(hull, "conf", command or None) == stdout
    for path, content in case.files.items():
        assert image_output(hull, "conf", [path], entrypoint=["cat"]) == content


def test_every_instruction_is_in_the_history(hull: HullEnv, busybox: str,
                                             tmp_path: Path) -> None:
    dockerfile = ("FROM busybox\nARG A=1\nENV E=2\nLABEL l=3\nWORKDIR /w\nRUN touch f\n"
                  "COPY x /x\nADD x /y\nEXPOSE 80\nUSER root\nVOLUME /v\nSTOPSIGNAL SIGINT\n"
                  "HEALTHCHECK CMD true\nSHELL [\"/bin/sh\", \"-c\"]\nENTRYPOINT [\"sh\"]\n"
                  "CMD [\"-c\", \"true\"]\nMAINTAINER m\n")
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": dockerfile, "x": "data"})
    hull.ok("build", "-q", "-t", "hist", str(ctx))
    rows = hull.ok("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}",
                   "hist").splitlines()
    created_by = [r.rsplit("|", 1)[0] for r in rows]
    for keyword in ("ARG A=1", "ENV E=2", "LABEL l=3", "WORKDIR /w", "RUN |1 A=1 /bin/sh -c touch f",
                    "COPY x /x", "ADD x /y", "EXPOSE", "USER root", "VOLUME [/v]",
                    "STOPSIGNAL SIGINT", "HEALTHCHECK", "SHELL [/bin/sh -c]",
                    'ENTRYPOINT ["sh"]', 'CMD ["-c" "true"]', "MAINTAINER m"):
        assert any(c.startswith(keyword) for c in created_by), (keyword, created_by)
    sizes = {r.rsplit("|", 1)[0].split(" ")[0]: r.rsplit("|", 1)[1] for r in rows}
    assert sizes["ENV"] == "0B" and sizes["CMD"] == "0B" and sizes["EXPOSE"] == "0B"
    assert sizes["COPY"] == "4B" and sizes["ADD"] == "4B"
