"""Tokens of Go's text/template: text between actions and the words inside ``{{ }}``.

Follows Go's lexer closely (trim markers ``{{- `` / `` -}}``, comments that must hug
the delimiters, newlines allowed inside actions, the same error messages) so that the
parser can report problems the way Go reports them.
"""

from __future__ import annotations

TEXT = "text"
LEFT = "{{"
RIGHT = "}}"
SPACE = "space"
FIELD = "field"
VARIABLE = "variable"
IDENTIFIER = "identifier"
KEYWORD = "keyword"
DOT = "."
NUMBER = "number"
CHAR_CONSTANT = "char constant"
STRING = "string"
RAW_STRING = "raw string"
BOOL = "bool"
NIL = "nil"
PIPE = "|"
LEFT_PAREN = "("
RIGHT_PAREN = ")"
DECLARE = ":="
ASSIGN = "="
CHAR = "char"
EOF = "EOF"
ERROR = "error"

KEYWORDS = frozenset(
    ("block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"))
_SPACES = " \t\r\n"
_TERMINATORS = _SPACES + ".,|:()"


class Token:
    """One lexical item: its kind, its text, and where it starts (offset and line)."""

    __slots__ = ("kind", "line", "pos", "value")

    def __init__(self, kind: str, value: str, pos: int, line: int) -> None:
        self.kind = kind
        self.value = value
        self.pos = pos
        self.line = line

    def describe(self) -> str:
        """How Go names the token in 'unexpected ...' messages."""
        if self.kind == EOF:
            return "EOF"
        if self.kind == ERROR:
            return self.value
        if self.kind in (KEYWORD, DOT, NIL):
            return f"<{self.value}>"
        if len(self.value) > 10:
            return '"' + self.value[:10].replace('"', '\\"') + '"...'
        return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.value!r}, {self.pos})"


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


