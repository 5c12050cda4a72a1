"""Dockerfile text -> a flat list of instruction nodes with line ranges.

This is the syntax layer only, matching BuildKit's ``frontend/dockerfile/parser``:

* parser directives (``# syntax=``, ``# escape=``, ``# check=``) are read only from
  the leading comment lines, case-insensitively, each at most once;
* a line whose first non-blank character is ``#`` is a comment; ``#`` anywhere else
  is ordinary text;
* the escape character at the end of a line continues the instruction; comment
  lines and blank lines inside a continuation are skipped (blank ones with a
  warning, as BuildKit does);
* each instruction's arguments are split the way Docker splits them for that
  instruction (JSON exec form when the text is a JSON array of strings, key/value
  pairs for ``ENV``/``LABEL``, words for ``ARG``...), and ``--flag`` words in front
  are kept in order;
* ``RUN``/``COPY``/``ADD`` lines may open heredocs whose bodies follow the line.

Unknown instructions parse (with no arguments) and are rejected by
:mod:`hull.build.instructions`, which knows the valid set and suggests a fix.
"""

from __future__ import annotations

import json
import re

from hull.build.shell_lex import ShellLex, ShellLexError, go_quote, is_go_space
from hull.errors import InvalidArgument
from hull.record import field, record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

DEFAULT_ESCAPE = "\\"
_DIRECTIVE_KEYS = frozenset({"syntax", "escape", "check"})
_DIRECTIVE_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$")
_WHITESPACE_RE = re.compile(r"[\t\v\f\r ]+")
_HEREDOC_RE = re.compile(r"^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)$")
_LEADING_TABS_RE = re.compile(r"^\t+", re.MULTILINE)
_HEREDOC_INSTRUCTIONS = frozenset({"run", "copy", "add"})


class DockerfileSyntaxError(InvalidArgument):
    """A Dockerfile problem, reported as ``FILE:LINE: message`` like Docker does."""

    def __init__(self, message: str, line: int = 0, end_line: int = 0,
                 filename: str = "Dockerfile") -> None:
        self.detail = message
        self.line = line
        self.end_line = max(end_line, line)
        self.filename = filename
        where = f"{filename}:{line}" if line > 0 else filename
        super().__init__(f"{where}: {message}")

    def with_filename(self, filename: str) -> DockerfileSyntaxError:
        return DockerfileSyntaxError(self.detail, self.line, self.end_line, filename)


@record
class Heredoc:
    """A here-document attached to an instruction (``RUN <<EOF``)."""

    name: str
    content: str = ""
    expand: bool = True
    chomp: bool = False
    file_descriptor: int = 0

    def chomped_content(self) -> str:
        """The body with leading tabs removed when the marker was ``<<-``."""
        return chomp_heredoc_content(self.content) if self.chomp else self.content

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "content": self.content, "expand": self.expand,
                "chomp": self.chomp, "file_descriptor": self.file_descriptor}


@record
class Node:
    """One instruction as written: what Docker's parser hands to the dispatcher.

    ``instruction`` is lower-cased; ``keyword`` keeps the spelling used in the file.
    ``args`` holds the split arguments (for ``ENV``/``LABEL`` a flat list of
    ``key, value, separator`` triples where the separator is ``"="`` or ``""`` for the
    legacy ``ENV key value`` form; for ``ONBUILD`` the trigger's keyword followed by
    its args, with the parsed trigger in ``sub``).
    """

    instruction: str
    keyword: str
    original: str
    args: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    json: bool = False
    heredocs: list[Heredoc] = field(default_factory=list)
    start_line: int = 0
    end_line: int = 0
    sub: Node | None = None
    comments: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "instruction": self.instruction,
            "original": self.original,
            "flags": list(self.flags),
            "args": list(self.args),
            "json": self.json,
            "start_line": self.start_line,
            "end_line": self.end_line,
        }
        if self.heredocs:
            out["heredocs"] = [h.to_dict() for h in self.heredocs]
        if self.sub is not None:
            out["sub"] = self.sub.to_dict()
        return out


@record
class ParseWarning:
    """Something Docker accepts but warns about (empty continuation lines)."""

    message: str
    line: int


@record
class ParseResult:
    """The nodes of a Dockerfile plus the directives that shaped its parsing."""

    nodes: list[Node]
    escape_token: str = DEFAULT_ESCAPE
    directives: dict[str, str] = field(default_factory=dict)
    warnings: list[ParseWarning] = field(default_factory=list)


