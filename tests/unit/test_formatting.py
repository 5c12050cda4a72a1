"""Docker's --format rules for one item and for lists, and Go's tabwriter alignment."""

from __future__ import annotations

import pytest

from hull.cli.formatting import is_json, is_table, render_list, render_one, row_fields, tabwrite
from hull.errors import InvalidArgument

IMAGES_TABLE = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
IMAGE_HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
                 "CreatedSince": "CREATED", "Size": "SIZE", "Digest": "DIGEST"}
IMAGES = [
    {"Repository": "busybox", "Tag": "latest", "ID": "a416a98b71e2", "CreatedSince": "2 weeks ago",
     "Size": "4.26MB", "Digest": "<none>"},
    {"Repository": "localhost:5000/team/application", "Tag": "v1", "ID": "0123456789ab",
     "CreatedSince": "About an hour ago", "Size": "77.8MB", "Digest": "<none>"},
]


class ImageRow:
    """A row object: fields are properties, like the engine's list rows."""

    def __init__(self, repo: str, tag: str) -> None:
        self._repo = repo
        self._tag = tag

    @property
    def Repository(self) -> str:
        return self._repo

    @property
    def Tag(self) -> str:
        return self._tag

    def Label(self, name: str) -> str:
        return f"label:{name}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # minwidth 10, padding 3; the last cell of a line is never padded
        ("a\tb\n", "a         b\n"),
        ("REPOSITORY\tTAG\nbusybox\tlatest\n", "REPOSITORY   TAG\nbusybox      latest\n"),
        ("x\ty\tz\nlonger-cell\tq\tr\n", "x             y         z\nlonger-cell   q         r\n"),
        # a trailing tab terminates the cell, so it is padded
        ("a\tb\t\n", "a         b         \n"),
        # lines without a tab end a column block
        ("aaaaaaaaaaaa\tb\nno tabs\nc\td\n", "aaaaaaaaaaaa   b\nno tabs\nc         d\n"),
        # a column block only spans lines that have the cell
        ("a\tb\tc\nx\ty\nlonger-x-cell\tb\tc\n",
         "a               b         c\nx               y\nlonger-x-cell   b         c\n"),
        ("a\tb\tc\nx\tyyyyyyyyyyyyyy\n", "a         b         c\nx         yyyyyyyyyyyyyy\n"),
        # empty cells still take the column width
        ("\tb\n\t\n", "          b\n          \n"),
        # widths count characters, not bytes
        ("\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\tb\nx\ty\n",
         "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9   b\nx             y\n"),
        # text after the last newline is written without a newline
        ("a\tb\nc", "a         b\nc"),
        ("", ""),
    ],
)
def test_tabwrite_matches_go_tabwriter(text: str, expected: str) -> None:
    assert tabwrite(text) == expected


def test_tabwrite_other_settings() -> None:
    assert tabwrite("a\tb\nccc\td\n", minwidth=0, padding=1) == "a   b\nccc d\n"
    assert tabwrite("a\tb\n", minwidth=4, padding=1, padchar=".") == "a...b\n"


def test_default_table_for_empty_format_and_for_table() -> None:
    expected = (
        "REPOSITORY                        TAG       IMAGE ID       CREATED             SIZE\n"
        "busybox                           latest    a416a98b71e2   2 weeks ago         4.26MB\n"
        "localhost:5000/team/application   v1        0123456789ab   About an hour ago   77.8MB\n"
    )
    assert render_list("", IMAGES, IMAGE_HEADERS, IMAGES_TABLE) == expected
    assert render_list("table", IMAGES, IMAGE_HEADERS, IMAGES_TABLE) == expected


def test_table_with_typed_escapes_and_headers() -> None:
    out = render_list(r"table {{.ID}}\t{{.Repository}}:{{.Tag}}", IMAGES, IMAGE_HEADERS,
                      IMAGES_TABLE)
    assert out == ("IMAGE ID       REPOSITORY:TAG\n"
                   "a416a98b71e2   busybox:latest\n"
                   "0123456789ab   localhost:5000/team/application:v1\n")


def test_table_of_no_rows_is_just_the_header() -> None:
    assert render_list("", [], IMAGE_HEADERS, IMAGES_TABLE) == (
        "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n")


def test_unknown_fields_are_titled_in_upper_case() -> None:
    rows = [{"Name": "web", "Shared": "yes"}]
    out = render_list(r"table {{.Name}}\t{{.Shared}}", rows, {"Name": "NAME"}, "")
    assert out == "NAME      SHARED\nweb       yes\n"


def test_header_survives_methods_nested_fields_and_functions() -> None:
    rows = [{"Name": "web", "Labels": {"app": "shop"}, "Config": {"Image": "busybox"}}]
    fmt = (r'table {{.Name | upper}}\t{{index .Labels "app"}}\t{{.Config.Image}}\t'
           r'{{json .Name}}\t{{if eq .Name "web"}}w{{end}}')
    out = render_list(fmt, rows, {"Name": "NAME", "Labels": "LABELS"}, "")
    assert out.splitlines() == [
        "NAME      LABELS    IMAGE     NAME      NAME",
        'WEB       shop      busybox   "web"     w',
    ]
    objects = [ImageRow("busybox", "latest")]
    out = render_list(r'table {{.Repository}}\t{{.Label "x"}}', objects,
                      {"Repository": "REPOSITORY", "Label": "LABEL"}, "")
    assert out == "REPOSITORY   LABEL\nbusybox      label:x\n"


