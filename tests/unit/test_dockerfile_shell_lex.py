"""Docker's shell-word lexer against BuildKit's own expectation tables.

``ENV_VAR_CASES`` is BuildKit's ``frontend/dockerfile/shell/envVarTest`` (Unix rows)
with PWD=/home, SHELL=bash, KOREAN=한국어 and NULL set to the empty string; ``None``
marks an expected error.  ``WORDS_CASES`` is its ``wordsTest``.
"""

from __future__ import annotations

import pytest

from hull.build.shell_lex import ShellLex, ShellLexError

ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}

ENV_VAR_CASES = [
    ('hello', 'hello'),
    ("he'll'o", 'hello'),
    ("he'llo", None),
    ("he\\'llo", "he'llo"),
    ("he\\\\'llo", None),
    ('abc\\tdef', 'abctdef'),
    ('"abc\\tdef"', 'abc\\tdef'),
    ('"abc\\\\tdef"', 'abc\\tdef'),
    ("'abc\\tdef'", 'abc\\tdef'),
    ('hello\\', 'hello'),
    ('hello\\\\', 'hello\\'),
    ('"hello', None),
    ('"hello\\"', None),
    ('"hel\'lo"', "hel'lo"),
    ("'hello", None),
    ("'hello\\'", 'hello\\'),
    ("'hello\\there'", 'hello\\there'),
    ("'hello\\\\there'", 'hello\\\\there'),
    ('"\'\'"', "''"),
    ('$.', '$.'),
    ('he$1x', 'hex'),
    ('he$.x', 'he$.x'),
    ('he$pwd.', 'he.'),
    ('he$PWD', 'he/home'),
    ('he\\$PWD', 'he$PWD'),
    ('he\\\\$PWD', 'he\\/home'),
    ('"he\\$PWD"', 'he$PWD'),
    ('"he\\\\$PWD"', 'he\\/home'),
    ('\\${}', '${}'),
    ('\\${}aaa', '${}aaa'),
    ('he\\${}', 'he${}'),
    ('he\\${}xx', 'he${}xx'),
    ('${}', None),
    ('${}aaa', None),
    ('he${}', None),
    ('he${}xx', None),
    ('he${hi}', 'he'),
    ('he${hi}xx', 'hexx'),
    ('he${PWD}', 'he/home'),
    ('he${.}', None),
    ('he${XXX:-000}xx', 'he000xx'),
    ('he${PWD:-000}xx', 'he/homexx'),
    ('he${XXX:-$PWD}xx', 'he/homexx'),
    ('he${XXX:-${PWD:-yyy}}xx', 'he/homexx'),
    ('he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'),
    ('he${XXX:YYY}', None),
    ('he${XXX?}', None),
    ('he${XXX:?}', None),
    ('he${PWD?}', 'he/home'),
    ('he${PWD:?}', 'he/home'),
    ('he${NULL?}', 'he'),
    ('he${NULL:?}', None),
    ('he${XXX:+${PWD}}xx', 'hexx'),
    ('he${PWD:+${XXX}}xx', 'hexx'),
    ('he${PWD:+${SHELL}}xx', 'hebashxx'),
    ('he${XXX:+000}xx', 'hexx'),
    ('he${PWD:+000}xx', 'he000xx'),
    ("'he${XX}'", 'he${XX}'),
    ('"he${PWD}"', 'he/home'),
    ('"he\'$PWD\'"', "he'/home'"),
    ('"$PWD"', '/home'),
    ("'$PWD'", '$PWD'),
    ("'\\$PWD'", '\\$PWD'),
    ('\'"hello"\'', '"hello"'),
    ('he\\$PWD', 'he$PWD'),
    ('"he\\$PWD"', 'he$PWD'),
    ("'he\\$PWD'", 'he\\$PWD'),
    ('he${PWD', None),
    ('he${PWD:=000}xx', None),
    ('he${PWD:+${PWD}:}xx', 'he/home:xx'),
    ('he${XXX:-\\$PWD:}xx', 'he$PWD:xx'),
    ('he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'),
    ('안녕하세요', '안녕하세요'),
    ("안'녕'하세요", '안녕하세요'),
    ("안'녕하세요", None),
    ("안녕\\'하세요", "안녕'하세요"),
    ("안\\\\'녕하세요", None),
    ('안녕\\t하세요', '안녕t하세요'),
    ('"안녕\\t하세요"', '안녕\\t하세요'),
    ("'안녕\\t하세요", None),
    ('안녕하세요\\', '안녕하세요'),
    ('안녕하세요\\\\', '안녕하세요\\'),
    ('"안녕하세요', None),
    ('"안녕하세요\\"', None),
    ('"안녕\'하세요"', "안녕'하세요"),
    ("'안녕하세요", None),
    ("'안녕하세요\\'", '안녕하세요\\'),
    ('안녕$1x', '안녕x'),
    ('안녕$.x', '안녕$.x'),
    ('안녕$pwd.', '안녕.'),
    ('안녕$PWD', '안녕/home'),
    ('안녕\\$PWD', '안녕$PWD'),
    ('안녕\\\\$PWD', '안녕\\/home'),
    ('안녕\\${}', '안녕${}'),
    ('안녕\\${}xx', '안녕${}xx'),
    ('안녕${}', None),
    ('안녕${}xx', None),
    ('안녕${hi}', '안녕'),
    ('안녕${hi}xx', '안녕xx'),
    ('안녕${PWD}', '안녕/home'),
    ('안녕${.}', None),
    ('안녕${XXX:-000}xx', '안녕000xx'),
    ('안녕${PWD:-000}xx', '안녕/homexx'),
    ('안녕${XXX:-$PWD}xx', '안녕/homexx'),
    ('안녕${XXX:-${PWD:-yyy}}xx', '안녕/homexx'),
    ('안녕${XXX:-${YYY:-yyy}}xx', '안녕yyyxx'),
    ('안녕${XXX:YYY}', None),
    ('안녕${XXX:+${PWD}}xx', '안녕xx'),
    ('안녕${PWD:+${XXX}}xx', '안녕xx'),
    ('안녕${PWD:+${SHELL}}xx', '안녕bashxx'),
    ('안녕${XXX:+000}xx', '안녕xx'),
    ('안녕${PWD:+000}xx', '안녕000xx'),
    ("'안녕${XX}'", '안녕${XX}'),
    ('"안녕${PWD}"', '안녕/home'),
    ('"안녕\'$PWD\'"', "안녕'/home'"),
    ('\'"안녕"\'', '"안녕"'),
    ('안녕\\$PWD', '안녕$PWD'),
    ('"안녕\\$PWD"', '안녕$PWD'),
    ("'안녕\\$PWD'", '안녕\\$PWD'),
    ('안녕${PWD', None),
    ('안녕${PWD:=000}xx', None),
    ('안녕${PWD:+${PWD}:}xx', '안녕/home:xx'),
    ('안녕${XXX:-\\$PWD:}xx', '안녕$PWD:xx'),
    ('안녕${XXX:-\\${PWD}z}xx', '안녕${PWDz}xx'),
    ('$KOREAN', '한국어'),
    ('안녕$KOREAN', '안녕한국어'),
    ('${{aaa}', None),
    ('${aaa}}', '}'),
    ('${aaa', None),
    ('${{aaa:-bbb}', None),
    ('${aaa:-bbb}}', 'bbb}'),
    ('${aaa:-bbb', None),
    ('${aaa:-bbb}', 'bbb'),
    ('${aaa:-${bbb:-ccc}}', 'ccc'),
    ('${aaa:-bbb ${foo}', None),
    ('${aaa:-bbb {foo}', 'bbb {foo'),
    ('${:}', None),
    ('${:-bbb}', None),
    ('${:+bbb}', None),
    ('$1', ''),
    ('${1}', ''),
    ('${1:+bbb}', ''),
    ('${1:-bbb}', 'bbb'),
    ('$2', ''),
    ('${2}', ''),
    ('${2:+bbb}', ''),
    ('${2:-bbb}', 'bbb'),
    ('$3', ''),
    ('${3}', ''),
    ('${3:+bbb}', ''),
    ('${3:-bbb}', 'bbb'),
    ('$4', ''),
    ('${4}', ''),
    ('${4:+bbb}', ''),
    ('${4:-bbb}', 'bbb'),
    ('$5', ''),
    ('${5}', ''),
    ('${5:+bbb}', ''),
    ('${5:-bbb}', 'bbb'),
    ('$6', ''),
    ('${6}', ''),
    ('${6:+bbb}', ''),
    ('${6:-bbb}', 'bbb'),
    ('$7', ''),
    ('${7}', ''),
    ('${7:+bbb}', ''),
    ('${7:-bbb}', 'bbb'),
    ('$8', ''),
    ('${8}', ''),
    ('${8:+bbb}', ''),
    ('${8:-bbb}', 'bbb'),
    ('$9', ''),
    ('${9}', ''),
    ('${9:+bbb}', ''),
    ('${9:-bbb}', 'bbb'),
    ('$999', ''),
    ('${999}', ''),
    ('${999:+bbb}', ''),
    ('${999:-bbb}', 'bbb'),
    ('$999aaa', 'aaa'),
    ('${999}aaa', 'aaa'),
    ('${999:+bbb}aaa', 'aaa'),
    ('${999:-bbb}aaa', 'bbbaaa'),
    ('$001', ''),
    ('${001}', ''),
    ('${001:+bbb}', ''),
    ('${001:-bbb}', 'bbb'),
    ('$001aaa', 'aaa'),
    ('${001}aaa', 'aaa'),
    ('${001:+bbb}aaa', 'aaa'),
    ('${001:-bbb}aaa', 'bbbaaa'),
    ('$@', ''),
    ('${@}', ''),
    ('${@:+bbb}', ''),
    ('${@:-bbb}', 'bbb'),
    ('$@@@', '@@'),
    ('$@aaa', 'aaa'),
    ('${@}aaa', 'aaa'),
    ('${@:+bbb}aaa', 'aaa'),
    ('${@:-bbb}aaa', 'bbbaaa'),
    ('$*', ''),
    ('${*}', ''),
    ('${*:+bbb}', ''),
    ('${*:-bbb}', 'bbb'),
    ('$#', ''),
    ('${#}', ''),
    ('${#:+bbb}', ''),
    ('${#:-bbb}', 'bbb'),
    ('$?', ''),
    ('${?}', ''),
    ('${?:+bbb}', ''),
    ('${?:-bbb}', 'bbb'),
    ('$-', ''),
    ('${-}', ''),
    ('${-:+bbb}', ''),
    ('${-:-bbb}', 'bbb'),
    ('$$', ''),
    ('${$}', ''),
    ('${$:+bbb}', ''),
    ('${$:-bbb}', 'bbb'),
    ('$!', ''),
    ('${!}', ''),
    ('${!:+bbb}', ''),
    ('${!:-bbb}', 'bbb'),
    ('$0', ''),
    ('${0}', ''),
    ('${0:+bbb}', ''),
    ('${0:-bbb}', 'bbb'),
]

