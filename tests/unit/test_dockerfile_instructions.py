"""Typed instructions: what expands, what runs, and what ``docker history`` shows."""

from __future__ import annotations

import pytest

from hull.build.instructions import (
    AddInstruction,
    CmdInstruction,
    CopyInstruction,
    EnvInstruction,
    Expander,
    ExposeInstruction,
    HistoryContext,
    RunInstruction,
    WorkdirInstruction,
    parse_instructions,
)
from hull.build.run_mounts import MountError
from hull.errors import InvalidArgument

NODE_APP = """FROM node:18-alpine
WORKDIR /app
COPY package*.json ./
RUN npm install
COPY . .
EXPOSE 3000
CMD ["npm", "start"]
"""


def one(text: str):  # type: ignore[no-untyped-def]
    instructions = parse_instructions("FROM scratch\n" + text)
    assert len(instructions) == 2
    return instructions[1]


def test_walkthrough_history_buildkit_and_classic() -> None:
    instructions = parse_instructions(NODE_APP)
    buildkit = [i.history_text("buildkit") for i in instructions]
    assert buildkit == [None, "WORKDIR /app", "COPY package*.json ./ # buildkit",
                        "RUN /bin/sh -c npm install # buildkit", "COPY . . # buildkit",
                        "EXPOSE map[3000/tcp:{}]", 'CMD ["npm" "start"]']
    classic = HistoryContext(source_hash="file:e3b0c442")
    assert [i.history_text("classic", classic) for i in instructions] == [
        None, "/bin/sh -c #(nop) WORKDIR /app",
        "/bin/sh -c #(nop) COPY file:e3b0c442 in ./ ", "/bin/sh -c npm install",
        "/bin/sh -c #(nop) COPY file:e3b0c442 in . ", "/bin/sh -c #(nop)  EXPOSE 3000",
        '/bin/sh -c #(nop)  CMD ["npm" "start"]']


def test_run_history_lists_build_args_in_each_builders_order() -> None:
    run = one("RUN make")
    context = HistoryContext(build_args=(("VERSION", "1.0"), ("ARCH", "amd64")))
    assert run.history_text("buildkit", context) == (
        "RUN |2 VERSION=1.0 ARCH=amd64 /bin/sh -c make # buildkit")
    assert run.history_text("classic", context) == "|2 ARCH=amd64 VERSION=1.0 /bin/sh -c make"


def test_history_uses_the_current_shell_and_workdir() -> None:
    context = HistoryContext(shell=("/bin/bash", "-o", "pipefail", "-c"), workdir="/srv")
    assert one("RUN ls | wc").history_text("buildkit", context) == (
        "RUN /bin/bash -o pipefail -c ls | wc # buildkit")
    assert one("CMD serve").history_text("buildkit", context) == (
        'CMD ["/bin/bash" "-o" "pipefail" "-c" "serve"]')
    assert one("ENV A=1").history_text("classic", context) == (
        "/bin/bash -o pipefail -c #(nop)  ENV A=1")
    assert one("WORKDIR ../data/./x").history_text("buildkit", context) == "WORKDIR /data/x"
    assert one("WORKDIR /abs//path").history_text("buildkit", context) == "WORKDIR /abs//path"


def test_cmd_and_entrypoint_are_never_expanded_by_the_builder() -> None:
    cmd = one("CMD echo $HOME")
    assert isinstance(cmd, CmdInstruction) and not cmd.EXPANDS
    assert cmd.expand(Expander({"HOME": "/root"})) is cmd
    assert cmd.argv() == ["/bin/sh", "-c", "echo $HOME"]
    exec_form = one('ENTRYPOINT ["/bin/app", "$HOME"]')
    assert exec_form.argv(("/bin/bash", "-c")) == ["/bin/app", "$HOME"]


def test_env_copy_workdir_user_expand_variables() -> None:
    expander = Expander({"APP": "/srv/app", "U": "1000", "V": "two words"})
    env = one('ENV DIR=$APP/bin MSG="${V} here"').expand(expander)
    assert isinstance(env, EnvInstruction)
    assert [(p.key, p.value) for p in env.pairs] == [("DIR", "/srv/app/bin"),
                                                     ("MSG", "two words here")]
    legacy = one("ENV LEGACY ${V} and more").expand(expander)
    assert [(p.key, p.value, p.legacy) for p in legacy.pairs] == [
        ("LEGACY", "two words and more", True)]
    copy = one("COPY --chown=$U:$U --from=build ${APP}/dist $APP/").expand(expander)
    assert isinstance(copy, CopyInstruction)
    assert (copy.sources, copy.dest, copy.chown, copy.from_) == (
        ["/srv/app/dist"], "/srv/app/", "1000:1000", "build")
    assert one("WORKDIR ${APP:-/default}").expand(expander).path == "/srv/app"
    assert one("USER ${U}:${G:-100}").expand(expander).user == "1000:100"
    assert one("VOLUME $APP/data").expand(expander).volumes == ["/srv/app/data"]
    assert one("STOPSIGNAL ${SIG:-SIGQUIT}").expand(expander).signal == "SIGQUIT"