def test_conditional_on_an_unnamed_field_is_false_in_the_header() -> None:
    rows = [{"Name": "default", "Current": True}, {"Name": "other", "Current": False}]
    out = render_list(r"table {{.Name}}{{if .Current}} *{{end}}\t{{.Name}}", rows,
                      {"Name": "NAME"}, "")
    assert out.splitlines() == ["NAME        NAME", "default *   default", "other       other"]


def test_plain_template_is_one_line_per_row_without_header_or_alignment() -> None:
    out = render_list(r"{{.Repository}}\t{{.Tag}}", IMAGES, IMAGE_HEADERS, IMAGES_TABLE)
    assert out == "busybox\tlatest\nlocalhost:5000/team/application\tv1\n"
    assert render_list("{{.ID}}", [], IMAGE_HEADERS, IMAGES_TABLE) == ""
    assert render_list(r"{{.Tag}}\n", IMAGES[:1], IMAGE_HEADERS, "") == "latest\n\n"
    # leading/trailing spaces are trimmed like Docker, and " table" is not a table
    assert render_list(" table {{.Tag}} ", IMAGES[:1], IMAGE_HEADERS, "") == "table latest\n"


def test_json_is_one_object_per_row_with_sorted_keys() -> None:
    out = render_list("json", IMAGES, IMAGE_HEADERS, IMAGES_TABLE)
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0] == ('{"CreatedSince":"2 weeks ago","Digest":"\u003cnone\u003e",'
                        '"ID":"a416a98b71e2","Repository":"busybox","Size":"4.26MB",'
                        '"Tag":"latest"}').replace("\\u003c", "<").replace("\\u003e", ">")
    assert render_list("json", [ImageRow("a", "b")], {}, "") == '{"Repository":"a","Tag":"b"}\n'
    assert render_list("json", [], {}, "") == ""
    # "json " is not the json keyword: it is a template that prints "json"
    assert render_list("json ", IMAGES[:1], {}, "") == "json\n"


def test_json_function_in_a_template_keeps_dict_order() -> None:
    out = render_list("{{json .}}", [{"b": 1, "a": [1.5, None, "<x>"]}], {}, "")
    assert out == '{"b":1,"a":[1.5,null,"<x>"]}\n'


def test_row_fields() -> None:
    assert row_fields({"b": 1, "a": 2}) == {"a": 2, "b": 1}
    assert row_fields(ImageRow("r", "t")) == {"Repository": "r", "Tag": "t"}


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("{{.Repository", "template parsing error: template: :1: unclosed action"),
        ("{{nope .Tag}}", 'template parsing error: template: :1: function "nope" not defined'),
        ("table {{.Tag}}{{end}}", "template parsing error: template: :1: unexpected {{end}}"),
        ("{{.Tag.X}}",
         'template parsing error: template: :1:6: executing "" at <.Tag.X>: '
         "can't evaluate field X in type string"),
    ],
)
def test_list_errors_are_one_line(fmt: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        render_list(fmt, IMAGES, IMAGE_HEADERS, IMAGES_TABLE)
    assert str(info.value) == message


def test_errors_on_objects_name_the_type() -> None:
    with pytest.raises(InvalidArgument, match="can't evaluate field Nope in type ImageRow"):
        render_list("{{.Nope}}", [ImageRow("a", "b")], {}, "")


def test_render_one() -> None:
    info = {"Client": {"Version": "0.1.0", "Os": "linux"}, "Server": None}
    assert render_one("{{.Client.Version}}", info) == "0.1.0"
    assert render_one("{{json .Client}}", info) == '{"Version":"0.1.0","Os":"linux"}'
    assert render_one("json", info) == '{"Client":{"Version":"0.1.0","Os":"linux"},"Server":null}'
    # inspect-style formats keep typed escapes as they are
    assert render_one(r"{{.Client.Os}}\t{{.Client.Version}}", info) == r"linux\t0.1.0"
    assert render_one("{{.Server}}", info) == "<nil>"


def test_render_one_errors() -> None:
    with pytest.raises(InvalidArgument) as info:
        render_one("{{.Client", {})
    assert str(info.value) == "template parsing error: template: :1: unclosed action"
    assert info.value.exit_code == 64
    with pytest.raises(InvalidArgument) as info:
        render_one("{{.Server.Version}}", {"Server": None})
    assert str(info.value) == ('template parsing error: template: :1:9: executing "" at '
                               "<.Server.Version>: nil pointer evaluating interface {}.Version")
    assert info.value.exit_code == 1


@pytest.mark.parametrize(
    ("fmt", "table", "json"),
    [("table", True, False), ("table {{.ID}}", True, False), ("tablex", True, False),
     ("json", False, True), ("json ", False, False), (" table", False, False),
     ("{{json .}}", False, False), ("", False, False)],
)
def test_format_kinds(fmt: str, table: bool, json: bool) -> None:
    assert is_table(fmt) is table
    assert is_json(fmt) is json
