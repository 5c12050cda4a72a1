"""Stages: global and per-stage ARGs, references between stages, what a target needs."""

from __future__ import annotations

import pytest

from hull.build.instructions import ArgInstruction, CopyInstruction, EnvInstruction, Expander
from hull.build.stages import Platform, StageArgs, load_dockerfile
from hull.errors import NotFound

MULTISTAGE = """FROM node:18 AS builder
WORKDIR /app
COPY package*.json ./
RUN npm ci
COPY . .
RUN npm run build

FROM node:18-alpine
WORKDIR /app
COPY --from=builder /app/dist ./dist
EXPOSE 3000
CMD ["node", "dist/index.js"]
"""


def names(waves):  # type: ignore[no-untyped-def]
    return [[s.display_name for s in wave] for wave in waves]


def test_walkthrough_multistage() -> None:
    build = load_dockerfile(MULTISTAGE)
    builder, final = build.stages
    assert (builder.name, builder.base_name, builder.base_stage) == ("builder", "node:18", None)
    assert (final.name, final.base_name, final.display_name) == ("", "node:18-alpine", "stage-1")
    assert len(builder.instructions) == 5 and len(final.instructions) == 4
    assert build.stage_deps == {0: set(), 1: {0}}
    assert build.image_deps == {0: {"node:18"}, 1: {"node:18-alpine"}}
    assert names(build.build_order()) == [["builder"], ["stage-1"]]
    assert [s.name for s in build.stages_needed("builder")] == ["builder"]


def test_only_needed_stages_are_built_and_independent_ones_in_parallel() -> None:
    build = load_dockerfile("""FROM alpine AS deps
FROM alpine AS assets
FROM alpine AS unused
FROM deps AS compile
RUN --mount=type=bind,from=assets,target=/assets true
FROM scratch
COPY --from=compile /out /
COPY --from=0 /lock /
""")
    assert [s.display_name for s in build.stages_needed()] == [
        "deps", "assets", "compile", "stage-4"]
    assert names(build.build_order()) == [["deps", "assets"], ["compile"], ["stage-4"]]
    assert build.stages[3].base_stage == 0
    assert build.stages[4].is_scratch
    assert names(build.build_order("unused")) == [["unused"]]


def test_stage_names_are_case_insensitive() -> None:
    build = load_dockerfile("FROM alpine AS Builder\nFROM BUILDER AS next\n"
                            "COPY --from=bUiLdEr /a /b\n")
    assert build.stages[0].name == "builder"
    assert build.stages[1].base_stage == 0
    assert build.target("NEXT").name == "next"
    assert build.stage_deps[1] == {0}


def test_unknown_target_suggests_a_stage() -> None:
    build = load_dockerfile(MULTISTAGE)
    with pytest.raises(NotFound, match=r'^target stage "buidler" could not be found '
                                       r"\(did you mean builder\?\)$"):
        build.stages_needed("buidler")


def test_copy_from_unknown_name_is_an_image() -> None:
    build = load_dockerfile("FROM alpine\nCOPY --from=nginx:latest /etc/nginx /etc/nginx\n"
                            "RUN --mount=from=golang:1.22,target=/go true\n")
    assert build.stage_deps == {0: set()}
    assert build.image_deps == {0: {"alpine", "nginx:latest", "golang:1.22"}}


def test_global_args_apply_to_from_lines_only() -> None:
    text = """ARG TAG=3.19
ARG IMAGE=alpine:${TAG}
FROM ${IMAGE} AS base
RUN echo $TAG
FROM base
ARG TAG
ARG OTHER=x-${TAG}
"""
    build = load_dockerfile(text)
    assert build.stages[0].base_name == "alpine:3.19"
    assert build.global_args["IMAGE"] == "alpine:3.19"
    # Inside a stage a global ARG is visible only once re-declared.
    args = StageArgs(build.global_args, build.build_args)
    assert args.values == {}
    second = build.stages[1].instructions
    assert isinstance(second[0], ArgInstruction) and isinstance(second[1], ArgInstruction)
    args.declare(second[0], {})
    args.declare(second[1], args.values)
    assert args.values == {"TAG": "3.19", "OTHER": "x-3.19"}


