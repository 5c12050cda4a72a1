""".dockerignore: Docker's patternmatcher tables, the ignore-file reader and the walk."""

from __future__ import annotations

from pathlib import Path

import pytest

from hull.build.dockerignore import (
    DockerIgnore,
    IgnorePatternError,
    PatternMatcher,
    find_ignore_file,
    keep_build_files,
    read_patterns,
)

# (pattern, path, excluded) from moby/patternmatcher TestMatches.
MATCHES = [
    ("**", "file", True), ("**", "file/", True), ("**/", "file", True),
    ("**/", "file/", True), ("**", "/", True), ("**/", "/", True),
    ("**", "dir/file", True), ("**/", "dir/file", True), ("**", "dir/file/", True),
    ("**/", "dir/file/", True), ("**/**", "dir/file", True), ("**/**", "dir/file/", True),
    ("dir/**", "dir/file", True), ("dir/**", "dir/file/", True),
    ("dir/**", "dir/dir2/file", True), ("dir/**", "dir/dir2/file/", True),
    ("**/dir", "dir", True), ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True), ("**/dir2/*", "dir/dir2/file/", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True), ("**/dir2/**", "dir/dir2/dir3/file/", True),
    ("**file", "file", True), ("**file", "dir/file", True), ("**/file", "dir/file", True),
    ("**file", "dir/dir/file", True), ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file", True), ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True), ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True), ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False), ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True), ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True), ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False), ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True), ("a[b-d]e", "ae", False), ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False), ("a[^b-d]e", "aze", True), (".*", ".foo", True),
    (".*", "foo", False), ("abc.def", "abcdef", False), ("abc.def", "abc.def", True),
    ("abc.def", "abcZdef", False), ("abc?def", "abcZdef", True), ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True), ("**/foo/bar", "foo/bar", True), ("**/foo/bar", "dir/foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True), ("abc/**", "abc", False),
    ("abc/**", "abc/def", True), ("abc/**", "abc/def/ghi", True), ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False), ("a(b)c/def", "a(b)c/def", True),
    ("a(b)c/def", "a(b)c/xyz", False), ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("a\\*b", "a*b", True),
]

MULTI = [
    (["**", "!util/docker/web"], "util/docker/web/foo", False),
    (["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", True),
    (["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
    (["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
    (["*.go"], "fileutils.go", True), (["*"], "fileutils.go", True),
    (["!fileutils.go", "*.go"], "fileutils.go", True),
    (["docs", "!docs/README.md"], "docs/README.md", False),
    (["docs/", "!docs/README.md"], "docs/README.md", False),
    (["docs/*", "!docs/README.md"], "docs/README.md", False),
    (["*.go", "!fileutils.go"], "fileutils.go", False),
    (["*.go"], ".", False), ([], "/any/path/there", False),
]

# Go's filepath.Match cases as patternmatcher runs them: (pattern, path, match).
GO_MATCH = [
    ("abc", "abc", True), ("*", "abc", True), ("*c", "abc", True), ("a*", "a", True),
    ("a*", "abc", True), ("a*", "ab/c", True), ("a*/b", "abc/b", True),
    ("a*/b", "a/c/b", False), ("a*b*c*d*e*/f", "axbxcxdxe/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True), ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False),
    ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False), ("a*b?c*x", "abxbbxdbxebxczzx", True),
    ("a*b?c*x", "abxbbxdbxebxczzy", False), ("ab[c]", "abc", True), ("ab[b-d]", "abc", True),
    ("ab[e-g]", "abc", False), ("ab[^c]", "abc", False), ("ab[^b-d]", "abc", False),
    ("ab[^e-g]", "abc", True), ("a\\*b", "a*b", True), ("a\\*b", "ab", False),
    ("a?b", "a\u263ab", True), ("a[^a]b", "a\u263ab", True), ("a???b", "a\u263ab", False),
    ("a[^a][^a][^a]b", "a\u263ab", False), ("[a-\u03b6]*", "\u03b1", True),
    ("*[a-\u03b6]", "A", False), ("a?b", "a/b", False), ("a*b", "a/b", False),
    ("[\\]a]", "]", True), ("[\\-]", "-", True), ("[x\\-]", "x", True), ("[x\\-]", "-", True),
    ("[x\\-]", "z", False), ("[\\-x]", "x", True), ("[\\-x]", "-", True),
    ("[\\-x]", "a", False), ("*x", "xxx", True),
]