# (environment, input, expected words) from wordsTest; "error" means an error.
WORDS_CASES = [
    ({}, "hello", ["hello"]),
    ({}, "hello${hi}bye", ["hellobye"]),
    ({"hi": "hi"}, "hello${hi}bye", ["hellohibye"]),
    ({"space": "abc  def"}, "hello${space}bye", ["helloabc", "defbye"]),
    ({"space": "abc  def"}, 'hello"${space}"bye', ["helloabc  defbye"]),
    ({"space": "abc  def"}, 'hello "${space}"bye', ["hello", "abc  defbye"]),
    ({"leading": "  ab c"}, "hello${leading}def", ["hello", "ab", "cdef"]),
    ({"leading": "  ab c"}, 'hello"${leading}" def', ["hello  ab c", "def"]),
    ({"leading": "  ab c"}, 'hello"${leading}"', ["hello  ab c"]),
    ({"leading": "  ab c"}, "hello${leading}", ["hello", "ab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}", ["helloab", "c"]),
    ({"trailing": "ab c   "}, "hello${trailing}d", ["helloab", "c", "d"]),
    ({"trailing": "ab c   "}, 'hello"${trailing}"d', ["helloab c   d"]),
    ({"trailing": "ab c   "}, 'hel"lo${trailing}"', ["helloab c   "]),
    ({}, 'hello" there  "', ["hello there  "]),
    ({}, "hello there", ["hello", "there"]),
    ({}, "hello\\ there", ["hello there"]),
    ({}, 'hello" there', "error"),
    ({}, 'hello\\" there', ['hello"', "there"]),
    ({}, 'hello"\\\\there"', ["hello\\there"]),
    ({}, 'hello"\\there"', ["hello\\there"]),
    ({}, "hello'\\\\there'", ["hello\\\\there"]),
    ({}, "hello'\\there'", ["hello\\there"]),
    ({}, "hello'$there'", ["hello$there"]),
]

# (input, environment, expected or None for an error) from TestProcessWithMatches.
MATCH_CASES = [
    ("x ${UNUSED}", {"DUMMY": "dummy"}, "x "),
    ("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx  ccc"),
    ("${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", {"FOO": "xxx", "BAR": ""}, "xxx bbb ccc"),
    ("${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa bbb "),
    ("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", {"FOO": "xxx", "BAR": ""}, "aaa  "),
    ("${FOO?aaa}", {"FOO": "xxx"}, "xxx"),
    ("${BAR?bbb}", {"BAR": ""}, ""),
    ("${BAZ?ccc}", {}, None),
    ("${BAR:?bbb}", {"BAR": ""}, None),
    ("${BAZ:?}", {}, None),
    ("${FOO=aaa}", {"FOO": "xxx"}, None),
    ("${FOO=:aaa}", {"FOO": "xxx"}, None),
    ("${FOO#()[]{\\}^$.\\*\\?|\\\\}", {"FOO": "()[]{}^$.*?|\\x"}, "x"),
    ("${FOO%%\\**}", {"FOO": "xx**"}, "xx"),
    ("${FOO#*x*y}", {"FOO": "xxyy"}, "y"),
    ("${FOO#*}", {"FOO": "xxyy"}, "xxyy"),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": "x"}, "xyy"),
    ("${FOO#$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy"),
    ("${FOO##*x}", {"FOO": "xxyy"}, "yy"),
    ("${FOO#?\\?}", {"FOO": "???y"}, "?y"),
    ("${ABC:-.}${FOO%x}${ABC:-.}", {"FOO": "xxyy"}, ".xxyy."),
    ("${FOO%%\\**\\*}", {"FOO": "a***yy*"}, "a"),
    ("${FOO%%$BAR}", {"FOO": "xxyy", "BAR": ""}, "xxyy"),
    ("${FOO:#}", {}, None),
    ("${FOO:%%}", {}, None),
    ("${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", {"FOO": "/foo*/*/*.txt", "NEEDLE": "\\*/"},
     "/foo.*/*.txt - /foo..*.txt"),
    ("${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}", {"FOO": "/tmp/tmp/bar.txt", "NEEDLE": "/tmp"},
     "/tmp/bar.txt - /bar.txt"),
    ("${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
     {"FOO": "/a/foo/b/c.txt", "NEEDLE": "/?/", "REPLACEMENT": "/"},
     "/foo/b/c.txt - /foo/c.txt"),
    ("${FOO//\\//\\/}", {"FOO": "/tmp/foo.txt"}, "\\/tmp\\/foo.txt"),
    ("${FOO//ww}", {"FOO": "xxyy"}, None),
    ("${FOO///}", {"FOO": "xxyy"}, "xxyy"),
]


@pytest.mark.parametrize(("source", "expected"), ENV_VAR_CASES)
def test_env_var_table(source: str, expected: str | None) -> None:
    lex = ShellLex("\\")
    if expected is None:
        with pytest.raises(ShellLexError):
            lex.process_word(source, ENV)
    else:
        assert lex.process_word(source, ENV) == expected


@pytest.mark.parametrize(("env", "source", "expected"), WORDS_CASES)
def test_words_table(env: dict[str, str], source: str, expected: list[str] | str) -> None:
    lex = ShellLex("\\")
    if expected == "error":
        with pytest.raises(ShellLexError):
            lex.process_words(source, env)
    else:
        assert lex.process_words(source, env) == expected


@pytest.mark.parametrize(("source", "env", "expected"), MATCH_CASES)
def test_modifier_table(source: str, env: dict[str, str], expected: str | None) -> None:
    lex = ShellLex("\\")
    if expected is None:
        with pytest.raises(ShellLexError):
            lex.process_word(source, env)
    else:
        assert lex.process_word(source, env) == expected


def test_matched_and_unmatched_variables_are_reported() -> None:
    result = ShellLex().process_word_with_matches("${FOO:-a} $BAR ${BAZ+x}", {"FOO": "1"})
    assert result.result == "1  "
    assert result.matched == {"FOO"}
    assert result.unmatched == {"BAR", "BAZ"}


def test_mandatory_variable_messages() -> None:
    lex = ShellLex()
    assert lex.process_word("${VAR:?message here$ARG}", {"VAR": "plain", "ARG": "x"}) == "plain"
    with pytest.raises(ShellLexError, match="VAR: message herex"):
        lex.process_word("${VAR:?message here$ARG}", {"VAR": "", "ARG": "x"})
    assert lex.process_word("${VAR?message here$ARG}", {"VAR": "", "ARG": "x"}) == ""
    with pytest.raises(ShellLexError, match="VAR: message herex"):
        lex.process_word("${VAR?message here$ARG}", {"ARG": "x"})
    with pytest.raises(ShellLexError, match='^failed to process "\\$\\{X:\\?\\}": '
                                           "X: is not allowed to be unset$"):
        lex.process_word("${X:?}", {})


def test_release_file_name_with_optional_variant() -> None:
    word = ("something-${VERSION}.${TARGETOS}-${TARGETARCH}"
            "${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz")
    env = {"VERSION": "v1.2.3", "TARGETOS": "linux", "TARGETARCH": "arm", "TARGETVARIANT": "v7"}
    assert ShellLex().process_word(word, env) == "something-v1.2.3.linux-arm-v7.tar.gz"
    env["TARGETARCH"], env["TARGETVARIANT"] = "arm64", ""
    assert ShellLex().process_word(word, env) == "something-v1.2.3.linux-arm64.tar.gz"


def test_backtick_escape_token() -> None:
    lex = ShellLex("`")
    assert lex.process_word("C:\\dir\\file", {}) == "C:\\dir\\file"
    assert lex.process_word("a` b`$X", {"X": "1"}) == "a b$X"
    assert lex.process_word('"say `"hi`""', {}) == 'say "hi"'


def test_skip_unset_keeps_unknown_variables() -> None:
    lex = ShellLex(skip_unset_env=True, raw_quotes=True)
    assert lex.process_word("$A ${B} ${C:-x} '$D'", {"A": "1"}) == "1 ${B} ${C:-x} '$D'"
