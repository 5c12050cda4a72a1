"""``.dockerignore``: which files of the build context are sent to the builder.

Semantics follow Docker (``moby/patternmatcher`` and its ``ignorefile`` reader, the
CLI's build-file rule, and BuildKit's context walker in ``tonistiigi/fsutil``):

* lines starting with ``#`` are comments; patterns are trimmed, cleaned like Go's
  ``filepath.Clean`` and lose a leading ``/``;
* patterns use Go's ``filepath.Match`` syntax (``*``, ``?``, ``[a-z]``, ``[^a]``,
  ``\\`` escapes; a malformed pattern is an error) plus ``**`` for any number of
  directories;
* ``!pattern`` re-includes; the last pattern that matches a path decides;
* a pattern that matches a directory excludes everything below it; the walk goes
  into an excluded directory only when an exception could re-include something
  inside it, and then also sends the directories leading to re-included files;
* ``<Dockerfile>.dockerignore`` next to the Dockerfile replaces ``.dockerignore``;
* the Dockerfile and ``.dockerignore`` obey the patterns too: Docker transfers them
  to read them (:func:`keep_build_files` gives the patterns for such a transfer) but
  a ``COPY . .`` does not see them when they are ignored, with either builder.

One deliberate choice: an exception with wildcards (``src`` then ``!src/**/*.md``)
re-includes matching files at any depth, as current BuildKit does.  Docker 20.10's
builders only entered excluded directories named by an exception's literal prefix,
so they dropped ``src/a/b/keep.md`` in that example; plain exceptions behave the same
in all of them.
"""

from __future__ import annotations

import os
import re
from collections import namedtuple
from collections.abc import Iterable, Iterator

from hull.build import gopath
from hull.errors import InvalidArgument
from hull.record import record

DEFAULT_IGNORE_FILE = ".dockerignore"
_REGEX_ESCAPED = frozenset(".+()|{}$")
_GLOB_CHARS = frozenset("*[]?^\\")


class IgnorePatternError(InvalidArgument):
    """A .dockerignore pattern is malformed."""


# -- reading the file ---------------------------------------------------------------------

def read_patterns(text: str | bytes) -> list[str]:
    """The patterns of an ignore file, normalized like Docker's ``ignorefile.ReadAll``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    patterns: list[str] = []
    for line in text.split("\n"):
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = gopath.clean(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


# -- one pattern ---------------------------------------------------------------------------

def _class_char(pattern: str, i: int) -> int:
    """Skip one (possibly escaped) character of a ``[...]`` class; Go's ``getEsc``."""
    n = len(pattern)
    if i >= n or pattern[i] in "-]":
        raise ValueError
    if pattern[i] == "\\":
        i += 1
        if i >= n:
            raise ValueError
    i += 1
    if i >= n:
        raise ValueError
    return i


def _validate_go_pattern(pattern: str) -> None:
    """Raise ``ValueError`` where Go's ``filepath.Match`` reports ``ErrBadPattern``."""
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise ValueError
            i += 2
        elif ch == "[":
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            ranges = 0
            while True:
                if i < n and pattern[i] == "]" and ranges:
                    i += 1
                    break
                i = _class_char(pattern, i)
                if pattern[i] == "-":
                    i = _class_char(pattern, i + 1)
                ranges += 1
        else:
            i += 1


def _class_member(pattern: str, i: int) -> tuple[str, int]:
    if pattern[i] == "\\":
        i += 1
    return pattern[i], i + 1


def _compile_class(pattern: str, i: int, out: list[str]) -> int:
    """Translate a validated ``[...]`` class starting after its ``[``; return the index after it."""
    out.append("[")
    if pattern[i] == "^":
        out.append("^")
        i += 1
    ranges = 0
    while not (pattern[i] == "]" and ranges):
        low, i = _class_member(pattern, i)
        out.append(re.escape(low))
        if pattern[i] == "-":
            high, i = _class_member(pattern, i + 1)
            out.append("-" + re.escape(high))
        ranges += 1
    out.append("]")
    return i + 1