class _Directives:
    """Parser directives: only leading ``# key=value`` comments count, each once."""

    def __init__(self) -> None:
        self.done = False
        self.seen: dict[str, str] = {}
        self.escape_token = DEFAULT_ESCAPE
        self._continuation = _continuation_regex(DEFAULT_ESCAPE)

    def consider(self, line: str) -> bool:
        """Record ``line`` if it is a directive; return whether it was one."""
        if self.done:
            return False
        if not line.startswith("#"):
            self.done = True
            return False
        match = _DIRECTIVE_RE.match(_lstrip_space(line[1:]))
        if not match or match.group(1).lower() not in _DIRECTIVE_KEYS:
            self.done = True
            return False
        key, value = match.group(1).lower(), match.group(2)
        if key in self.seen:
            raise _LineError(f"only one {key} parser directive can be used")
        self.seen[key] = value
        if key == "escape":
            if value not in ("`", "\\"):
                raise _LineError(f"invalid escape token '{value}' does not match ` or \\")
            self.escape_token = value
            self._continuation = _continuation_regex(value)
        return True

    def trim_continuation(self, line: str) -> tuple[str, bool]:
        """Strip a trailing continuation token; ``True`` means the instruction ends here."""
        match = self._continuation.search(line)
        if not match:
            return line, True
        return line[:match.start()] + (match.group(1) or ""), False


class _LineError(Exception):
    """Internal: an error whose line the caller knows."""


def _continuation_regex(escape: str) -> re.Pattern[str]:
    e = re.escape(escape)
    return re.compile(rf"([^{e}]){e}[ \t]*\Z|^{e}[ \t]*\Z")


def _lstrip_space(text: str) -> str:
    i = 0
    while i < len(text) and is_go_space(text[i]):
        i += 1
    return text[i:]


def _strip_space(text: str) -> str:
    text = _lstrip_space(text)
    j = len(text)
    while j > 0 and is_go_space(text[j - 1]):
        j -= 1
    return text[:j]


def _trim_newline(text: str) -> str:
    return text.rstrip("\r\n")


def _is_comment(line: str) -> bool:
    return _lstrip_space(line).startswith("#")


