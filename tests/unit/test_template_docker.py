"""Differential tests against the real Docker CLI: the same template, the same data, the
same output (or the same error message).

``docker context inspect default --format T`` executes Go's text/template with Docker's
functions and needs no daemon, so it serves as the reference implementation.  Skipped
where no docker CLI is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from hull.cli.formatting import render_list, render_one
from hull.errors import InvalidArgument

DOCKER = shutil.which("docker")
pytestmark = pytest.mark.skipif(DOCKER is None, reason="no docker CLI to compare with")


@pytest.fixture(scope="module")
def docker_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private, empty docker client config so that only the default context exists."""
    env = dict(os.environ)
    env["DOCKER_CONFIG"] = str(tmp_path_factory.mktemp("docker-config"))
    env.pop("DOCKER_HOST", None)
    env.pop("DOCKER_CONTEXT", None)
    return env


def _docker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    assert DOCKER is not None
    return subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env, timeout=30)


@pytest.fixture(scope="module")
def context_data(docker_env: dict[str, str]) -> dict:
    proc = _docker(docker_env, "context", "inspect", "default")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[0]


def _hull(fmt: str, data: dict) -> str:
    try:
        return render_one(fmt, data) + "\n"
    except InvalidArgument as e:
        return "ERROR " + str(e)


def _docker_render(env: dict[str, str], fmt: str) -> str:
    proc = _docker(env, "context", "inspect", "default", "--format", fmt)
    if proc.returncode != 0:
        return "ERROR " + proc.stderr.strip()
    return proc.stdout