class Pattern:
    """One compiled pattern; ``kind`` picks the cheapest way to match it."""

    def __init__(self, text: str) -> None:
        self.exclusion = text.startswith("!")
        body = text[1:] if self.exclusion else text
        self.text = body
        try:
            _validate_go_pattern(body)
        except ValueError:
            raise IgnorePatternError(f"syntax error in pattern: {text}") from None
        self.kind, self.regex = self._compile(body)

    def __repr__(self) -> str:
        return f"Pattern({'!' if self.exclusion else ''}{self.text!r}, {self.kind})"

    @staticmethod
    def _compile(pattern: str) -> tuple[str, re.Pattern[str] | None]:
        out = ["^"]
        kind = "exact"
        i, n, step = 0, len(pattern), 0
        while i < n:
            ch = pattern[i]
            i += 1
            if ch == "*":
                if i < n and pattern[i] == "*":
                    i += 1
                    if i < n and pattern[i] == "/":
                        i += 1
                    if i >= n:
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            out.append(".*")
                            kind = "regexp"
                    else:
                        out.append("(.*/)?")
                        kind = "regexp"
                    if step == 0:
                        kind = "suffix"
                else:
                    out.append("[^/]*")
                    kind = "regexp"
            elif ch == "?":
                out.append("[^/]")
                kind = "regexp"
            elif ch in _REGEX_ESCAPED:
                out.append("\\" + ch)
            elif ch == "\\":
                if i < n:
                    out.append(re.escape(pattern[i]))
                    i += 1
                    kind = "regexp"
                else:
                    out.append("\\\\")
            elif ch == "[":
                i = _compile_class(pattern, i, out)
                kind = "regexp"
            elif ch == "]":
                out.append(r"\]")
                kind = "regexp"
            else:
                out.append(ch if ch == "^" else re.escape(ch))  # a bare "^" anchors, as in Go
            step += 1
        if kind != "regexp":
            return kind, None
        out.append(r"\Z")
        try:
            return kind, re.compile("".join(out))
        except re.error:
            raise IgnorePatternError(f"syntax error in pattern: {pattern}") from None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.text
        if self.kind == "prefix":
            return path.startswith(self.text[:-2])
        if self.kind == "suffix":
            suffix = self.text[2:]
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None

    def without_trailing_glob(self) -> str:
        text = self.text
        for tail in ("/**", "/*"):
            if text.endswith(tail):
                text = text[:-len(tail)]
        return text


def _parent_dirs(path: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]``: the directories a path lies in."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i + 1]) for i in range(len(parts))]


class PatternMatcher:
    """Ordered patterns; the last one that matches a path (or its parent) decides."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: list[Pattern] = []
        for text in patterns:
            text = text.strip()
            if not text:
                continue
            text = gopath.clean(text)
            if text == "!":
                raise IgnorePatternError('illegal exclusion pattern: "!"')
            self.patterns.append(Pattern(text))
        self.exclusions = any(p.exclusion for p in self.patterns)

    def matches(self, path: str) -> bool:
        """Whether ``path`` (slash-separated, relative) is excluded."""
        path = gopath.clean(path)
        if path == ".":
            return False
        matched = False
        parents = _parent_dirs(path)
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path) or any(pattern.match(p) for p in parents)
            if hit:
                matched = not pattern.exclusion
        return matched

    def matches_with_parent(self, path: str, parent: list[bool] | None
                            ) -> tuple[bool, list[bool]]:
        """``matches`` reusing the parent directory's per-pattern results while walking."""
        matched = False
        info = [False] * len(self.patterns)
        for i, pattern in enumerate(self.patterns):
            hit = parent[i] if parent else False
            if not hit:
                if pattern.exclusion != matched:
                    continue
                hit = pattern.match(path)
                if not hit and not parent:
                    hit = any(pattern.match(p) for p in _parent_dirs(path))
            info[i] = hit
            if hit:
                matched = not pattern.exclusion
        return matched, info


# -- the context ---------------------------------------------------------------------------

class ContextEntry(namedtuple("ContextEntry", ("path", "full_path", "is_dir"))):
    """One entry of the context that is sent: relative path (str), absolute path (str), and
    whether it is a directory (bool)."""

    __slots__ = ()


