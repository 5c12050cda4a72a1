"""Bad Dockerfiles give one-line errors with the file, the line and Docker's wording."""

from __future__ import annotations

import pytest

from hull.build.instructions import parse_instructions
from hull.build.parser import DockerfileSyntaxError
from hull.build.stages import load_dockerfile
from hull.errors import InvalidArgument

CASES = [
    ("FROM busybox\nRUNN echo hi\n", "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)"),
    ("from busybox\n\nrunn echo\n", "Dockerfile:3: unknown instruction: runn (did you mean run?)"),
    ("FROM busybox\nFLY away\n", "Dockerfile:2: unknown instruction: FLY"),
    ("FROM busybox\nCOPY onlyone\n",
     "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
     "Destination could not be determined"),
    ("FROM busybox\nCOPY \\\n  onlyone\n",
     "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
     "Destination could not be determined"),
    ("FROM busybox\nRUN <<EOF\necho never ends\n", "Dockerfile:2: unterminated heredoc"),
    ("FROM busybox\nCOPY a <<EOF\nhi\nEOF\n",
     "Dockerfile:2: COPY cannot accept a heredoc as a destination"),
    ("# escape=x\nFROM busybox\n", "Dockerfile:1: invalid escape token 'x' does not match ` or \\"),
    ("# escape=\\\n# ESCAPE=`\nFROM busybox\n",
     "Dockerfile:2: only one escape parser directive can be used"),
    ("FROM busybox\nSHELL /bin/bash -c\n",
     "Dockerfile:2: SHELL requires the arguments to be in JSON form"),
    ('FROM busybox\nCMD ["echo", 1]\n',
     "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only"),
    ("FROM busybox AS 1st\n",
     'Dockerfile:1: invalid name for build stage: "1st", name can\'t start with a number '
     "or contain symbols"),
    ("FROM busybox extra\n", "Dockerfile:1: FROM requires either one or three arguments"),
    ("FROM busybox\nCOPY --form=a b c\n", "Dockerfile:2: unknown flag: --form (did you mean from?)"),
    ("FROM busybox\nCOPY --link=maybe a b\n",
     "Dockerfile:2: expecting boolean value for flag --link, not: maybe"),
    ("FROM busybox\nCOPY --from a b\n", "Dockerfile:2: missing a value on flag: --from"),
    ("FROM busybox\nCOPY --from=a --from=b c d\n",
     "Dockerfile:2: duplicate flag specified: --from"),
    ("FROM busybox\nENV --foo=bar A=1\n", "Dockerfile:2: unknown flag: --foo"),
    ("FROM busybox\nENV A\n", "Dockerfile:2: ENV must have two arguments"),
    ("FROM busybox\nENV A=1 B\n",
     "Dockerfile:2: Syntax error - can't find = in \"B\". Must be of the form: name=value"),
    ("FROM busybox\nLABEL =x\n", "Dockerfile:2: LABEL names can not be blank"),
    ("FROM busybox\nARG =x\n", "Dockerfile:2: ARG names can not be blank"),
    ("FROM busybox\nWORKDIR\n", "Dockerfile:2: WORKDIR requires exactly one argument"),
    ("FROM busybox\nEXPOSE\n", "Dockerfile:2: EXPOSE requires at least one argument"),
    ('FROM busybox\nVOLUME [""]\n', "Dockerfile:2: VOLUME specified can not be an empty string"),
    ("FROM busybox\nONBUILD FROM alpine\n",
     "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"),
    ("FROM busybox\nONBUILD ONBUILD RUN x\n",
     "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("FROM busybox\nHEALTHCHECK FOO bar\n",
     'Dockerfile:2: Unknown type "FOO" in HEALTHCHECK (try CMD)'),
    ("FROM busybox\nHEALTHCHECK CMD\n", "Dockerfile:2: Missing command after HEALTHCHECK CMD"),
    ("FROM busybox\nHEALTHCHECK NONE x\n", "Dockerfile:2: HEALTHCHECK NONE takes no arguments"),
    ("FROM busybox\nHEALTHCHECK --interval=1ns CMD true\n",
     'Dockerfile:2: Interval "interval" cannot be less than 1ms'),
    ("FROM busybox\nHEALTHCHECK --timeout=10 CMD true\n",
     'Dockerfile:2: time: missing unit in duration "10"'),
    ("FROM busybox\nHEALTHCHECK --retries=-1 CMD true\n",
     "Dockerfile:2: --retries cannot be negative (-1)"),
    ("FROM busybox\nRUN --network=bridge true\n", 'Dockerfile:2: invalid network mode "bridge"'),
    ("FROM busybox\nRUN --security=root true\n", 'Dockerfile:2: security "root" is not valid'),
    ("FROM busybox\nRUN --mount=type=cahce,target=/c true\n",
     'Dockerfile:2: unsupported mount type "cahce" (did you mean cache?)'),
    ("FROM busybox\nRUN --mount=type=bind,target=/a,uid=1 true\n",
     'Dockerfile:2: uid not allowed for "bind" type mounts'),
    ("FROM busybox\nRUN --mount=type=secret,id=a,from=b true\n",
     "Dockerfile:2: secret mount should not have a from"),
    ("FROM busybox\nRUN --mount=type=secret true\n",
     "Dockerfile:2: invalid secret mount. one of source, target required"),
    ("FROM busybox\nRUN --mount=type=cache,target=/a,sharing=all true\n",
     'Dockerfile:2: unsupported sharing value "all"'),
    ("FROM busybox\nRUN --mount=type=bind,target=/a,sharing=locked true\n",
     "Dockerfile:2: invalid cache sharing set for bind mount"),
    ("FROM busybox\nRUN --mount=type=bind,target=/a,tagret=/b true\n",
     "Dockerfile:2: unexpected key 'tagret' in 'tagret=/b' (did you mean target?)"),
    ("FROM busybox\nRUN --mount=type=tmpfs,target=/t,size=lots true\n",
     "Dockerfile:2: invalid value for size: lots"),
    ("FROM busybox\nRUN --mount=type=cache,target=/c,mode=999 true\n",
     "Dockerfile:2: invalid value 999 for mode"),
    ("FROM busybox\nRUN --mount=type=bind,target=/c,from=$STAGE true\n",
     "Dockerfile:2: 'from' doesn't support variable expansion, define alias stage instead"),
    ("FROM busybox\nRUN --mount=type=bind,target,from=x true\n",
     "Dockerfile:2: invalid field 'target' must be a key=value pair"),
    ("FROM busybox\nRUN --device=gpu true\n", "Dockerfile:2: unknown flag: --device"),
    ("", "Dockerfile: file with no instructions"),
    ("# only a comment\n\n", "Dockerfile:2: file with no instructions"),
]

