"""The build context: where it comes from, which files it shows, and their content hashes.

A context is a directory, a tar (a file or standard input, optionally compressed) that is
unpacked into a private directory, or nothing at all (``hull build -f - ``/ a Dockerfile on
standard input).  Files excluded by ``.dockerignore`` do not exist for COPY and ADD.

COPY/ADD cache keys use :func:`content_hash`: paths, file types, permission bits, link
targets and file contents, never timestamps or owners (the builder resets owners), so
touching a file or checking it out again does not invalidate the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator

from hull.build import gopath
from hull.build.digests import file_digest
from hull.build.dockerignore import DockerIgnore
from hull.errors import InvalidArgument, NotFound
from hull.record import field, record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import BinaryIO

    from hull.build.digests import DigestMemo
    from hull.build.records import FileWatch

DEFAULT_DOCKERFILE = "Dockerfile"
_GLOB_CHARS = frozenset("*?[\\")
_TAR_MAGIC_OFFSET = 257


class ContextError(InvalidArgument):
    """The context or Dockerfile given to ``build`` cannot be used."""


@record
class BuildContext:
    """A directory of context files (or none) and its exclusion rules."""

    root: str | None
    ignore: DockerIgnore = field(default_factory=DockerIgnore)
    temporary: str | None = None  # a directory this context owns and removes

    def close(self) -> None:
        if self.temporary:
            import shutil

            shutil.rmtree(self.temporary, ignore_errors=True)
            self.temporary = None

    def require_root(self, what: str) -> str:
        if self.root is None:
            raise ContextError(f"{what} needs a build context, but none was given")
        return self.root


@record
class LoadedBuild:
    """What ``build`` reads before it starts: the context and the Dockerfile's text."""

    context: BuildContext
    dockerfile: bytes
    dockerfile_name: str


def _looks_like_archive(head: bytes) -> bool:
    if head[:2] == b"\x1f\x8b" or head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00":
        return True
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return True
    return head[_TAR_MAGIC_OFFSET:_TAR_MAGIC_OFFSET + 5] == b"ustar"


def _spool(stream: BinaryIO, directory: str) -> str:
    import shutil
    import tempfile

    fd, path = tempfile.mkstemp(dir=directory, prefix="stdin-")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    return path


def _extract(archive: str, directory: str) -> None:
    """Unpack a context tar with the safe layer extractor (no path escapes)."""
    from hull.archive.apply import apply_layer
    from hull.archive.compression import open_layer
    from hull.errors import CorruptArchive

    with open(archive, "rb") as raw:
        try:
            apply_layer(open_layer(raw), directory, "delete")
        except CorruptArchive as e:
            raise ContextError(f"the build context is not a valid tar archive: {e}") from None


def load_build(context_arg: str | None, dockerfile_arg: str | None, stdin: BinaryIO,
               scratch_dir: str) -> LoadedBuild:
    """Resolve ``build``'s CONTEXT and ``-f`` arguments the way the Docker CLI does.

    ``-f`` is relative to the current directory for a directory context and names a
    member for a tar context; ``-f -`` reads the Dockerfile from standard input.  A
    CONTEXT of ``-`` is a tar on standard input, or else a Dockerfile with no context.
    """
    os.makedirs(scratch_dir, exist_ok=True)
    if dockerfile_arg == "-" and context_arg == "-":
        raise ContextError("invalid argument: can't use stdin for both build context and "
                           "dockerfile")
    stdin_dockerfile = stdin.read() if dockerfile_arg == "-" else None
    if context_arg in (None, ""):
        if stdin_dockerfile is None:
            raise ContextError('"hull build" requires exactly 1 argument (a context '
                               "directory, tar, or - ), or -f - with no context")
        return LoadedBuild(BuildContext(None), stdin_dockerfile, DEFAULT_DOCKERFILE)
    if context_arg == "-" or os.path.isfile(context_arg):
        return _load_archive(context_arg, dockerfile_arg, stdin, stdin_dockerfile, scratch_dir)
    if not os.path.isdir(context_arg):
        raise ContextError(f"unable to prepare context: path {context_arg!r} not found")
    root = os.path.abspath(context_arg)
    if stdin_dockerfile is not None:
        return LoadedBuild(BuildContext(root, DockerIgnore.load(root)), stdin_dockerfile,
                           DEFAULT_DOCKERFILE)
    path = _dockerfile_path(root, dockerfile_arg)
    with open(path, "rb") as f:
        data = f.read()
    rel = os.path.relpath(path, root)
    name = rel if not rel.startswith("..") else path
    ignore = DockerIgnore.load(root, path)
    return LoadedBuild(BuildContext(root, ignore), data, os.path.basename(name))


