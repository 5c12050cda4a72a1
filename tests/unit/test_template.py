"""Go text/template semantics: actions, data access, control flow, variables, functions.

Expected outputs are what Go's text/template (with Docker's functions) prints for the
same template and data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from hull.template import Template, TemplateError, render


@dataclass
class Port:
    PrivatePort: int
    Type: str = "tcp"


@dataclass
class Container:
    ID: str
    Names: list[str]
    Labels: dict[str, str]
    Ports: list[Port] = field(default_factory=list)
    State: object = None

    @property
    def ShortID(self) -> str:
        return self.ID[:4]

    def Label(self, name: str) -> str:
        return self.Labels.get(name, "")

    def Status(self) -> str:
        return "Up 5 minutes"


CTR = Container("abcdef012345", ["/web"], {"app": "shop", "tier": "front"},
                [Port(80), Port(53, "udp")])
INSPECT = {
    "Id": "sha256:1234",
    "RepoTags": ["busybox:latest", "busybox:1.36"],
    "Config": {"Env": ["PATH=/bin", "A=1"], "Labels": {"b": "2", "a": "1"}, "Volumes": None,
               "Cmd": ["sh"], "ExposedPorts": {}},
    "Size": 4_400_000,
    "Empty": "",
    "Zero": 0,
    "Nested": {"List": [{"Name": "x"}, {"Name": "y"}]},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # text and plain fields
        ("plain text", "plain text"),
        ("", ""),
        ("{{.Id}}", "sha256:1234"),
        ("{{ .Id }}", "sha256:1234"),
        ("{{.Config.Cmd}}", "[sh]"),
        ("{{.Config.Env}}", "[PATH=/bin A=1]"),
        ("{{.Config.Labels}}", "map[a:1 b:2]"),
        ("{{.Config.Volumes}}", "<nil>"),
        ("{{.Config.ExposedPorts}}", "map[]"),
        ("{{.Size}}", "4400000"),
        ("{{.Missing}}", "<no value>"),
        ("{{.Missing.Deeper}}", "<no value>"),
        ("{{.Config.Labels.a}}", "1"),
        ("{{.Nested.List}}", "[map[Name:x] map[Name:y]]"),
        ("{{(index .Nested.List 1).Name}}", "y"),
        ("{{.}}", "map[Config:map[Cmd:[sh] Env:[PATH=/bin A=1] ExposedPorts:map[] "
                  "Labels:map[a:1 b:2] Volumes:<nil>] Empty: Id:sha256:1234 "
                  "Nested:map[List:[map[Name:x] map[Name:y]]] RepoTags:[busybox:latest "
                  "busybox:1.36] Size:4400000 Zero:0]"),
        # trimming and comments
        ("a  {{- .Zero -}}  b", "a0b"),
        ("a \n\t{{- .Zero}} b", "a0 b"),
        ("a {{.Zero -}}\n\n b", "a 0b"),
        ("a{{/* a comment */}}b", "ab"),
        ("a {{- /* trimmed comment */ -}} b", "ab"),
        ("{{-3}}", "-3"),
        # conditionals
        ("{{if .Size}}big{{end}}", "big"),
        ("{{if .Empty}}yes{{else}}no{{end}}", "no"),
        ("{{if .Zero}}yes{{else}}no{{end}}", "no"),
        ("{{if .Missing}}yes{{else}}no{{end}}", "no"),
        ("{{if .Config.Volumes}}yes{{else}}no{{end}}", "no"),
        ("{{if .Config.ExposedPorts}}yes{{else}}no{{end}}", "no"),
        ("{{if .Config.Cmd}}yes{{else}}no{{end}}", "yes"),
        ("{{if .Empty}}a{{else if .Zero}}b{{else if .Size}}c{{else}}d{{end}}", "c"),
        ("{{if not .Empty}}empty{{end}}", "empty"),
        ("{{if and .Size .Id}}both{{end}}", "both"),
        ("{{if or .Empty .Zero}}any{{else}}none{{end}}", "none"),
        ("{{with .Config}}{{.Cmd}}{{end}}", "[sh]"),
        ("{{with .Missing}}x{{else}}nothing{{end}}", "nothing"),
        ("{{with .Config.Labels}}{{.a}}{{$.Id}}{{end}}", "1sha256:1234"),
        ("{{with $c := .Config}}{{$c.Cmd}}{{end}}", "[sh]"),
        # range
        ("{{range .RepoTags}}[{{.}}]{{end}}", "[busybox:latest][busybox:1.36]"),
        ("{{range $i, $t := .RepoTags}}{{$i}}={{$t}} {{end}}", "0=busybox:latest 1=busybox:1.36 "),
        ("{{range $t := .RepoTags}}{{$t}};{{end}}", "busybox:latest;busybox:1.36;"),
        ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", "a=1,b=2,"),
        ("{{range .Config.Labels}}{{.}}{{end}}", "12"),
        ("{{range .Config.ExposedPorts}}x{{else}}no ports{{end}}", "no ports"),
        ("{{range .Config.Volumes}}x{{else}}no volumes{{end}}", "no volumes"),
        ("{{range .Missing}}x{{else}}missing{{end}}", "missing"),
        ("{{range 3}}{{.}}{{end}}", "012"),
        ("{{range .Nested.List}}{{.Name}}{{end}}", "xy"),
        ("{{range .RepoTags}}{{if eq . \"busybox:1.36\"}}{{break}}{{end}}{{.}}{{end}}",
         "busybox:latest"),
        ("{{range .Config.Env}}{{if eq . \"A=1\"}}{{continue}}{{end}}{{.}}{{end}}", "PATH=/bin"),
        ("{{range .RepoTags}}{{$.Id}} {{end}}", "sha256:1234 sha256:1234 "),
        ("{{range $i, $e := .Config.Cmd}}{{range $.RepoTags}}{{$i}}{{end}}{{end}}", "00"),
        # variables
        ("{{$x := .Size}}{{$x}}", "4400000"),
        ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
        ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
        ("{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", "21"),
        ("{{$x := \"out\"}}{{range .RepoTags}}{{$x = .}}{{end}}{{$x}}", "busybox:1.36"),
        ("{{$c := .Config}}{{$c.Labels.b}}", "2"),
        ("{{$}}", None),
        # pipelines and parentheses
        ("{{.Id | printf \"%s!\"}}", "sha256:1234!"),
        ("{{.Config.Cmd | len}}", "1"),
        ("{{\"x\" | printf \"%s-%s\" \"y\"}}", "y-x"),
        ("{{len (index .Nested.List 0)}}", "1"),
        ("{{(.Config).Cmd}}", "[sh]"),
        ("{{printf \"%d\" (len .RepoTags)}}", "2"),
        ("{{.Size | printf \"%d\" | len}}", "7"),
        # literals
        ("{{\"double\"}} {{`raw\\n`}} {{'a'}} {{1}} {{1.5}} {{true}} {{0x10}} {{1e3}}",
         "double raw\\n 97 1 1.5 true 16 1000"),
        ("{{\"esc\\t\\\"q\\\" \\u00e9 \\x41\"}}", "esc\t\"q\" \u00e9 A"),
        ("{{print nil}}", "<nil>"),
        ("{{printf \"%v\" .Missing}}", "<nil>"),
        # builtins
        ("{{len .RepoTags}} {{len .Config.Labels}} {{len .Id}} {{len \"h\u00e9\"}}", "2 2 11 3"),
        ("{{index .RepoTags 1}}", "busybox:1.36"),
        ("{{index .Config.Labels \"b\"}}", "2"),
        ("{{index .Config.Labels \"nope\"}}", "<no value>"),
        ("{{index .Nested \"List\" 0 \"Name\"}}", "x"),
        ("{{index \"abc\" 1}}", "98"),
        ("{{slice .RepoTags 1}}", "[busybox:1.36]"),
        ("{{slice \"abcdef\" 1 3}}", "bc"),
        ("{{slice .Config.Env 0 1}}", "[PATH=/bin]"),
        ("{{not 0}} {{not 1}} {{not \"\"}} {{not .Config.Cmd}}", "true false true false"),
        ("{{and 1 0 2}} {{and 1 2 3}} {{or 0 \"\" \"z\"}} {{or 0 \"\"}}", "0 3 z "),
        ("{{and .Missing 1}}", "<no value>"),
        ("{{eq 1 1}} {{eq 1 2}} {{eq \"a\" \"a\"}} {{eq 1 2 3 1}} {{ne 1 2}}",
         "true false true true true"),
        ("{{eq .Missing nil}} {{eq .Config.Volumes nil}} {{eq .Size nil}}", "true true false"),
        ("{{lt 1 2}} {{le 2 2}} {{gt 1.5 2.5}} {{ge \"b\" \"a\"}} {{lt \"a\" \"b\"}}",
         "true true false true true"),
        ("{{print 1 2 \"a\" 3 \"b\" \"c\"}}", "1 2a3bc"),
        ("{{println 1 \"a\" true}}", "1 a true\n"),
        ("{{html \"<a href='x'>&\\\"</a>\"}}", "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"),
        ("{{js \"it's <b> & \\\"x\\\"\"}}", "it\\'s \\u003Cb\\u003E \\u0026 \\\"x\\\""),
        ("{{urlquery \"a b&c=d/é~\"}}", "a+b%26c%3Dd%2F%C3%A9~"),
        # Docker's functions
        ("{{join .RepoTags \", \"}}", "busybox:latest, busybox:1.36"),
        ("{{split \"a,b,c\" \",\"}}", "[a b c]"),
        ("{{len (split \"a,b,c\" \",\")}}", "3"),
        ("{{split \"ab\" \"\"}}", "[a b]"),
        ("{{index (split .Id \":\") 1}}", "1234"),
        ("{{upper \"shop\"}} {{lower \"SHOP\"}} {{title \"hello wORLD foo-bar x_y\"}}",
         "SHOP shop Hello WORLD Foo-Bar X_y"),
        ("{{truncate \"abcdef\" 3}}|{{truncate \"ab\" 3}}|{{truncate \"abc\" 3}}", "abc|ab|abc"),
        ("[{{pad \"x\" 2 1}}][{{pad \"\" 2 1}}]", "[  x ][]"),
        ("{{.Id | upper}}", "SHA256:1234"),
        ("{{json .Config.Env}}", '["PATH=/bin","A=1"]'),
        ("{{json .Config.Labels}}", '{"b":"2","a":"1"}'),
        ("{{json .Config.Volumes}} {{json .Missing}} {{json .Size}}", "null null 4400000"),
        ("{{json \"<a&b>\"}}", '"<a&b>"'),
    ],
)
def test_docker_shaped_dicts(template: str, expected: str | None) -> None:
    if expected is None:  # "$" is the whole data: same as "."
        assert render(template, INSPECT) == render("{{.}}", INSPECT)
        return
    assert render(template, INSPECT) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{.ID}}", "abcdef012345"),
        ("{{.ShortID}}", "abcd"),  # a property
        ("{{.Status}}", "Up 5 minutes"),  # a zero-argument method is called
        ('{{.Label "app"}}', "shop"),  # a method with an argument
        ('{{"tier" | .Label}}', "front"),  # the piped value is the last argument
        ("{{.Labels.app}}", "shop"),
        ("{{range .Ports}}{{.PrivatePort}}/{{.Type}} {{end}}", "80/tcp 53/udp "),
        ("{{index .Names 0}}", "/web"),
        ("{{with .State}}running{{else}}no state{{end}}", "no state"),
        ("{{json .Ports}}", '[{"PrivatePort":80,"Type":"tcp"},{"PrivatePort":53,"Type":"udp"}]'),
    ],
)
def test_python_objects(template: str, expected: str) -> None:
    assert render(template, CTR) == expected


def test_define_template_and_block() -> None:
    text = ('{{define "port"}}{{.PrivatePort}}/{{.Type}}{{end}}'
            '{{range .Ports}}[{{template "port" .}}]{{end}}'
            '{{block "extra" .ID}}<{{.}}>{{end}}')
    assert render(text, CTR) == "[80/tcp][53/udp]<abcdef012345>"


def test_template_invocations_do_not_see_callers_variables() -> None:
    text = '{{define "t"}}{{$}}{{end}}{{$x := 1}}{{template "t" "inner"}}'
    assert render(text, {}) == "inner"


def test_parse_once_execute_many() -> None:
    template = Template("{{.Name}}:{{len .Items}}")
    rows = [{"Name": f"n{i}", "Items": list(range(i))} for i in range(100)]
    assert [template.execute(r) for r in rows][:3] == ["n0:0", "n1:1", "n2:2"]
    assert template.execute({"Name": "again", "Items": []}) == "again:0"


def test_render_caches_parsed_templates() -> None:
    from hull.template import parse_cached

    assert parse_cached("{{.A}} cached") is parse_cached("{{.A}} cached")


def test_custom_functions() -> None:
    funcs = {"double": lambda x: x * 2, "greet": lambda name="you": f"hi {name}"}
    assert render("{{double 21}} {{.N | double}} {{greet}} {{greet \"bob\"}}", {"N": 2},
                  funcs) == "42 4 hi you hi bob"
    with pytest.raises(TemplateError, match='function "double" not defined'):
        render("{{double 1}}", {})


def test_call_builtin_calls_function_values() -> None:
    data = {"Add": lambda a, b: a + b}
    assert render("{{call .Add 1 2}}", data) == "3"


def test_multiline_template_and_newlines_in_actions() -> None:
    text = "{{range .RepoTags}}\n- {{.}}{{end}}\n{{if\n.Size}}sized{{end}}"
    assert render(text, INSPECT) == "\n- busybox:latest\n- busybox:1.36\nsized"


def test_whitespace_only_rows_are_kept() -> None:
    assert render("  {{.A}}  ", {"A": 1}) == "  1  "


# What Go's text/template reports for these (checked against the docker CLI).
GO_ERRORS = [
    ("{{.Name", "template: :1: unclosed action"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{if 1}}", "template: :1: unexpected EOF"),
    ("{{else}}", "template: :1: unexpected {{else}}"),
    ("{{foo}}", "template: :1: function \"foo\" not defined"),
    ("{{$x}}", "template: :1: undefined variable \"$x\""),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("{{\"unterminated}}", "template: :1: unterminated quoted string"),
    ("{{1 2}}", "template: :1:2: executing \"\" at <1>: can't give argument to non-function 1"),
    ("{{.Name | 1}}", "template: :1: non executable command in pipeline stage 2"),
    ("{{}}", "template: :1: missing value for command"),
    ("{{range}}{{end}}", "template: :1: missing value for range"),
    ("{{(1}}", "template: :1: unclosed left paren"),
    ("{{1)}}", "template: :1: unexpected right paren"),
    ("{{.Name.}}", "template: :1: unexpected <.> in operand"),
    ("{{3x}}", "template: :1: bad number syntax: \"3x\""),
    ("{{#}}", "template: :1: unexpected \"#\" in command"),
    ("{{/* unclosed", "template: :1: unclosed comment"),
    ("{{/*c*/ }}", "template: :1: comment ends before closing delimiter"),
    ("{{template \"nope\"}}",
     "template: :1:11: executing \"\" at <{{template \"nope\"}}>: template \"nope\" not defined"),
    ("{{eq 1 1.0}}", "template: :1:2: executing \"\" at <eq 1 1.0>: "
                     "error calling eq: incompatible types for comparison"),
    ("{{lt true false}}", "template: :1:2: executing \"\" at <lt true false>: "
                          "error calling lt: invalid type for comparison"),
    ("{{len 3}}", "template: :1:2: executing \"\" at <len 3>: error calling len: len of type int"),
    ("{{index \"abc\" 5}}", "template: :1:2: executing \"\" at <index \"abc\" 5>: "
                            "error calling index: index out of range: 5"),
    ("{{lower 5}}", "template: :1:8: executing \"\" at <5>: expected string; found 5"),
    ("{{lower}}", "template: :1:2: executing \"\" at <lower>: "
                  "wrong number of args for lower: want 1 got 0"),
    ("{{and}}", "template: :1:2: executing \"\" at <and>: "
                "wrong number of args for and: want at least 1 got 0"),
    ("{{nil}}", "template: :1:2: executing \"\" at <nil>: nil is not a command"),
    ("{{1 | printf}}", "template: :1:6: executing \"\" at <printf>: "
                       "wrong type for value; expected string; got int"),
    ("{{range \"abc\"}}{{end}}",
     "template: :1:8: executing \"\" at <\"abc\">: range can't iterate over abc"),
    ("{{range $i, $e := 3}}{{end}}", "template: :1:18: executing \"\" at <3>: "
                                     "can't use 3 to iterate over more than one variable"),
    ("{{printf 5}}", "template: :1:9: executing \"\" at <5>: expected string; found 5"),
    ("{{range $i, $e, $f := .}}{{end}}", "template: :1: too many declarations in range"),
    ("{{\"a\" \"b\"}}",
     "template: :1:2: executing \"\" at <\"a\">: can't give argument to non-function \"a\""),
    ("{{nil.Foo}}", "template: :1: unexpected . after term \"nil\""),
    ("{{-}}", "template: :1: illegal number syntax: \"-\""),
    ("{{slice \"abc\" 2 1}}", "template: :1:2: executing \"\" at <slice \"abc\" 2 1>: "
                              "error calling slice: invalid slice index: 2 > 1"),
    ("{{index 1 1}}", "template: :1:2: executing \"\" at <index 1 1>: "
                      "error calling index: can't index item of type int"),
    ("ab\ncd {{\"x\".Foo}}", "template: :2: unexpected . after term \"\\\"x\\\"\""),
    ("{{.A.B.C}}", "template: :1:4: executing \"\" at <.A.B.C>: "
                   "nil pointer evaluating interface {}.B"),
    ("{{.A 1}}", "template: :1:2: executing \"\" at <.A>: A is not a method but has arguments"),
    ("ab\ncd {{.Name.Version.Foo}}", "template: :2:10: executing \"\" at <.Name.Version.Foo>: "
                                     "can't evaluate field Version in type string"),
]


@pytest.mark.parametrize(("template", "message"), GO_ERRORS)
def test_errors_are_gos_one_line_messages(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(template, {"Name": "default", "A": None})
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_missing_field_on_an_object_is_an_error() -> None:
    with pytest.raises(TemplateError) as info:
        render("{{.Nope}}", CTR)
    assert str(info.value) == ('template: :1:2: executing "" at <.Nope>: '
                               "can't evaluate field Nope in type Container")