TEMPLATES = [
    # data access (only fields whose Go type is a map or a string, where dicts agree)
    "{{.Name}}",
    "{{.Endpoints.docker.Host}}",
    "{{.Endpoints.nope}}|{{.Endpoints.nope.deeper}}|{{index .Endpoints \"nope\"}}",
    "{{printf \"%v\" .Endpoints.nope}}",
    "{{range $k, $v := .Endpoints}}{{$k}}={{$v.Host}}{{end}}",
    "{{len .Endpoints}} {{len .Name}}",
    "{{with .Endpoints.docker}}{{.Host}}{{end}}",
    "{{if .Endpoints.nope}}y{{else}}n{{end}}",
    "{{json .Name}} {{.Name | upper}} {{title .Name}} {{truncate .Name 3}}",
    # literals and printing
    "{{print 123456.0}} {{print 1234567.0}} {{print 0.0001}} {{print 0.00001}} {{print 1e21}}",
    "{{print 100000.0}} {{print 1e6}} {{print -0.0}} {{print 3.0}} {{print 1.5e8}}",
    "{{1}} {{-1}} {{0x1F}} {{0o17}} {{017}} {{1_000}} {{'a'}} {{'\\n'}} {{1.0}} {{.5}} {{1e3}}",
    "{{\"a\\tb\"}} {{`raw\\t`}} {{\"\\u00e9\\x41\\101\"}} {{true}} {{false}}",
    "{{print 1 2 \"a\" 3 \"b\" \"c\" nil true}}",
    "{{println 1 \"a\" nil}}",
    "{{split \"a,b\" \",\"}} {{printf \"%q\" (split \"a,b\" \",\")}}",
    # printf
    "{{printf \"%g|%e|%f|%.3g|%G|%8.3f|%-8.2f|%x\" 1234567.0 1234567.0 1.5 1234.0 1e-7 "
    "3.14159 2.5 255}}",
    "{{printf \"%d %s %v %q %x\" \"a\" 5 nil 65 \"hi\"}}",
    "{{printf \"%d\" 1 2}} {{printf \"%d %d\" 1}} {{printf \"%05s|%5.1s|%-5s|\" \"ab\" \"xyz\" \"a\"}}",
    "{{printf \"%q|%+q|%#q|%x|% x|%X\" \"a\\\"b\\n\\tc\\u00e9\\x01\" \"\\u00e9\" \"ab\" \"h\\u00e9\" "
    "\"h\\u00e9\" \"h\\u00e9\"}}",
    "{{printf \"%v|%d|%s\" true true true}} {{printf \"%c|%U|%o|%#o|%O|%b|%#x|%+d|% d\" "
    "65 65 8 8 8 5 255 5 5}}",
    "{{printf \"%.2s|%5.2f|%e|%E|%.0f|%.0f|%#v|%T|%T|%T\" \"h\\u00e9llo\" 2.0 0.0 1.5 2.5 3.5 "
    "\"x\" 1.5 \"s\" 1}}",
    "{{printf \"%6.2v|%.3v|%10v|%-10v|%5t|%%|%!\" 3.14159 \"abcdef\" \"r\" 1 true}}",
    "{{printf \"%05d|%-5d|%+.2e|%x|%X|%#o|%3c|%-4q|\" -42 7 12345.678 -255 3054 0 66 \"z\"}}",
    "{{printf \"%v %v %d\" (split \"a b\" \" \") (len \"x\") (split \"1\" \",\")}}",
    "{{printf \"%s\"}} {{printf \"no verbs\" 1 \"x\"}} {{printf \"%z\" 1}}",
    "{{printf \"%*d|%-*d|%.*f\" 5 1 4 2 2 3.14159}}",
    "{{printf \"%8.3s|%-8q|%08.3f|%+d|%x\" \"abcdef\" \"q\" -3.14159 0 \"\"}}",
    # json
    "{{json 1e21}} {{json 1e20}} {{json 1e-7}} {{json 0.000001}} {{json 3.0}} {{json -0.0}}",
    "{{json \"\\b\\f\\u2028\\x01<>&\\\"\\\\\\u00e9\"}} {{json nil}} {{json true}} {{json 1.5}}",
    "{{json (split \"a,b\" \",\")}} {{json .Endpoints.nope}} {{json 12345678901}}",
    # control flow and variables
    "{{range $i, $e := split \"a,b,c\" \",\"}}{{if eq $i 1}}{{continue}}{{end}}{{$i}}{{$e}}{{end}}",
    "{{range split \"a,b,c\" \",\"}}{{if eq . \"c\"}}{{break}}{{end}}{{.}}{{end}}",
    "{{range 3}}{{.}}{{end}} {{range $i := 2}}{{$i}}{{end}} {{range 0}}x{{else}}none{{end}}",
    "{{$x := 1}}{{if true}}{{$x = 2}}{{$y := 5}}{{end}}{{$x}}",
    "{{$x := 1}}{{range split \"a,b\" \",\"}}{{$x = .}}{{end}}{{$x}}",
    "{{with $x := 3}}{{$x}}{{.}}{{end}}{{with 0}}x{{else with 2}}{{.}}{{end}}",
    "{{if 0}}a{{else if \"\"}}b{{else if 3}}c{{else}}d{{end}}",
    "{{and 1 0 2}} {{and 1 2 3}} {{or 0 \"\" \"z\"}} {{or 0 \"\"}} {{not 0}} {{not \"x\"}}",
    "{{\"x\" | printf \"%s-%s\" \"y\"}} {{3 | printf \"%d\" | len}}",
    "{{eq 1 1}} {{eq 1 2 3 1}} {{ne \"a\" \"b\"}} {{lt 1 2}} {{le 2 2}} {{gt 1.5 2.5}} "
    "{{ge \"b\" \"a\"}} {{eq nil nil}} {{eq .Endpoints.nope nil}}",
    "{{index \"abc\" 1}} {{slice \"abcdef\" 1 3}} {{slice \"abc\" 1}} {{index (split \"a,b\" \",\") 1}}",
    "{{html \"<a href='x'>&\\\"</a>\\x00\"}} {{js \"it's <b> & \\\"x\\\" =\\n\"}} "
    "{{urlquery \"a b&c=d/\\u00e9~\" 1}}",
    "{{title \"hello wORLD foo-bar x_y \\u00e9t\\u00e9 1a\"}} {{upper \"\\u00e9\"}} {{lower \"ABC\"}}",
    "{{pad \"x\" 2 1}}|{{pad \"\" 2 1}}|{{truncate \"abcdef\" 0}}|{{join (split \"a b c\" \" \") \"-\"}}",
    "a  {{- 1 -}}  b {{- /* comment */ -}} c{{/* c2 */}}d",
    "{{define \"T\"}}[{{.}}]{{end}}{{template \"T\" 5}}{{template \"T\" .Name}}{{block \"B\" 1}}"
    "<{{.}}>{{end}}",
    "{{with 0}}x{{else with 2}}{{.}}{{else}}z{{end}}{{if 0}}a{{else with 3}}{{.}}{{end}}",
    "{{$i := 0}}{{$e := 0}}{{range $i, $e = split \"a,b\" \",\"}}{{end}}{{$i}}{{$e}}",
    "{{1e-3}} {{+5}} {{-0x10}} {{'\\''}} {{'\\x41'}} {{'\\u00e9'}} {{0b101}} {{1.5e+3}} {{0.}}",
    "{{`multi\nline`}}",
    "{{.Name | printf \"%s\" | printf \"%s!\"}} {{\"a\" | eq \"a\"}} {{1 | eq 2 3}}",
    "{{if $x := .Name}}{{$x}}{{end}} {{$.Name}} {{$.Endpoints.docker.Host}}",
    "{{- .Name -}} | {{ .Name  -}}  x {{.Name -}}x {{- .Name}}",
    "{{.Name}}{{- \n/* c */ \n-}}x{{/* c */ -}} x {{- /* c */}} x",
    "{{printf \"%v\" (slice (split \"a,b,c\" \",\") 1 2 3)}}",
    "{{le \"a\" \"a\"}} {{gt 2 1}} {{ge 1 1}} {{printf \"%s %d\" \"a\"}} {{printf \"%!\" 1}}",
    "{{printf \"%-08d|% 05d|%+08.2f\" 5 5 1.5}} {{printf \"%x %X %o %b\" -1 255 -8 -5}}",
    "{{printf \"%e %g %.3e %10.4g\" 123456789.0 0.000012345 1.0 3.14159265}}",
    "{{printf \"%.1f %.1f %.1f %.2f\" 0.05 0.15 0.25 1.005}}",
    "{{printf \"%5q|%-5q|%q\" \"a\" 1 'x'}} {{printf \"%t %t\" 1 \"x\"}}",
    "{{printf \"%s\" nil}} {{printf \"%d\" nil}} {{printf \"%v\" nil}} {{printf \"%v %v\" 1e100 -1e-100}}",
    "{{print 1.0 2.5 \"x\" 3}} {{print \"a\" \"b\"}} {{print 1 2}} {{print nil nil}} {{print true false}}",
    "{{json (slice \"abc\" 1)}} {{json 1e100}} {{json -1e-100}} {{json 123456789.0}} {{json 0.1}}",
    "{{title \"\u00e1bc d\u00e9f\"}} {{title \"x.y\"}} {{title \"o'neil\"}} {{upper \"\u00df\"}}",
    "{{split \"\" \",\"}} {{len (split \"\" \",\")}} {{split \"a,,b\" \",\"}} "
    "{{join (split \"\" \",\") \"-\"}}",
    "{{len \"\u00e9\"}} {{index \"\u00e9\" 0}} {{slice \"h\u00e9llo\" 0 3}}",
    "{{html 1 \"<\" 2}} {{js 1 2}} {{urlquery}}",
    "{{with .Endpoints.docker}}{{.Host}}{{else}}no{{end}} {{or .Endpoints.nope \"default\"}}",
    "{{and .Name .Endpoints.nope}} {{.Endpoints.nope | printf \"%v\"}} "
    "{{if eq .Endpoints.nope nil}}nil{{end}}",
    "{{range .TLSMaterial}}x{{else}}empty{{end}} {{.TLSMaterial}} {{json .Storage}}",
    "{{$x := split \"a,b\" \",\"}}{{$x}} {{len $x}} {{index $x 0}}",
    "{{range $i, $e := split \"a,b\" \",\"}}{{$i}}{{$e}}{{else}}none{{end}}",
    "{{range $e := split \"\" \"x\"}}[{{$e}}]{{end}}",
    "{{if and (eq .Name \"default\") (ne .Name \"x\")}}ok{{end}}",
    "{{printf \"%s=%v;\" \"a\" 1}}{{printf \"%[2]d %[1]d\" 1 2}}{{printf \"%[3]d\" 1}}",
    "{{printf \"%v\" (split \"a,b\" \",\")}} {{printf \"%q\" \"\\x00\\x7f\"}} {{printf \"%6.2f%%\" 12.3456}}",
    "{{print}}|{{println}}|{{printf \"\"}}|{{printf \"%\"}}|{{printf \"%.f|%.e|%5.f\" 2.5 2.5 3.5}}",
    "{{printf \"%08.3e|%-10.1e|\" 1234.5 -0.5}} {{printf \"%g %g %g %g\" 1e20 1e21 1e-4 1e-5}}",
    "{{printf \"%G %E\" 1e-10 1e10}} {{printf \"%3d|%-3d|%03d\" 12345 1 -1}}",
    "{{printf \"%.3d|%.0d|%5.3d\" 5 0 7}} {{printf \"% x|%#x|%# x\" \"abc\" \"abc\" \"abc\"}}",
    "{{printf \"%10.3q|\" \"abcdef\"}} {{printf \"%c%c%c\" 72 105 33}} {{printf \"%v|%s\" 'a' 'a'}}",
    "{{1 | printf \"%d-%d\" 2}} {{printf \"%d\" .Endpoints.nope}}",
    # errors
    "{{.Name",
    "{{end}}",
    "{{if 1}}",
    "{{else}}",
    "{{foo}}",
    "{{$x}}",
    "{{break}}",
    "{{range 1}}{{else}}{{break}}{{end}}",
    "{{\"unterminated}}",
    "{{1 2}}",
    "{{.Name | 1}}",
    "{{}}",
    "{{range}}{{end}}",
    "{{(1}}",
    "{{1)}}",
    "{{.Name.}}",
    "{{3x}}",
    "{{#}}",
    "{{/* unclosed",
    "{{if 1}}{{else}}{{else}}{{end}}",
    "{{template \"nope\"}}",
    "{{eq 1 1.0}}",
    "{{lt true false}}",
    "{{lt nil 1}}",
    "{{len 3}}",
    "{{index .Name 100}}",
    "{{index 1 1}}",
    "{{slice \"abc\" 2 1}}",
    "{{lower 5}}",
    "{{lower}}",
    "{{join \"a\" \",\"}}",
    "{{and}}",
    "{{not}}",
    "{{nil}}",
    "{{1 | printf}}",
    "{{$x := 1}}{{$x.Foo}}",
    "{{.Name.Foo}}",
    "{{range true}}{{end}}",
    "{{range \"abc\"}}{{end}}",
    "{{range $i, $e := 3}}{{end}}",
    "ab\ncd {{.Name.Version.Foo.Bar.Baz.Qux}}",
    "{{printf 5}}",
    "{{call 1}}",
    "{{range $i, $e, $f := .}}{{end}}",
    "{{$x := 1 2}}",
    "{{if}}{{end}}",
    "{{with}}{{end}}",
    "{{else if 1}}",
    "{{define \"x\"}}abc",
    "{{template x}}",
    "{{\"a\" \"b\"}}",
    "{{(printf \"%s\" .Name).Foo}}",
    "{{(\"abc\").Foo}}",
    "{{nil.Foo}}",
    "{{print -}}",
    "{{-}}",
    "{{/*c*/ }}",
    "{{ /*c*/ }}",
    "{{slice (split \"a,b,c\" \",\") 1 2 4}}",
    "{{index (split \"a,b\" \",\") -1}}",
    "{{index (split \"a,b\" \",\") 2}}",
    "{{index .Endpoints 1}}",
    "{{eq (split \"a\" \",\") (split \"a\" \",\")}}",
    "{{eq \"a\"}}",
    "{{ne 1}}",
    "{{lt 1 2 3}}",
    "{{lt 1.5 2}}",
    "{{lower .Endpoints.nope}}",
]