BAD_PATTERNS = ["[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "!"]


@pytest.mark.parametrize(("pattern", "path", "excluded"), MATCHES)
def test_patternmatcher_table(pattern: str, path: str, excluded: bool) -> None:
    assert PatternMatcher([pattern]).matches(path) is excluded


@pytest.mark.parametrize(("pattern", "path", "excluded"), MATCHES)
def test_walk_style_matching_agrees(pattern: str, path: str, excluded: bool) -> None:
    """Matching with the parent directory's cached results gives the same answer."""
    matcher = PatternMatcher([pattern])
    parts = path.rstrip("/").split("/")
    info = None
    for depth in range(1, len(parts)):
        _, info = matcher.matches_with_parent("/".join(parts[:depth]), info)
    assert matcher.matches_with_parent("/".join(parts) or path, info)[0] is excluded


@pytest.mark.parametrize(("patterns", "path", "excluded"), MULTI)
def test_multi_pattern_table(patterns: list[str], path: str, excluded: bool) -> None:
    assert PatternMatcher(patterns).matches(path) is excluded


@pytest.mark.parametrize(("pattern", "path", "match"), GO_MATCH)
def test_go_filepath_match_table(pattern: str, path: str, match: bool) -> None:
    assert PatternMatcher([pattern]).matches(path) is match


@pytest.mark.parametrize("pattern", BAD_PATTERNS)
def test_malformed_patterns_are_errors(pattern: str) -> None:
    with pytest.raises(IgnorePatternError):
        PatternMatcher([pattern])


def test_read_patterns_normalizes_like_docker() -> None:
    text = ("\ufeff# comment\n  /abs/path  \n!/keep//this/../that\n\n  # not a comment\n"
            "./x/./y\n/\n! spaced\r\n")
    assert read_patterns(text.encode()) == [
        "abs/path", "!keep/that", "# not a comment", "x/y", "/", "!spaced"]


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir(exist_ok=True)
        else:
            path.write_text(name)


def _sent(ignore: DockerIgnore, root: Path) -> list[str]:
    return [e.path + ("/" if e.is_dir else "") for e in ignore.walk(str(root))]


def test_walk_excludes_directory_and_reincludes_exception(tmp_path: Path) -> None:
    _tree(tmp_path, ["Dockerfile", "app.py", "node_modules/a/index.js",
                     "node_modules/keep/x.js", "docs/README.md", "docs/guide.md", "empty/"])
    ignore = DockerIgnore(["node_modules", "!node_modules/keep", "docs/*.md", "!docs/README.md"])
    assert _sent(ignore, tmp_path) == [
        "Dockerfile", "app.py", "docs/", "docs/README.md", "empty/",
        "node_modules/", "node_modules/keep/", "node_modules/keep/x.js"]


def test_walk_does_not_enter_excluded_dirs_without_possible_exception(tmp_path: Path) -> None:
    _tree(tmp_path, ["a.txt", "big/one", "big/two", "other/x"])
    ignore = DockerIgnore(["big", "other", "!other/x"])
    assert ignore._may_reinclude_below("big") is False
    assert ignore._may_reinclude_below("other") is True
    assert _sent(ignore, tmp_path) == ["a.txt", "other/", "other/x"]


def test_walk_wildcard_exception_reincludes_deep_files(tmp_path: Path) -> None:
    _tree(tmp_path, ["src/a/b/keep.md", "src/a/b/drop.txt", "top.txt"])
    ignore = DockerIgnore(["*", "!**/*.md"])
    assert _sent(ignore, tmp_path) == ["src/", "src/a/", "src/a/b/", "src/a/b/keep.md"]
    assert ignore.is_excluded("top.txt")
    assert not ignore.is_excluded("src/a/b/keep.md")


def test_last_matching_pattern_wins() -> None:
    ignore = DockerIgnore(["*.log", "!important.log", "important.log"])
    assert ignore.is_excluded("important.log")
    ignore = DockerIgnore(["*.log", "!important.log"])
    assert not ignore.is_excluded("important.log")
    assert ignore.is_excluded("debug.log")
    assert not ignore.is_excluded("logs/debug.log")


def test_dockerfile_specific_ignore_file_takes_precedence(tmp_path: Path) -> None:
    _tree(tmp_path, ["a", "b", "build/app.Dockerfile"])
    (tmp_path / ".dockerignore").write_text("a\n")
    (tmp_path / "build/app.Dockerfile.dockerignore").write_text("b\n")
    assert find_ignore_file(str(tmp_path), "build/app.Dockerfile") == str(
        tmp_path / "build/app.Dockerfile.dockerignore")
    ignore = DockerIgnore.load(str(tmp_path), "build/app.Dockerfile")
    assert ignore.is_excluded("b") and not ignore.is_excluded("a")
    ignore = DockerIgnore.load(str(tmp_path), "Dockerfile")
    assert ignore.is_excluded("a") and not ignore.is_excluded("b")


def test_ignored_build_files_are_not_visible_to_copy(tmp_path: Path) -> None:
    """Checked against Docker 20.10 (both builders): ignored build files are not copied."""
    _tree(tmp_path, ["Dockerfile", "src/main.c"])
    (tmp_path / ".dockerignore").write_text("Dockerfile\n.dockerignore\n")
    assert _sent(DockerIgnore.load(str(tmp_path), "Dockerfile"), tmp_path) == [
        "src/", "src/main.c"]


def test_transfer_patterns_keep_dockerfile_and_dockerignore(tmp_path: Path) -> None:
    _tree(tmp_path, ["Dockerfile", "src/main.c", "sub/Dockerfile.prod"])
    patterns = keep_build_files(["*"], str(tmp_path), "Dockerfile")
    assert patterns == ["*", "!.dockerignore", "!Dockerfile"]
    (tmp_path / ".dockerignore").write_text("*\n")
    assert _sent(DockerIgnore(patterns), tmp_path) == [".dockerignore", "Dockerfile"]
    patterns = keep_build_files(["*"], str(tmp_path), str(tmp_path / "sub/Dockerfile.prod"))
    assert _sent(DockerIgnore(patterns), tmp_path) == [
        ".dockerignore", "sub/", "sub/Dockerfile.prod"]
    assert keep_build_files(["src"], str(tmp_path), "/elsewhere/Dockerfile") == ["src"]


def test_matches_docker_on_a_real_context(tmp_path: Path) -> None:
    """What Docker 20.10 copied with ``COPY . /ctx`` for this tree and .dockerignore."""
    _tree(tmp_path, ["node_modules/keep/x.js", "node_modules/drop/y.js", "docs/README.md",
                     "docs/guide.md", "logs/a.log", "logs/important.log", "top.txt",
                     "app.py", "empty/", "Dockerfile"])
    (tmp_path / ".dockerignore").write_text(
        "# comment\nnode_modules\n!node_modules/keep\ndocs/*.md\n!docs/README.md\n"
        "*.log\n**/*.log\n!logs/important.log\n/top.txt\nDockerfile\n.dockerignore\n")
    assert _sent(DockerIgnore.load(str(tmp_path), "Dockerfile"), tmp_path) == [
        "app.py", "docs/", "docs/README.md", "empty/", "logs/", "logs/important.log",
        "node_modules/", "node_modules/keep/", "node_modules/keep/x.js"]


def test_no_ignore_file_sends_everything(tmp_path: Path) -> None:
    _tree(tmp_path, ["x/y/z", "a"])
    assert _sent(DockerIgnore.load(str(tmp_path)), tmp_path) == ["a", "x/", "x/y/", "x/y/z"]


def test_walk_is_fast_on_a_large_tree(tmp_path: Path) -> None:
    import time
    for d in range(40):
        sub = tmp_path / f"d{d}"
        sub.mkdir()
        for f in range(100):
            (sub / f"f{f}.py").write_text("")
    (tmp_path / "node_modules").mkdir()
    ignore = DockerIgnore(["**/*.pyc", "node_modules", "d1?/f9*"])
    start = time.perf_counter()
    sent = list(ignore.walk(str(tmp_path)))
    elapsed = time.perf_counter() - start
    assert len(sent) == 40 + 4000 - 10 * 11
    assert elapsed < 1.0, f"walking 4000 files took {elapsed:.2f}s"
    print(f"walked {len(sent)} entries in {elapsed * 1000:.0f} ms")