STAGE_CASES = [
    ("RUN echo before from\nFROM busybox\n",
     "Dockerfile:1: no build stage in current context"),
    ("FROM busybox AS a\nFROM alpine AS A\n", 'Dockerfile:2: duplicate stage name "a"'),
    ("FROM busybox AS a\nCOPY --from=1 /x /y\nFROM alpine\n",
     "Dockerfile:2: invalid from flag value 1: refers to current or future build stage"),
    ("FROM busybox\nCOPY --from=5 /x /y\n", "Dockerfile:2: invalid stage index 5"),
    ("FROM busybox\nCOPY --from=$X /x /y\n",
     "Dockerfile:2: variable expansion is not supported for --from, define a new stage with "
     "FROM using ARG from global scope as a workaround"),
    ("ARG EMPTY\nFROM ${EMPTY}\n", "Dockerfile:2: base name (${EMPTY}) should not be blank"),
    ("FROM --platform=$NOPE busybox\n",
     "Dockerfile:1: empty platform value from expression $NOPE"),
    ("FROM busybox AS a\nCOPY --from=b /x /y\nFROM busybox AS b\nCOPY --from=a /x /y\n",
     "circular dependency detected on stage: a"),
    ("FROM busybox AS a\nRUN --mount=from=a,target=/x true\n",
     "circular dependency detected on stage: a"),
    ("ARG X=${Y:?required}\nFROM busybox\n",
     'Dockerfile:1: failed to process "${Y:?required}": Y: required'),
]


@pytest.mark.parametrize(("text", "message"), CASES)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse_instructions(text)
    assert str(caught.value) == message
    assert isinstance(caught.value, InvalidArgument)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("text", "message"), STAGE_CASES)
def test_stage_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        load_dockerfile(text)
    assert str(caught.value) == message


def test_error_names_the_dockerfile_used() -> None:
    with pytest.raises(DockerfileSyntaxError) as caught:
        load_dockerfile("FROM busybox\n\nRUNN x\n", filename="build/app.Dockerfile")
    assert str(caught.value) == ("build/app.Dockerfile:3: unknown instruction: RUNN "
                                 "(did you mean RUN?)")
    assert (caught.value.line, caught.value.detail) == (3, "unknown instruction: RUNN "
                                                           "(did you mean RUN?)")


def test_error_line_of_a_multi_line_instruction_is_its_first_line() -> None:
    with pytest.raises(DockerfileSyntaxError) as caught:
        parse_instructions("FROM busybox\nRUN \\\n  --network=bridge \\\n  true\n")
    assert (caught.value.line, caught.value.end_line) == (2, 4)
