"""Image references: Docker's grammar, normalisation and familiar forms."""

from __future__ import annotations

import pytest

from hull.errors import InvalidArgument, InvalidReference
from hull.reference import Reference, is_partial_id, parse, parse_tag_arg

HEX = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest", "full", "familiar"),
    [
        ("busybox", "docker.io", "library/busybox", "latest", "",
         "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io", "library/busybox", "1.36", "",
         "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io", "library/busybox", "latest", "",
         "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", "",
         "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/busybox", "docker.io", "library/busybox", "latest", "",
         "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/team/app", "docker.io", "team/app", "latest", "",
         "docker.io/team/app:latest", "team/app:latest"),
        ("team/app:v1", "docker.io", "team/app", "v1", "",
         "docker.io/team/app:v1", "team/app:v1"),
        ("docker.io/library/a/b", "docker.io", "library/a/b", "latest", "",
         "docker.io/library/a/b:latest", "library/a/b:latest"),
        ("localhost:5000/team/app:v1", "localhost:5000", "team/app", "v1", "",
         "localhost:5000/team/app:v1", "localhost:5000/team/app:v1"),
        ("localhost/app", "localhost", "app", "latest", "",
         "localhost/app:latest", "localhost/app:latest"),
        ("[::1]:5000/app:v1", "[::1]:5000", "app", "v1", "",
         "[::1]:5000/app:v1", "[::1]:5000/app:v1"),
        ("registry.example.com/a/b/c:1.0-rc_1", "registry.example.com", "a/b/c", "1.0-rc_1", "",
         "registry.example.com/a/b/c:1.0-rc_1", "registry.example.com/a/b/c:1.0-rc_1"),
        (f"app@sha256:{HEX}", "docker.io", "library/app", "", f"sha256:{HEX}",
         f"docker.io/library/app@sha256:{HEX}", f"app@sha256:{HEX}"),
        (f"app:v1@sha256:{HEX}", "docker.io", "library/app", "v1", f"sha256:{HEX}",
         f"docker.io/library/app:v1@sha256:{HEX}", f"app:v1@sha256:{HEX}"),
        ("a__b.c--d", "docker.io", "library/a__b.c--d", "latest", "",
         "docker.io/library/a__b.c--d:latest", "a__b.c--d:latest"),
        ("busybox:Latest_1", "docker.io", "library/busybox", "Latest_1", "",
         "docker.io/library/busybox:Latest_1", "busybox:Latest_1"),
    ],
)
def test_parse_normalises_like_docker(text: str, domain: str, path: str, tag: str, digest: str,
                                      full: str, familiar: str) -> None:
    ref = parse(text)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert str(ref) == full
    assert ref.familiar() == familiar
    assert parse(str(ref)) == ref  # the normalised form reads back to the same reference


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Busybox", "invalid reference format: repository name must be lowercase"),
        ("team/App:v1", "invalid reference format: repository name must be lowercase"),
        ("localhost:5000/App", "invalid reference format: repository name must be lowercase"),
        ("app:bad tag", "invalid reference format"),
        (":tag", "invalid reference format"),
        ("app:", "invalid reference format"),
        ("-app", "invalid reference format"),
        ("app-", "invalid reference format"),
        ("a//b", "invalid reference format"),
        ("a___b", "invalid reference format"),
        ("a:b:c", "invalid reference format"),
        (" busybox", "invalid reference format"),
        ("app@sha256:short", "invalid reference format"),
        ("app:" + "t" * 129, "tag must not be more than 128 characters"),
        ("a/" * 130 + "b", "repository name must not be more than 255 characters"),
        ("", "repository name must have at least one component"),
        (HEX, f"invalid repository name ({HEX}), cannot specify 64-byte hexadecimal strings"),
        ("sha256:short", "invalid checksum digest length"),
        (f"sha256:{HEX}", "a digest cannot be used as a repository name"),
        (f"app@sha256:{HEX.upper()}", "invalid checksum digest format"),
        (f"app@md5:{HEX}", "unsupported digest algorithm"),
        (f"app@sha512:{HEX}", "invalid checksum digest length"),
    ],
)
def test_parse_rejects_with_dockers_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, InvalidArgument)


def test_tag_of_128_characters_is_fine() -> None:
    assert parse("app:" + "t" * 128).tag == "t" * 128


def test_name_of_255_characters_is_fine() -> None:
    path = "a" * (255 - len("docker.io/library/"))
    assert len(parse(path).name) == 255


def test_default_tag_can_be_left_out() -> None:
    ref = parse("team/app", default_tag=False)
    assert ref.tag == ""
    assert str(ref) == "docker.io/team/app"
    assert ref.familiar() == "team/app"
    assert parse(f"app@sha256:{HEX}").tag == ""  # a digest never gets a default tag


def test_name_and_familiar_name() -> None:
    assert parse("busybox").name == "docker.io/library/busybox"
    assert parse("busybox").familiar_name == "busybox"
    assert parse("team/app").familiar_name == "team/app"
    assert parse("localhost:5000/app").familiar_name == "localhost:5000/app"


def test_with_tag_with_digest_and_bare_name() -> None:
    ref = parse("busybox:1.36")
    assert str(ref.with_tag("edge")) == "docker.io/library/busybox:edge"
    pinned = ref.with_digest(f"sha256:{HEX}")
    assert str(pinned) == f"docker.io/library/busybox:1.36@sha256:{HEX}"
    assert pinned.with_tag("x").digest == f"sha256:{HEX}"
    assert str(pinned.without_tag_or_digest()) == "docker.io/library/busybox"
    with pytest.raises(InvalidReference, match="invalid tag format"):
        ref.with_tag("bad tag")
    with pytest.raises(InvalidReference, match="invalid checksum digest length"):
        ref.with_digest("sha256:short")


def test_reference_is_immutable_and_hashable() -> None:
    ref = parse("busybox")
    with pytest.raises(AttributeError):
        ref.tag = "x"  # type: ignore[misc]
    assert {parse("busybox"), parse("docker.io/library/busybox:latest")} == {ref}
    assert ref != parse("busybox:1")
    assert repr(ref) == "Reference('docker.io/library/busybox:latest')"
    assert Reference("docker.io", "library/busybox", "latest") == ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("team/app:v2", "docker.io/team/app:v2"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
    ],
)
def test_parse_tag_arg(text: str, expected: str) -> None:
    assert str(parse_tag_arg(text)) == expected


def test_parse_tag_arg_refuses_digests() -> None:
    with pytest.raises(InvalidReference, match="refusing to create a tag with a digest"):
        parse_tag_arg(f"app@sha256:{HEX}")
    with pytest.raises(InvalidReference, match="must be lowercase"):
        parse_tag_arg("App")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a", True), ("0123abcdef", True), (HEX, True), (HEX + "0", False), ("", False),
     ("ABC", False), ("xyz", False), ("sha256:abc", False), ("abc ", False)],
)
def test_is_partial_id(text: str, expected: bool) -> None:
    assert is_partial_id(text) is expected