def find_ignore_file(context_dir: str, dockerfile: str | None = None) -> str | None:
    """``<Dockerfile>.dockerignore`` if it exists, else the context's ``.dockerignore``."""
    if dockerfile:
        specific = dockerfile + ".dockerignore"
        if not os.path.isabs(specific):
            specific = os.path.join(context_dir, specific)
        if os.path.isfile(specific):
            return specific
    default = os.path.join(context_dir, DEFAULT_IGNORE_FILE)
    return default if os.path.isfile(default) else None


@record
class _Dir:
    entry: ContextEntry
    prefix: str
    info: list[bool]
    sent: bool


class DockerIgnore:
    """The exclusion rules of one build context, and a fast walk of what is sent."""

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.matcher = PatternMatcher(patterns)
        self.patterns = [("!" if p.exclusion else "") + p.text for p in self.matcher.patterns]
        self._prefix_only = all(
            not (set(p.without_trailing_glob()) & _GLOB_CHARS)
            for p in self.matcher.patterns if p.exclusion)

    @classmethod
    def load(cls, context_dir: str, dockerfile: str | None = None) -> DockerIgnore:
        """Rules for ``context_dir`` building ``dockerfile`` (a path in or outside it)."""
        ignore_file = find_ignore_file(context_dir, dockerfile)
        if ignore_file is None:
            return cls()
        with open(ignore_file, "rb") as f:
            return cls(read_patterns(f.read()))

    def is_excluded(self, path: str) -> bool:
        """Whether the context path ``path`` (relative, slash-separated) is left out."""
        return self.matcher.matches(path.lstrip("/"))

    def walk(self, context_dir: str) -> Iterator[ContextEntry]:
        """Every sent entry, parents before children, names in byte order."""
        stack: list[_Dir] = []
        yield from self._walk_dir(context_dir, "", stack)

    def walk_below(self, directory: str, prefix: str) -> Iterator[ContextEntry]:
        """Like :meth:`walk` for the context subdirectory ``directory`` whose context path
        is ``prefix`` (``"src/"``); entries keep their context paths."""
        yield from self._walk_dir(directory, prefix, [])

    def _walk_dir(self, directory: str, rel: str, stack: list[_Dir]) -> Iterator[ContextEntry]:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except FileNotFoundError:
            return
        parent_info = stack[-1].info if stack else None
        have_patterns = bool(self.matcher.patterns)
        for entry in entries:
            path = rel + entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            item = ContextEntry(path, entry.path, is_dir)
            excluded, info = (self.matcher.matches_with_parent(path, parent_info)
                              if have_patterns else (False, []))
            if excluded and is_dir and not self._may_reinclude_below(path):
                continue
            if not excluded:
                for pending in stack:
                    if not pending.sent:
                        pending.sent = True
                        yield pending.entry
                yield item
            if is_dir:
                stack.append(_Dir(item, path + "/", info, not excluded))
                yield from self._walk_dir(entry.path, path + "/", stack)
                stack.pop()

    def _may_reinclude_below(self, directory: str) -> bool:
        if not self.matcher.exclusions:
            return False
        if not self._prefix_only:
            return True  # an exception with wildcards could match anywhere
        prefix = directory + "/"
        return any((p.without_trailing_glob() + "/").startswith(prefix)
                   for p in self.matcher.patterns if p.exclusion)


def keep_build_files(patterns: list[str], context_dir: str, dockerfile: str | None) -> list[str]:
    """Patterns for *transferring* a context: ``.dockerignore`` and the Dockerfile stay in.

    The Docker CLI adds these exceptions before it tars a context for the daemon, which
    must read both files; the daemon then hides them from COPY again if they were
    ignored.  Use this only when handing a context to another builder.
    """
    patterns = list(patterns)
    if PatternMatcher(patterns).matches(DEFAULT_IGNORE_FILE):
        patterns.append("!" + DEFAULT_IGNORE_FILE)
    if dockerfile:
        full = dockerfile if os.path.isabs(dockerfile) else os.path.join(context_dir, dockerfile)
        rel = os.path.relpath(os.path.abspath(full), os.path.abspath(context_dir))
        if not rel.startswith("..") and PatternMatcher(patterns).matches(rel):
            patterns.append("!" + rel)
    return patterns