def test_expose_expands_to_several_ports_and_ranges() -> None:
    expose = one("EXPOSE $PORTS 9000-9001/udp").expand(Expander({"PORTS": "80 443/tcp"}))
    assert isinstance(expose, ExposeInstruction)
    assert expose.exposed_ports() == ["80/tcp", "443/tcp", "9000/udp", "9001/udp"]
    assert expose.history_text() == (
        "EXPOSE map[443/tcp:{} 80/tcp:{} 9000/udp:{} 9001/udp:{}]")
    with pytest.raises(InvalidArgument, match="invalid proto: xyz"):
        one("EXPOSE 80/xyz").exposed_ports()
    with pytest.raises(InvalidArgument, match="invalid containerPort: 99999"):
        one("EXPOSE 99999").exposed_ports()


def test_run_mount_with_variable_is_resolved_on_expansion() -> None:
    run = one("RUN --mount=type=cache,target=/cache,uid=$UID,id=${CACHE_ID} true")
    assert isinstance(run, RunInstruction)
    assert run.mounts is None
    expanded = run.expand(Expander({"UID": "1000", "CACHE_ID": "deps"}))
    assert expanded.mounts is not None
    (mount,) = expanded.mounts
    assert (mount.type, mount.target, mount.uid, mount.id, mount.read_only) == (
        "cache", "/cache", 1000, "deps", False)
    with pytest.raises(MountError, match="invalid value abc for uid"):
        run.expand(Expander({"UID": "abc", "CACHE_ID": "x"}))


def test_run_heredoc_argv_forms() -> None:
    simple = one("RUN <<EOF\necho one\necho two\nEOF")
    assert simple.argv() == ["/bin/sh", "-c", "echo one\necho two\n"]
    script = one("RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF")
    assert script.argv() == ["/bin/sh", "-c", "/dev/pipes/EOF"]
    assert script.script_heredoc() is not None
    assert script.script_heredoc().content.startswith("#!")
    piped = one("RUN cat <<A > /a\nbody\nA")
    assert piped.argv() == ["/bin/sh", "-c", "cat <<A > /a\nbody\nA"]
    assert piped.script_heredoc() is None


def test_copy_heredoc_contents_expand_only_when_unquoted() -> None:
    copy = one('COPY <<A <<"B" /etc/\nhi $NAME "quoted"\nA\nraw $NAME\nB')
    assert isinstance(copy, CopyInstruction)
    expanded = copy.expand_contents({"NAME": "world"})
    assert [(c.path, c.data) for c in expanded.contents] == [
        ("A", 'hi world "quoted"\n'), ("B", "raw $NAME\n")]


def test_add_optional_flags_distinguish_unset_from_false() -> None:
    add = one("ADD --keep-git-dir=false --unpack src /dst")
    assert isinstance(add, AddInstruction)
    assert (add.keep_git_dir, add.unpack) == (False, True)
    plain = one("ADD src /dst")
    assert (plain.keep_git_dir, plain.unpack) == (None, None)


def test_workdir_resolution() -> None:
    workdir = one("WORKDIR sub/dir")
    assert isinstance(workdir, WorkdirInstruction)
    assert workdir.resolve("/app") == "/app/sub/dir"
    assert workdir.resolve("/") == "/sub/dir"
    assert one("WORKDIR /x/../y").resolve("/app") == "/x/../y"


def test_instructions_keep_their_line_ranges() -> None:
    text = "FROM a\n\nRUN one \\\n  two\n# c\nCOPY <<EOF /x\nbody\nEOF\nUSER me\n"
    lines = [(i.KEYWORD, i.start_line, i.end_line) for i in parse_instructions(text)]
    assert lines == [("FROM", 1, 1), ("RUN", 3, 4), ("COPY", 6, 8), ("USER", 9, 9)]


def test_onbuild_trigger_is_a_typed_instruction() -> None:
    onbuild = one("onbuild   copy --chown=1 . /app")
    assert onbuild.expression == "copy --chown=1 . /app"
    assert isinstance(onbuild.trigger, CopyInstruction)
    assert onbuild.trigger.chown == "1"
    assert onbuild.history_text("buildkit") is None
    assert onbuild.history_text("classic") == (
        "/bin/sh -c #(nop)  ONBUILD copy --chown=1 . /app")