@pytest.mark.parametrize("fmt", TEMPLATES)
def test_same_output_as_docker(fmt: str, docker_env: dict[str, str], context_data: dict) -> None:
    assert _hull(fmt, context_data) == _docker_render(docker_env, fmt)


LIST_FORMATS = [
    "",
    "table",
    "table {{.Name}}\\t{{.Description}}\\t{{.DockerEndpoint}}",
    "table {{.Name}}\\t{{.Description}}\\t",
    "table {{.Description}}\\t{{.Name}}\\n\\t{{.DockerEndpoint}}",
    "table {{.Name}}\\t\\t\\t{{.Name}}",
    "table {{truncate .Name 2}}\\t{{lower .Name}}\\t{{split .Name \"A\"}}\\t{{title .Name}}\\t"
    "{{join (split .Name \"e\") \"-\"}}\\t{{len .Name}}\\t{{index .Name 1}}|{{slice .Name 1 2}}|",
    "table {{printf \"%-40s\" .Name}}\\t{{pad .Name 2 3}}|\\t{{json .Name}}",
    "{{.Name}}\\t{{.Description}}",
    "{{.Name}}: {{.DockerEndpoint}}\\n",
    "json",
    "{{json .}}",
    " table {{.Name}}",
    "tablex{{.Name}}|",
    "json ",
    "{{.Name",
]


@pytest.mark.parametrize("fmt", LIST_FORMATS)
def test_same_listing_as_docker_context_ls(fmt: str, docker_env: dict[str, str]) -> None:
    proc = _docker(docker_env, "context", "ls", "--format", "json")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    for row in rows:
        row["Name"] = row["Name"].rstrip(" *")
    headers = {"Name": "NAME", "Description": "DESCRIPTION", "DockerEndpoint": "DOCKER ENDPOINT",
               "Error": "ERROR"}
    default = "table {{.Name}}{{if .Current}} *{{end}}\t{{.Description}}\t{{.DockerEndpoint}}\t" \
              "{{.Error}}"
    want = _docker(docker_env, "context", "ls", "--format", fmt)
    try:
        got = render_list(fmt, rows, headers, default)
    except InvalidArgument as e:
        assert want.returncode != 0
        assert want.stderr.strip() == str(e)
        return
    assert want.returncode == 0, want.stderr
    assert got == want.stdout