def _dockerfile_path(root: str, given: str | None) -> str:
    if given:
        path = os.path.abspath(given)
        if not os.path.exists(path):
            raise ContextError(f"unable to prepare context: the Dockerfile ({given}) "
                               "cannot be found")
        if os.path.isdir(path):
            raise ContextError(f"unable to prepare context: the Dockerfile ({given}) is a "
                               "directory")
        return path
    for name in (DEFAULT_DOCKERFILE, "dockerfile"):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            return path
    raise ContextError(f"unable to prepare context: unable to evaluate symlinks in "
                       f"Dockerfile path: lstat {os.path.join(root, DEFAULT_DOCKERFILE)}: "
                       "no such file or directory")


def _load_archive(context_arg: str, dockerfile_arg: str | None, stdin: BinaryIO,
                  stdin_dockerfile: bytes | None, scratch_dir: str) -> LoadedBuild:
    import shutil
    import tempfile

    temporary = tempfile.mkdtemp(prefix="context-", dir=scratch_dir)
    try:
        archive = _spool(stdin, temporary) if context_arg == "-" else context_arg
        with open(archive, "rb") as f:
            head = f.read(512)
        if not _looks_like_archive(head):
            if context_arg != "-":
                raise ContextError(f"unable to prepare context: {context_arg!r} is neither a "
                                   "directory nor a tar archive")
            with open(archive, "rb") as f:  # a Dockerfile on stdin, no context
                data = f.read()
            shutil.rmtree(temporary, ignore_errors=True)
            return LoadedBuild(BuildContext(None), data, DEFAULT_DOCKERFILE)
        root = os.path.join(temporary, "context")
        os.mkdir(root, 0o755)
        _extract(archive, root)
        if context_arg == "-":
            os.unlink(archive)
        if stdin_dockerfile is not None:
            data, name = stdin_dockerfile, DEFAULT_DOCKERFILE
        else:
            name = gopath.clean(dockerfile_arg or DEFAULT_DOCKERFILE).lstrip("/")
            member = os.path.join(root, name)
            if not os.path.isfile(member):
                raise ContextError(f"unable to prepare context: the Dockerfile ({name}) "
                                   "was not found in the build context")
            with open(member, "rb") as f:
                data = f.read()
        ignore = DockerIgnore.load(root, os.path.join(root, name))
        return LoadedBuild(BuildContext(root, ignore, temporary), data, os.path.basename(name))
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


# ---- selecting and hashing sources ---------------------------------------------------------

@record(frozen=True)
class Source:
    """One COPY/ADD source found in a source tree.

    ``rel`` is its path inside the tree (``""`` for the tree's root); ``path`` where it is
    on the host; ``is_dir`` after following a symlink named by the instruction itself.
    """

    rel: str
    path: str
    is_dir: bool


def has_wildcards(pattern: str) -> bool:
    return any(c in _GLOB_CHARS for c in pattern)


