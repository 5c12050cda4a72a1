"""Docker's shell-word lexer: quote removal, escapes and ``$VAR`` expansion.

The builder does not run a shell to expand ``ENV``/``COPY``/``WORKDIR``... words; it
applies its own small subset of POSIX shell rules.  The rules here follow BuildKit's
``frontend/dockerfile/shell`` so a word expands to exactly what Docker would give:

* ``$V``, ``${V}``; unset variables expand to the empty string (or stay verbatim
  with ``skip_unset_env``, which the parser uses to find heredoc markers);
* ``${V:-w}``/``${V-w}`` default, ``${V:+w}``/``${V+w}`` alternative, ``${V:?m}``/
  ``${V?m}`` mandatory, ``${V#p}``/``${V##p}``/``${V%p}``/``${V%%p}`` trimming and
  ``${V/p/r}``/``${V//p/r}`` replacement;
* single quotes keep everything literal, double quotes allow ``$`` and escapes of
  ``"``, ``$`` and the escape character;
* the escape character (``\\`` or, with ``# escape=`` ``, a backtick) escapes the
  next character outside quotes.

:meth:`ShellLex.process_word` returns one string (spaces kept);
:meth:`ShellLex.process_words` splits the result into words the way ``EXPOSE`` and
heredoc detection need (splitting happens after expansion, quoted text stays whole).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from hull.errors import InvalidArgument
from hull.record import field, record

_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_GO_SPACES = frozenset("\t\n\v\f\r \x85\xa0")


class ShellLexError(InvalidArgument):
    """A word could not be expanded (bad substitution, unterminated quote, ``${V:?}``)."""


def is_go_space(ch: str) -> bool:
    """``unicode.IsSpace`` as Go defines it (Python also counts \\x1c-\\x1f)."""
    if ch in _GO_SPACES:
        return True
    return ord(ch) > 0xFF and ch.isspace()


def _is_name_char(ch: str) -> bool:
    return ch.isalpha() or ch.isdecimal() or ch == "_"


@record
class WordResult:
    """The expansion of one word and which variables it used."""

    result: str
    words: list[str]
    matched: set[str] = field(default_factory=set)
    unmatched: set[str] = field(default_factory=set)


class _Words:
    """Splits expanded text into words; raw text (quotes, escapes) never splits."""

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if is_go_space(ch):
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf = []
                self.in_word = False
        else:
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.buf.append(ch)
        self.in_word = True

    def add_string(self, text: str) -> None:
        for ch in text:
            self.add_char(ch)

    def add_raw_string(self, text: str) -> None:
        self.buf.append(text)
        self.in_word = True

    def result(self) -> list[str]:
        if self.buf:
            self.words.append("".join(self.buf))
            self.buf = []
            self.in_word = False
        return self.words


class ShellLex:
    """Expands words with Docker's rules; one instance per escape token and mode."""

    def __init__(self, escape_token: str = "\\", *, raw_quotes: bool = False,
                 raw_escapes: bool = False, skip_process_quotes: bool = False,
                 skip_unset_env: bool = False) -> None:
        self.escape_token = escape_token
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_process_quotes = skip_process_quotes
        self.skip_unset_env = skip_unset_env

    def process_word(self, word: str, env: Mapping[str, str]) -> str:
        """Expand ``word`` into one string, as ``ENV``/``WORKDIR``/``COPY`` do."""
        return self.process_word_with_matches(word, env).result

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        """Expand ``word`` and split the result into words (``EXPOSE $PORTS``)."""
        return self.process_word_with_matches(word, env).words

    def process_word_with_matches(self, word: str, env: Mapping[str, str]) -> WordResult:
        """Expand ``word`` and report which variables were set and which were not."""
        scanner = _Scanner(self, word, env)
        try:
            result, words = scanner.process_stop_on(None, self.raw_escapes)
        except ShellLexError as e:
            raise ShellLexError(f"failed to process {go_quote(word)}: {e}") from None
        return WordResult(result, words, scanner.matched, scanner.unmatched)