class Lexer:
    """Turns template source into a list of tokens, ending with EOF or ERROR."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.paren_depth = 0

    def line_at(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def emit(self, kind: str, start: int, end: int) -> None:
        self.tokens.append(Token(kind, self.text[start:end], start, self.line_at(start)))

    def error(self, message: str, pos: int) -> list[Token]:
        self.tokens.append(Token(ERROR, message, pos, self.line_at(pos)))
        return self.tokens

    def run(self) -> list[Token]:
        text = self.text
        n = len(text)
        while True:
            left = text.find("{{", self.pos)
            if left < 0:
                if self.pos < n:
                    self.emit(TEXT, self.pos, n)
                self.tokens.append(Token(EOF, "", n, self.line_at(n)))
                return self.tokens
            trim_left = text.startswith("-", left + 2) and left + 3 < n and (
                text[left + 3] in _SPACES)
            end_of_text = left
            if trim_left:
                while end_of_text > self.pos and text[end_of_text - 1] in _SPACES:
                    end_of_text -= 1
            if end_of_text > self.pos:
                self.emit(TEXT, self.pos, end_of_text)
            inside = left + 2 + (2 if trim_left else 0)
            if text.startswith("/*", inside):
                if not self._comment(inside):
                    return self.tokens
                continue
            self.tokens.append(Token(LEFT, "{{", left, self.line_at(left)))
            self.pos = inside
            self.paren_depth = 0
            if not self._inside_action():
                return self.tokens

    def _at_right_delim(self, pos: int) -> tuple[bool, bool]:
        """(at a closing delimiter, it carries a trim marker)."""
        text = self.text
        if text.startswith("}}", pos):
            return True, False
        if pos + 1 < len(text) and text[pos] in _SPACES and text.startswith("-}}", pos + 1):
            return True, True
        return False, False

    def _close(self, pos: int, trim: bool) -> None:
        """Consume a closing delimiter at ``pos`` and the spaces it trims."""
        start = pos + 1 if trim else pos
        self.tokens.append(Token(RIGHT, "}}", start, self.line_at(start)))
        self.pos = pos + (4 if trim else 2)
        if trim:
            while self.pos < len(self.text) and self.text[self.pos] in _SPACES:
                self.pos += 1

    def _comment(self, start: int) -> bool:
        end = self.text.find("*/", start + 2)
        if end < 0:
            self.error("unclosed comment", start)
            return False
        at_delim, trim = self._at_right_delim(end + 2)
        if not at_delim:
            self.error("comment ends before closing delimiter", end + 2)
            return False
        self.pos = end + 2 + (4 if trim else 2)
        if trim:
            while self.pos < len(self.text) and self.text[self.pos] in _SPACES:
                self.pos += 1
        return True

    def _inside_action(self) -> bool:
        text = self.text
        n = len(text)
        while True:
            pos = self.pos
            at_delim, trim = self._at_right_delim(pos)
            if at_delim:
                if self.paren_depth:
                    self.error("unclosed left paren", pos)
                    return False
                self._close(pos, trim)
                return True
            if pos >= n:
                self.error("unclosed action", pos)
                return False
            ch = text[pos]
            if ch in _SPACES:
                end = pos
                while end < n and text[end] in _SPACES:
                    end += 1
                # the last space before "-}}" belongs to the closing delimiter
                if text.startswith("-}}", end):
                    self.emit(SPACE, pos, end - 1)
                    self.pos = end - 1
                    continue
                self.emit(SPACE, pos, end)
                self.pos = end
            elif ch == "=":
                self.emit(ASSIGN, pos, pos + 1)
                self.pos += 1
            elif ch == ":":
                if not text.startswith("=", pos + 1):
                    self.error("expected :=", pos)
                    return False
                self.emit(DECLARE, pos, pos + 2)
                self.pos += 2
            elif ch == "|":
                self.emit(PIPE, pos, pos + 1)
                self.pos += 1
            elif ch == '"':
                if not self._quoted(pos):
                    return False
            elif ch == "`":
                end = text.find("`", pos + 1)
                if end < 0:
                    self.error("unterminated raw quoted string", pos)
                    return False
                self.emit(RAW_STRING, pos, end + 1)
                self.pos = end + 1
            elif ch == "'":
                if not self._char_constant(pos):
                    return False
            elif ch == "$":
                end = pos + 1
                while end < n and _is_alnum(text[end]):
                    end += 1
                if not self._check_terminator(end):
                    return False
                self.emit(VARIABLE, pos, end)
                self.pos = end
            elif ch == ".":
                if pos + 1 < n and text[pos + 1].isdigit():
                    if not self._number(pos):
                        return False
                elif pos + 1 < n and _is_alnum(text[pos + 1]):
                    end = pos + 1
                    while end < n and _is_alnum(text[end]):
                        end += 1
                    if not self._check_terminator(end):
                        return False
                    self.emit(FIELD, pos, end)
                    self.pos = end
                else:
                    self.emit(DOT, pos, pos + 1)
                    self.pos += 1
            elif ch in "+-" or ch.isdigit():
                if not self._number(pos):
                    return False
            elif _is_alnum(ch):
                end = pos
                while end < n and _is_alnum(text[end]):
                    end += 1
                if not self._check_terminator(end):
                    return False
                word = text[pos:end]
                if word in KEYWORDS:
                    kind = KEYWORD
                elif word in ("true", "false"):
                    kind = BOOL
                elif word == "nil":
                    kind = NIL
                else:
                    kind = IDENTIFIER
                self.emit(kind, pos, end)
                self.pos = end
            elif ch == "(":
                self.paren_depth += 1
                self.emit(LEFT_PAREN, pos, pos + 1)
                self.pos += 1
            elif ch == ")":
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    self.error("unexpected right paren", pos)
                    return False
                self.emit(RIGHT_PAREN, pos, pos + 1)
                self.pos += 1
            elif ord(ch) < 0x80 and ch.isprintable():
                self.emit(CHAR, pos, pos + 1)
                self.pos += 1
            else:
                self.error(f"unrecognized character in action: {_unicode_name(ch)}", pos)
                return False

    def _check_terminator(self, end: int) -> bool:
        if end >= len(self.text) or self.text[end] in _TERMINATORS:
            return True
        if self._at_right_delim(end)[0]:
            return True
        self.error(f"bad character {_unicode_name(self.text[end])}", end)
        return False

    def _quoted(self, start: int) -> bool:
        text = self.text
        i = start + 1
        while True:
            if i >= len(text) or text[i] == "\n":
                self.error("unterminated quoted string", start)
                return False
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == '"':
                break
            i += 1
        self.emit(STRING, start, i + 1)
        self.pos = i + 1
        return True

    def _char_constant(self, start: int) -> bool:
        text = self.text
        i = start + 1
        while True:
            if i >= len(text) or text[i] == "\n":
                self.error("unterminated character constant", start)
                return False
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == "'":
                break
            i += 1
        self.emit(CHAR_CONSTANT, start, i + 1)
        self.pos = i + 1
        return True

    def _number(self, start: int) -> bool:
        text = self.text
        n = len(text)
        i = start
        if i < n and text[i] in "+-":
            i += 1
        digits = "0123456789_"
        if text.startswith(("0x", "0X"), i):
            i += 2
            digits = "0123456789abcdefABCDEF_"
        elif text.startswith(("0o", "0O"), i):
            i += 2
            digits = "01234567_"
        elif text.startswith(("0b", "0B"), i):
            i += 2
            digits = "01_"
        while i < n and text[i] in digits:
            i += 1
        if i < n and text[i] == ".":
            i += 1
            while i < n and text[i] in digits:
                i += 1
        exponent = "pP" if len(digits) > 12 else "eE"
        if i < n and text[i] in exponent:
            i += 1
            if i < n and text[i] in "+-":
                i += 1
            while i < n and text[i] in "0123456789_":
                i += 1
        if i < n and text[i] == "i":
            i += 1
        if i < n and _is_alnum(text[i]):
            self.error(f"bad number syntax: {quote_go(text[start:i + 1])}", start)
            return False
        self.emit(NUMBER, start, i)
        self.pos = i
        return True


def _unicode_name(ch: str) -> str:
    """Go's %#U: ``U+0023 '#'``."""
    return f"U+{ord(ch):04X} '{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}"


def quote_go(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``; the last one is EOF, or ERROR with Go's message."""
    return Lexer(text).run()