def _go_match(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match`` for one path element (no ``/`` in either)."""
    from hull.build.dockerignore import Pattern

    try:
        compiled = Pattern(pattern)
    except InvalidArgument:
        raise ContextError(f"syntax error in pattern: {pattern}") from None
    return compiled.match(name)


def _resolve_in(root: str, rel: str) -> str:
    """``root/rel`` with symlinks resolved inside ``root``."""
    from hull.build.paths import in_tree

    return in_tree(root, rel)


def find_sources(root: str, pattern: str, ignore: DockerIgnore | None,
                 watch: FileWatch | None = None) -> list[Source]:
    """The entries of the tree at ``root`` that a COPY/ADD source names.

    A path without wildcards must exist (and not be excluded); with wildcards every
    matching entry is returned in name order, possibly none.  ``watch`` learns every
    path looked at.
    """
    cleaned = gopath.clean("/" + pattern).lstrip("/")
    if not cleaned or cleaned == ".":
        return [Source("", root, True)]
    if not has_wildcards(cleaned):
        if ignore is not None and ignore.is_excluded(cleaned):
            return []
        if watch is not None:
            watch.saw_path(os.path.join(root, cleaned))
        full = _resolve_in(root, cleaned)
        if watch is not None:
            watch.saw_path(full)
        try:
            st = os.stat(full)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [Source(cleaned, full, stat.S_ISDIR(st.st_mode))]
    found: list[tuple[str, str]] = [("", root)]
    for part in cleaned.split("/"):
        nxt: list[tuple[str, str]] = []
        for rel, path in found:
            if watch is not None:
                watch.saw_path(path)
            if not has_wildcards(part):
                candidate = os.path.join(path, part)
                if os.path.lexists(candidate):
                    nxt.append((gopath.join(rel, part), candidate))
                continue
            try:
                names = sorted(os.listdir(path))
            except (NotADirectoryError, FileNotFoundError):
                continue
            nxt += [(gopath.join(rel, n), os.path.join(path, n)) for n in names
                    if _go_match(part, n)]
        found = nxt
    out = []
    for rel, path in found:
        if ignore is not None and ignore.is_excluded(rel):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        out.append(Source(rel, path, stat.S_ISDIR(st.st_mode)))
    return out


def walk_source(source: Source, ignore: DockerIgnore | None
                ) -> Iterator[tuple[str, str, os.stat_result]]:
    """(path relative to the source, host path, lstat) below a directory source.

    Parents come before their children; excluded entries are left out (an excluded
    directory's re-included files still come, with the directories leading to them).
    """
    if ignore is None or not ignore.matcher.patterns:
        yield from _walk_plain("", source.path)
        return
    prefix = source.rel + "/" if source.rel else ""
    for entry in ignore.walk_below(source.path, prefix):
        rel = entry.path[len(prefix):]
        yield rel, entry.full_path, os.lstat(entry.full_path)


def _walk_plain(rel_dir: str, directory: str) -> Iterator[tuple[str, str, os.stat_result]]:
    stack: list[tuple[str, str, Iterator[str]]] = [
        (rel_dir, directory, iter(sorted(os.listdir(directory))))]
    while stack:
        rel_base, base, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        rel = f"{rel_base}/{name}" if rel_base else name
        path = os.path.join(base, name)
        st = os.lstat(path)
        yield rel, path, st
        if stat.S_ISDIR(st.st_mode):
            stack.append((rel, path, iter(sorted(os.listdir(path)))))


def _hash_entry(h: hashlib._Hash, rel: str, path: str, st: os.stat_result,
                memo: DigestMemo | None) -> None:
    kind = stat.S_IFMT(st.st_mode)
    h.update(f"{rel}\0{kind:o}\0{stat.S_IMODE(st.st_mode):o}\0".encode("utf-8",
                                                                      "surrogateescape"))
    if stat.S_ISREG(st.st_mode):
        h.update(memo.digest(path, st) if memo is not None else file_digest(path))
    elif stat.S_ISLNK(st.st_mode):
        h.update(os.fsencode(os.readlink(path)))
    h.update(b"\n")


def content_hash(sources: list[Source], ignore: DockerIgnore | None,
                 watch: FileWatch | None = None, memo: DigestMemo | None = None) -> str:
    """A digest of everything COPY would take from ``sources`` (no times, no owners).

    ``watch`` learns the stat of every entry before its content is read; ``memo`` gives
    the digests of files unchanged since an earlier build without reading them.
    """
    h = hashlib.sha256()
    for source in sources:
        h.update(f"source\0{source.rel}\0".encode("utf-8", "surrogateescape"))
        st = os.stat(source.path)
        if watch is not None:
            watch.saw(source.path, os.lstat(source.path))
        _hash_entry(h, ".", source.path, st, memo)
        if source.is_dir:
            for rel, path, entry_st in walk_source(source, ignore):
                if watch is not None:
                    watch.saw(path, entry_st)
                _hash_entry(h, rel, path, entry_st, memo)
    return "sha256:" + h.hexdigest()


@contextlib.contextmanager
def scratch_directory(parent: str, prefix: str) -> Iterator[str]:
    """A private directory below ``parent``, removed afterwards."""
    import shutil
    import tempfile

    os.makedirs(parent, exist_ok=True)
    path = tempfile.mkdtemp(prefix=prefix, dir=parent)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def missing_source(pattern: str) -> NotFound:
    return NotFound(f"file not found in build context or excluded by .dockerignore: "
                    f"stat {pattern}: file does not exist")