def _split_lines(text: str) -> list[str]:
    """Lines with their ``\\n`` kept, like Go's line scanner (only ``\\n`` splits)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def decode_dockerfile(data: bytes | str) -> str:
    """Text of a Dockerfile; bytes that are not UTF-8 survive as surrogate escapes."""
    text = data.decode("utf-8", errors="surrogateescape") if isinstance(data, bytes) else data
    return text[1:] if text.startswith("\ufeff") else text


def parse(data: bytes | str, filename: str = "Dockerfile") -> ParseResult:
    """Parse Dockerfile text into nodes; raises :class:`DockerfileSyntaxError`."""
    try:
        return _Parser(decode_dockerfile(data)).run()
    except DockerfileSyntaxError as e:
        if filename != "Dockerfile":
            raise e.with_filename(filename) from None
        raise


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = _split_lines(text)
        self.index = 0
        self.current_line = 0
        self.directives = _Directives()
        self.warnings: list[ParseWarning] = []

    def _next_raw(self) -> str | None:
        if self.index >= len(self.lines):
            return None
        line = self.lines[self.index]
        self.index += 1
        return line

    def _process(self, raw: str, strip_left: bool) -> tuple[str, bool]:
        token = _trim_newline(raw)
        if strip_left:
            token = _lstrip_space(token)
        try:
            directive = self.directives.consider(token)
        except _LineError as e:
            raise DockerfileSyntaxError(str(e), self.current_line + 1) from None
        return ("" if _is_comment(token) else token), directive

    def run(self) -> ParseResult:
        nodes: list[Node] = []
        comments: list[str] = []
        while (raw := self._next_raw()) is not None:
            if _is_comment(raw):
                comment = _strip_space(_lstrip_space(raw)[1:])
                if comment:
                    comments.append(comment)
                else:
                    comments = []
            text, was_directive = self._process(raw, strip_left=True)
            if was_directive and comments:
                comments.pop()
            self.current_line += 1
            start_line = self.current_line
            text, ended = self.directives.trim_continuation(text)
            if ended and not text:
                continue
            parts = [text]
            empty_continuation = False
            while not ended and (raw := self._next_raw()) is not None:
                text, _ = self._process(raw, strip_left=False)
                self.current_line += 1
                if _is_comment(raw):
                    continue
                if not _lstrip_space(_trim_newline(text)):
                    empty_continuation = True
                    continue
                text, ended = self.directives.trim_continuation(text)
                parts.append(text)
            line = "".join(parts)
            if empty_continuation:
                self.warnings.append(ParseWarning(f"Empty continuation line found in: {line}",
                                             self.current_line))
            try:
                node = node_from_line(line, self.directives.escape_token)
            except _LineError as e:
                raise DockerfileSyntaxError(str(e), start_line, self.current_line) from None
            node.comments = comments
            if _can_contain_heredoc(node) and "<<" in line:
                self._read_heredocs(node, line, start_line)
            node.start_line, node.end_line = start_line, self.current_line
            nodes.append(node)
            comments = []
        if not nodes:
            raise DockerfileSyntaxError("file with no instructions", self.current_line)
        return ParseResult(nodes, self.directives.escape_token, dict(self.directives.seen),
                           self.warnings)

    def _read_heredocs(self, node: Node, line: str, start_line: int) -> None:
        try:
            heredocs = heredocs_from_line(line)
        except (ShellLexError, _LineError) as e:
            raise DockerfileSyntaxError(str(e), start_line, self.current_line) from None
        for heredoc in heredocs:
            body: list[str] = [heredoc.content]
            terminated = False
            while (raw := self._next_raw()) is not None:
                self.current_line += 1
                candidate = _trim_newline(raw)
                if heredoc.chomp:
                    candidate = candidate.lstrip("\t")
                if candidate == heredoc.name:
                    terminated = True
                    break
                body.append(raw)
            if not terminated:
                raise DockerfileSyntaxError("unterminated heredoc", start_line, self.current_line)
            heredoc.content = "".join(body)
            node.heredocs.append(heredoc)


def _can_contain_heredoc(node: Node) -> bool:
    if node.instruction == "onbuild" and node.sub is not None:
        node = node.sub
    return node.instruction in _HEREDOC_INSTRUCTIONS and not node.json


# -- heredoc markers ------------------------------------------------------------

def parse_heredoc(word: str) -> Heredoc | None:
    """The heredoc a word like ``<<EOF``, ``<<-"EOF"`` or ``3<<EOF`` opens, if any."""
    match = _HEREDOC_RE.match(word)
    if not match:
        return None
    fd_text, chomp, rest = match.groups()
    if not rest:
        return None
    lex = ShellLex("\\", skip_unset_env=True)
    words = lex.process_words(rest, {})
    if len(words) != 1:
        return None
    lex.raw_quotes = True
    raw_words = lex.process_words(rest, {})
    if len(raw_words) != len(words):
        raise _LineError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    name, raw = words[0], raw_words[0]
    quotes = name.count("'") + name.count('"')
    raw_quotes = raw.count("'") + raw.count('"')
    return Heredoc(name=name, expand=quotes == raw_quotes, chomp=chomp == "-",
                   file_descriptor=int(fd_text) if fd_text else 0)


def heredocs_from_line(line: str) -> list[Heredoc]:
    """Every heredoc opened on one instruction line, in order."""
    lex = ShellLex("\\", raw_quotes=True, raw_escapes=True, skip_unset_env=True)
    try:
        words = lex.process_words(line, {})
    except ShellLexError:
        words = []
    return [h for word in words if (h := parse_heredoc(word)) is not None]


def chomp_heredoc_content(content: str) -> str:
    """Remove leading tabs from every line (``<<-EOF``)."""
    return _LEADING_TABS_RE.sub("", content)


# -- one instruction line ---------------------------------------------------------

def node_from_line(line: str, escape: str) -> Node:
    """Split one logical line into keyword, flags and arguments."""
    keyword, flags, rest = _split_command(line, escape)
    instruction = keyword.lower()
    node = Node(instruction=instruction, keyword=keyword, original=line, flags=flags)
    splitter = _SPLITTERS.get(instruction)
    if splitter is None:
        return node  # unknown: rejected with a suggestion by the instruction layer
    splitter(node, rest, escape)
    return node


def _split_command(line: str, escape: str) -> tuple[str, list[str], str]:
    parts = _WHITESPACE_RE.split(_strip_space(line), maxsplit=1)
    if len(parts) < 2:
        return parts[0], [], ""
    rest, flags = _extract_flags(parts[1], escape)
    return parts[0], flags, _strip_space(rest)


def _extract_flags(line: str, escape: str) -> tuple[str, list[str]]:
    """Leading ``--name=value`` words (quotes and escapes removed) and the rest."""
    flags: list[str] = []
    pos = 0
    n = len(line)
    while True:
        while pos < n and is_go_space(line[pos]):
            pos += 1
        if pos >= n:
            return "", flags
        if not line.startswith("--", pos):
            return line[pos:], flags
        word: list[str] = []
        quote = ""
        blank_ok = False
        while pos < n:
            ch = line[pos]
            if quote:
                if ch == quote:
                    quote = ""
                    pos += 1
                    continue
                if ch == escape:
                    if pos + 1 == n:
                        quote = ""
                        pos += 1
                        continue
                    pos += 1
                    ch = line[pos]
                word.append(ch)
                pos += 1
                continue
            if is_go_space(ch):
                break
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                pos += 1
                continue
            if ch == escape:
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            word.append(ch)
            pos += 1
        text = "".join(word)
        if text == "--":
            if pos >= n:
                return "", flags
            return line[pos:], flags
        if blank_ok or text:
            flags.append(text)


def parse_words(rest: str, escape: str) -> list[str]:
    """Whitespace-separated words; quotes and escapes are kept for later expansion."""
    words: list[str] = []
    buf: list[str] = []
    in_word = False
    quote = ""
    blank_ok = False
    pos = 0
    n = len(rest)
    while pos < n:
        ch = rest[pos]
        if not in_word:
            if is_go_space(ch):
                pos += 1
                continue
            in_word = True
        if quote:
            if ch == quote:
                quote = ""
            if ch == escape and quote != "'":
                if pos + 1 == n:
                    quote = ""
                    pos += 1
                    continue
                buf.append(ch)
                pos += 1
                ch = rest[pos]
            buf.append(ch)
            pos += 1
            continue
        if is_go_space(ch):
            if blank_ok or buf:
                words.append("".join(buf))
            buf = []
            blank_ok = False
            in_word = False
            pos += 1
            continue
        if ch in ("'", '"'):
            quote = ch
            blank_ok = True
        if ch == escape:
            if pos + 1 == n:
                pos += 1
                continue
            buf.append(ch)
            pos += 1
            ch = rest[pos]
        buf.append(ch)
        pos += 1
    if in_word and (blank_ok or buf):
        words.append("".join(buf))
    return words


def _name_value(node: Node, rest: str, escape: str) -> None:
    """``ENV``/``LABEL``: ``key value`` (legacy) or ``k=v k2="v 2"`` pairs."""
    words = parse_words(rest, escape)
    if not words:
        return
    if "=" not in words[0]:
        parts = _WHITESPACE_RE.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise _LineError(f"{node.instruction.upper()} must have two arguments")
        node.args = [parts[0], parts[1], ""]
        return
    for word in words:
        if "=" not in word:
            raise _LineError(f"Syntax error - can't find = in {go_quote(word)}. "
                             "Must be of the form: name=value")
        key, value = word.split("=", 1)
        node.args += [key, value, "="]


def _words(node: Node, rest: str, escape: str) -> None:
    node.args = parse_words(rest, escape)


def _whitespace_list(node: Node, rest: str, escape: str) -> None:
    node.args = _WHITESPACE_RE.split(rest) if rest else []


def _string(node: Node, rest: str, escape: str) -> None:
    node.args = [rest] if rest else []


class _NotStringArray(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _json_array(rest: str) -> list[str] | None:
    """The strings of a JSON array, or ``None`` when ``rest`` is not JSON."""
    rest = _lstrip_space(rest)
    if not rest.startswith("["):
        return None
    try:
        value = json.loads(rest, parse_constant=_reject_constant)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if not all(isinstance(item, str) for item in value):
        raise _LineError("when using JSON array syntax, arrays must be comprised of strings only")
    return value


def _maybe_json(node: Node, rest: str, escape: str) -> None:
    """``RUN``/``CMD``/``ENTRYPOINT``/``SHELL``: exec form if JSON, else one string."""
    if not rest:
        return
    array = _json_array(rest)
    if array is not None:
        node.args, node.json = array, True
    else:
        node.args = [rest]


def _maybe_json_list(node: Node, rest: str, escape: str) -> None:
    """``COPY``/``ADD``/``VOLUME``: JSON array or whitespace-separated words."""
    array = _json_array(rest)
    if array is not None:
        node.args, node.json = array, True
    else:
        _whitespace_list(node, rest, escape)


def _healthcheck(node: Node, rest: str, escape: str) -> None:
    """``HEALTHCHECK``: a type word (``CMD``/``NONE``) then a command like ``CMD``'s."""
    sep = 0
    while sep < len(rest) and not rest[sep].isspace():
        sep += 1
    if sep == 0:
        return
    following = sep
    while following < len(rest) and rest[following].isspace():
        following += 1
    command = Node(instruction="", keyword="", original="")
    _maybe_json(command, rest[following:], escape)
    node.args = [rest[:sep], *command.args]
    node.json = command.json


def _onbuild(node: Node, rest: str, escape: str) -> None:
    """``ONBUILD``: the rest of the line is parsed as an instruction of its own."""
    if not rest:
        return
    child = node_from_line(rest, escape)
    node.sub = child
    node.args = [child.keyword, *child.args]


_SPLITTERS = {
    "add": _maybe_json_list,
    "arg": _words,
    "cmd": _maybe_json,
    "copy": _maybe_json_list,
    "entrypoint": _maybe_json,
    "env": _name_value,
    "expose": _whitespace_list,
    "from": _whitespace_list,
    "healthcheck": _healthcheck,
    "label": _name_value,
    "maintainer": _string,
    "onbuild": _onbuild,
    "run": _maybe_json,
    "shell": _maybe_json,
    "stopsignal": _string,
    "user": _string,
    "volume": _maybe_json_list,
    "workdir": _string,
}