class _Scanner:
    """One pass over one word; the state ``ShellLex`` must not keep between calls."""

    def __init__(self, lex: ShellLex, text: str, env: Mapping[str, str]) -> None:
        self.lex = lex
        self.text = text
        self.pos = 0
        self.env = env
        self.raw_escapes = lex.raw_escapes
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()

    # -- character access -------------------------------------------------
    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        if self.pos >= len(self.text):
            return ""
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    # -- main loop ---------------------------------------------------------
    def process_stop_on(self, stop: str | None, raw_escapes: bool) -> tuple[str, list[str]]:
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            return self._process_stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _process_stop_on(self, stop: str | None) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        escape = self.lex.escape_token
        quotes = not self.lex.skip_process_quotes
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if stop is not None and ch == stop:
                self.pos += 1
                return "".join(result), words.result()
            if ch == "$":
                value = self.process_dollar()
                result.append(value)
                words.add_string(value)
            elif ch == "<":
                value = self.process_possible_heredoc()
                result.append(value)
                words.add_raw_string(value)
            elif quotes and ch == "'":
                value = self.process_single_quote()
                result.append(value)
                words.add_raw_string(value)
            elif quotes and ch == '"':
                value = self.process_double_quote()
                result.append(value)
                words.add_raw_string(value)
            else:
                self.pos += 1
                if ch == escape:
                    if self.raw_escapes:
                        words.add_raw_char(ch)
                        result.append(ch)
                    ch = self.next()
                    if not ch:
                        break
                    words.add_raw_char(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop is not None:
            raise ShellLexError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.result()

    # -- quotes ------------------------------------------------------------
    def process_single_quote(self) -> str:
        out: list[str] = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            ch = self.next()
            if not ch:
                raise ShellLexError(
                    "unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def process_double_quote(self) -> str:
        out: list[str] = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        escape = self.lex.escape_token
        while True:
            peek = self.peek()
            if not peek:
                raise ShellLexError(
                    "unexpected end of statement while looking for matching double-quote")
            if peek == '"':
                ch = self.next()
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if peek == "$":
                out.append(self.process_dollar())
                continue
            ch = self.next()
            if ch == escape:
                if self.raw_escapes:
                    out.append(ch)
                following = self.peek()
                if not following:
                    continue  # a lone escape at the end is dropped; the quote is unterminated
                if following in ('"', "$", escape):
                    ch = self.next()
            out.append(ch)

    def process_possible_heredoc(self) -> str:
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        spaces: list[str] = []
        while self.peek() in ("\t", "\r", " ") and self.peek():
            spaces.append(self.next())
        return "<<" + "".join(spaces)

    # -- variables -----------------------------------------------------------
    def get_env(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            self.matched.add(name)
            return self.env[name], True
        self.unmatched.add(name)
        return "", False

    def process_name(self) -> str:
        name: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if not name and ch.isdecimal():
                while self.pos < len(self.text) and self.text[self.pos].isdecimal():
                    name.append(self.next())
                return "".join(name)
            if not name and ch in _SPECIAL_PARAMS:
                return self.next()
            if not _is_name_char(ch):
                break
            name.append(self.next())
        return "".join(name)

    def process_dollar(self) -> str:
        self.next()  # the "$"
        if self.peek() != "{":
            name = self.process_name()
            if not name:
                return "$"
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "$" + name
            return value

        self.next()  # the "{"
        first = self.peek()
        if not first:
            raise ShellLexError("syntax error: missing '}'")
        if first in "{}:":
            raise ShellLexError("syntax error: bad substitution")
        name = self.process_name()
        ch = self.next()
        if not ch:
            raise ShellLexError("syntax error: missing '}'")
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "${" + name + "}"
            return value
        if ch == "/":
            return self._substitute(name)
        modifier = ch
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            modifier += ch
        if not null_is_unset and ch not in "+-?#%":
            raise ShellLexError(f"unsupported modifier ({modifier}) in substitution")
        trims = ch in ("#", "%")
        if null_is_unset and trims:
            raise ShellLexError(f"unsupported modifier ({modifier}) in substitution")
        try:
            word, _ = self.process_stop_on("}", trims)
        except ShellLexError:
            if not self.peek():
                raise ShellLexError("syntax error: missing '}'") from None
            raise
        value, is_set = self.get_env(name)
        if self.lex.skip_unset_env and not is_set:
            return "${" + name + modifier + word + "}"
        empty = not is_set or (null_is_unset and value == "")
        if ch == "-":
            return word if empty else value
        if ch == "+":
            return "" if empty else word
        if ch == "?":
            if not is_set:
                raise ShellLexError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise ShellLexError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if ch in ("#", "%"):
            greedy = word.startswith(ch)
            if greedy:
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        raise ShellLexError(f"unsupported modifier ({modifier}) in substitution")

    def _substitute(self, name: str) -> str:
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        try:
            pattern, _ = self.process_stop_on("/", True)
        except ShellLexError:
            if not self.peek():
                raise ShellLexError("syntax error: missing '/' in ${}") from None
            raise
        try:
            replacement, _ = self.process_stop_on("}", True)
        except ShellLexError:
            if not self.peek():
                raise ShellLexError("syntax error: missing '}'") from None
            raise
        value, is_set = self.get_env(name)
        if self.lex.skip_unset_env and not is_set:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        regex = _shell_pattern_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return regex.sub(lambda m: _go_expand(replacement, m), value)
        found = regex.search(value)
        if found:
            value = value[:found.start()] + replacement + value[found.end():]
        return value


def _shell_pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A shell pattern (``*``, ``?``, ``\\`` escapes; no brackets) as a regex."""
    out = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            following = pattern[i] if i < len(pattern) else ""
            if following in ("}", "/"):
                continue  # an escaped "}" or "/" only protected the ${} syntax
            if following not in ("*", "?", "\\"):
                shown = following or "\\"
                raise ShellLexError(f"invalid pattern ({pattern}) in substitution: "
                                    f"invalid escape '\\{shown}'")
            out.append(re.escape(following))
            i += 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    found = _shell_pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[found.end():] if found else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern but keep each ``\\x`` escape in front of its character."""
    tokens: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i:i + 2])
            i += 2
        else:
            tokens.append(pattern[i])
            i += 1
    return "".join(reversed(tokens))


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # The shortest match at the right end is the shortest match at the left end
    # of the reversed text with the reversed pattern.
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


_EXPAND_NAME = re.compile(r"\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+)")


def _go_expand(template: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand`` for ``ReplaceAllString``: ``$$``, ``$0``, ``${0}``."""
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        if template[i + 1:i + 2] == "$":
            out.append("$")
            i += 2
            continue
        name = _EXPAND_NAME.match(template, i + 1)
        if not name:
            out.append("$")
            i += 1
            continue
        ref = name.group(1) or name.group(2)
        if ref == "0":
            out.append(match.group(0))
        i = name.end()
    return "".join(out)


def go_quote(text: str) -> str:
    """``strconv.Quote``: a double-quoted Go string literal."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v"}
