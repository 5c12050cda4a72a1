"""History lines for a whole Dockerfile, compared with what Docker 20.10 wrote.

The expected lines were produced by ``docker history --no-trunc`` after building this
Dockerfile with Docker 20.10.24 (classic builder and its bundled BuildKit) with
``--build-arg OTHER=given``.  The small loop below plays the executor's part: it
keeps ENV, ARGs, SHELL and WORKDIR and expands each instruction before asking for
its history line.
"""

from __future__ import annotations

from hull.build.instructions import (
    ArgInstruction,
    EnvInstruction,
    Expander,
    HistoryContext,
    Instruction,
    ShellInstruction,
    WorkdirInstruction,
)
from hull.build.stages import StageArgs, load_dockerfile
from hull.record import replace

DOCKERFILE = """FROM busybox AS base
ARG VERSION=1.2.3
ARG OTHER
LABEL org.title="demo app" version=$VERSION
ENV PATH=/opt/bin:$PATH LANG=C.UTF-8
ENV LEGACY legacy value
MAINTAINER Jane Doe <jane@example.com>
WORKDIR /app
WORKDIR sub
COPY package*.json ./
COPY --chown=1:2 . .
RUN echo hello > /x
RUN ["/bin/echo", "exec", "form"]
USER 1000:1000
VOLUME /data /cache
VOLUME ["/json/volume"]
EXPOSE 80/udp 8000-8002 443
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=1m30s --retries=3 \\
  CMD curl -f http://localhost/ || exit 1
ONBUILD RUN make /src
SHELL ["/bin/sh", "-e", "-c"]
RUN echo shelled
ENTRYPOINT exec /app
CMD ["npm", "start"]
"""

BUILDKIT = """ARG VERSION=1.2.3
ARG OTHER
LABEL org.title=demo app version=1.2.3
ENV PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
ENV LEGACY=legacy value
MAINTAINER Jane Doe <jane@example.com>
WORKDIR /app
WORKDIR /app/sub
COPY package*.json ./ # buildkit
COPY . . # buildkit
RUN |2 VERSION=1.2.3 OTHER=given /bin/sh -c echo hello > /x # buildkit
RUN |2 VERSION=1.2.3 OTHER=given /bin/echo exec form # buildkit
USER 1000:1000
VOLUME [/data /cache]
VOLUME [/json/volume]
EXPOSE map[443/tcp:{} 80/udp:{} 8000/tcp:{} 8001/tcp:{} 8002/tcp:{}]
STOPSIGNAL SIGTERM
HEALTHCHECK &{["CMD-SHELL" "curl -f http://localhost/ || exit 1"] "30s" "3s" "1m30s" '\\x03'}
SHELL [/bin/sh -e -c]
RUN |2 VERSION=1.2.3 OTHER=given /bin/sh -e -c echo shelled # buildkit
ENTRYPOINT ["/bin/sh" "-e" "-c" "exec /app"]
CMD ["npm" "start"]"""

FILE_HASH = "file:95fcb11ebc68619d16d11d2387fd73f038875724fd1981cae75a86708c8d1f8f"
DIR_HASH = "dir:104143d73144ef67ff92f7a6c7221223fd862aaed52e73a9999088d374fb5e6e"
CLASSIC = f"""/bin/sh -c #(nop)  ARG VERSION=1.2.3
/bin/sh -c #(nop)  ARG OTHER
/bin/sh -c #(nop)  LABEL org.title=demo app version=1.2.3
/bin/sh -c #(nop)  ENV PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
/bin/sh -c #(nop)  ENV LEGACY=legacy value
/bin/sh -c #(nop)  MAINTAINER Jane Doe <jane@example.com>
/bin/sh -c #(nop) WORKDIR /app
/bin/sh -c #(nop) WORKDIR /app/sub
/bin/sh -c #(nop) COPY {FILE_HASH} in ./ \n\
/bin/sh -c #(nop) COPY --chown=1:2{DIR_HASH} in . \n\
|2 OTHER=given VERSION=1.2.3 /bin/sh -c echo hello > /x
|2 OTHER=given VERSION=1.2.3 /bin/echo exec form
/bin/sh -c #(nop)  USER 1000:1000
/bin/sh -c #(nop)  VOLUME [/data /cache]
/bin/sh -c #(nop)  VOLUME [/json/volume]
/bin/sh -c #(nop)  EXPOSE 443 80/udp 8000-8002
/bin/sh -c #(nop)  STOPSIGNAL SIGTERM
/bin/sh -c #(nop)  HEALTHCHECK \
&{{["CMD-SHELL" "curl -f http://localhost/ || exit 1"] "30s" "3s" "1m30s" '\\x03'}}
/bin/sh -c #(nop)  ONBUILD RUN make /src
/bin/sh -e -c #(nop)  SHELL [/bin/sh -e -c]
|2 OTHER=given VERSION=1.2.3 /bin/sh -e -c echo shelled
/bin/sh -e -c #(nop)  ENTRYPOINT ["/bin/sh" "-e" "-c" "exec /app"]
/bin/sh -e -c #(nop)  CMD ["npm" "start"]"""

BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


def history(style: str) -> list[str]:
    build = load_dockerfile(DOCKERFILE, build_args={"OTHER": "given"})
    (stage,) = build.stages
    env = dict(BASE_ENV)
    args = StageArgs(build.global_args, build.build_args)
    context = HistoryContext()
    hashes = iter([FILE_HASH, DIR_HASH])
    lines: list[str] = []
    for instruction in stage.instructions:
        expanded: Instruction = instruction.expand(Expander({**args.values, **env}))
        if instruction.KEYWORD in ("COPY", "ADD"):
            context = replace(context, source_hash=next(hashes))
        line = expanded.history_text(style, replace(
            context, build_args=tuple(args.run_build_args())))
        if line is not None:
            lines.append(line)
        if isinstance(instruction, ArgInstruction):
            args.declare(instruction, {**args.values, **env})
        elif isinstance(expanded, EnvInstruction):
            env.update((p.key, p.value) for p in expanded.pairs)
        elif isinstance(expanded, ShellInstruction):
            context = replace(context, shell=tuple(expanded.shell))
        elif isinstance(expanded, WorkdirInstruction):
            context = replace(context, workdir=expanded.resolve(context.workdir))
    return lines


def test_buildkit_history_matches_docker() -> None:
    assert history("buildkit") == BUILDKIT.split("\n")


def test_classic_history_matches_docker() -> None:
    assert history("classic") == CLASSIC.split("\n")