def test_build_args_override_defaults_and_globals() -> None:
    text = "ARG TAG=3.19\nFROM alpine:${TAG}\nARG TAG\nARG MODE=debug\nARG UNSET\n"
    build = load_dockerfile(text, build_args={"TAG": "edge", "MODE": "release",
                                              "HTTP_PROXY": "http://proxy:3128"})
    assert build.stages[0].base_name == "alpine:edge"
    args = StageArgs(build.global_args, build.build_args)
    for instruction in build.stages[0].instructions:
        assert isinstance(instruction, ArgInstruction)
        args.declare(instruction, args.values)
    assert args.values == {"TAG": "edge", "MODE": "release"}
    assert args.run_build_args() == [("TAG", "edge"), ("MODE", "release"), ("UNSET", ""),
                                     ("HTTP_PROXY", "http://proxy:3128")]


def test_arg_default_expands_with_the_stage_environment() -> None:
    build = load_dockerfile("FROM alpine\nENV BASE=/opt\nARG DIR=${BASE}/app\n")
    env_instruction, arg_instruction = build.stages[0].instructions
    assert isinstance(env_instruction, EnvInstruction)
    env = {p.key: p.value for p in env_instruction.expand(Expander({})).pairs}
    args = StageArgs(build.global_args, build.build_args)
    assert isinstance(arg_instruction, ArgInstruction)
    (resolved,) = args.declare(arg_instruction, env)
    assert (resolved.key, resolved.value) == ("DIR", "/opt/app")


def test_platform_args_are_predefined_globals() -> None:
    text = ("FROM --platform=$BUILDPLATFORM golang AS build\n"
            "FROM alpine:${TARGETARCH}${TARGETVARIANT:+-$TARGETVARIANT}\n"
            "ARG TARGETPLATFORM\n")
    build = load_dockerfile(text, target_platform=Platform("linux", "arm", "v7"),
                            build_platform=Platform("linux", "amd64"))
    assert build.stages[0].platform == "linux/amd64"
    assert build.stages[1].base_name == "alpine:arm-v7"
    args = StageArgs(build.global_args, build.build_args)
    arg = build.stages[1].instructions[0]
    assert isinstance(arg, ArgInstruction)
    args.declare(arg, {})
    assert args.values == {"TARGETPLATFORM": "linux/arm/v7"}
    assert {k: build.global_args[k] for k in ("BUILDOS", "BUILDARCH", "TARGETOS")} == {
        "BUILDOS": "linux", "BUILDARCH": "amd64", "TARGETOS": "linux"}


def test_build_arg_can_override_a_platform_arg() -> None:
    build = load_dockerfile("FROM alpine:$TARGETARCH\n", build_args={"TARGETARCH": "riscv64"},
                            target_platform=Platform("linux", "amd64"))
    assert build.stages[0].base_name == "alpine:riscv64"


def test_copy_from_a_later_stage_by_name_is_a_dependency() -> None:
    build = load_dockerfile("FROM alpine AS first\nCOPY --from=second /a /a\n"
                            "FROM alpine AS second\n")
    assert build.stage_deps == {0: {1}, 1: set()}
    assert names(build.build_order("first")) == [["second"], ["first"]]
    copy = build.stages[0].instructions[0]
    assert isinstance(copy, CopyInstruction) and copy.from_ == "second"


def test_platform_parsing() -> None:
    assert str(Platform.parse("linux/arm64")) == "linux/arm64"
    assert str(Platform.parse("linux/arm/v7")) == "linux/arm/v7"
    assert Platform.parse("LINUX/AMD64") == Platform("linux", "amd64")
