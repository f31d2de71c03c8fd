"""The one parser of image references (``uvdock.imageref``), strict and lenient, by table.

The strict parse's own table (normalisation, refusals) is in
``tests/unit/oci/test_registry_unit.py``, through ``uvdock.oci.registry``'s re-export.
"""

from __future__ import annotations

import pytest

from uvdock import grammar, imageref
from uvdock.errors import UvdockError
from uvdock.imageref import ImageName, ImageReference, parse_reference, split_reference
from uvdock.oci import registry

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost:5000/a/b:1", ("localhost:5000", "a/b", "1")),
        ("[::1]:5000/x", ("[::1]:5000", "x", "latest")),
        ("docker.io/python", ("docker.io", "library/python", "latest")),
        ("Docker.IO/team/app", ("docker.io", "team/app", "latest")),
        (f"python@{DIGEST}", ("docker.io", "library/python", DIGEST)),
        (f"a/b:tag@{DIGEST}", ("docker.io", "a/b", DIGEST)),
        ("registry:5000/x", ("registry:5000", "x", "latest")),  # a port, not a tag
        ("team/app:5000", ("docker.io", "team/app", "5000")),  # a tag, not a port
        ("localhost/x", ("localhost", "x", "latest")),
        ("Registry/x", ("Registry", "x", "latest")),  # capitals: a host (distribution)
        (" python:3 ", ("docker.io", "library/python", "3")),
    ],
)  # fmt: skip
def test_strict_parse(text: str, expected: tuple[str, str, str]) -> None:
    assert parse_reference(text) == ImageReference(*expected)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("${REG}/python:${TAG}", "not a valid tag"),
        ("python:${TAG}", "not a valid tag"),
        ("${BASE}", "not a valid repository name component"),
        ("[::ffff:1.2.3.4]:5000/x", "not a valid registry host"),  # distribution's IPv6 form
        ("localhost:5000/", "not a valid repository name component"),
        ("python:", "not a valid tag"),
        (f"python@{DIGEST}0", "not a supported digest"),
        ("python@sha256:" + "A" * 64, "not a supported digest"),
    ],
)
def test_strict_parse_refuses(text: str, why: str) -> None:
    with pytest.raises(UvdockError, match=why) as caught:
        parse_reference(text)
    assert text.strip() in caught.value.one_line()


@pytest.mark.parametrize(
    ("text", "registry", "path", "tag", "digest"),
    [
        ("python", None, "python", None, None),
        ("python:3.13-slim", None, "python", "3.13-slim", None),
        ("localhost:5000/a/b:1", "localhost:5000", "a/b", "1", None),
        ("[::1]:5000/x", "[::1]:5000", "x", None, None),
        ("docker.io/python", "docker.io", "python", None, None),  # not normalised
        ("index.docker.io/library/python:3", "index.docker.io", "library/python", "3", None),
        (f"python@{DIGEST}", None, "python", None, DIGEST),
        (f"a/b:tag@{DIGEST}", None, "a/b", "tag", DIGEST),
        ("registry:5000/x", "registry:5000", "x", None, None),  # a port, not a tag
        ("registry:5000", None, "registry", "5000", None),  # no "/": a tag
        ("localhost/x", "localhost", "x", None, None),
        ("Registry/x", None, "Registry/x", None, None),  # capitals: not a host here
        # Dockerfile values: ARGs left unresolved, scratch, a stage's name.
        ("${REG}/python:${TAG}", None, "${REG}/python:${TAG}", None, None),
        ("${BASE}", None, "${BASE}", None, None),
        ("python:${PY}-slim", None, "python:${PY}-slim", None, None),
        ("${REG:-ghcr.io}/astral-sh/uv:0.13.9", "${REG:-ghcr.io}", "astral-sh/uv", "0.13.9", None),
        ("ghcr.io/astral-sh/uv:${UV}", "ghcr.io", "astral-sh/uv:${UV}", None, None),
        ("scratch", None, "scratch", None, None),
        ("builder", None, "builder", None, None),
        ("python@${DIGEST}", None, "python", None, "${DIGEST}"),  # the digest is not checked
        ("  python:3  ", None, "python", "3", None),
        ("", None, "", None, None),
    ],
)  # fmt: skip
def test_lenient_split(
    text: str, registry: str | None, path: str, tag: str | None, digest: str | None
) -> None:
    parts = split_reference(text)
    assert parts == ImageName(registry=registry, path=path, tag=tag, digest=digest)
    assert str(parts) == text.strip()  # nothing lost, nothing added


@pytest.mark.parametrize(
    ("text", "registry", "path", "tag"),
    [
        ("${REG}/python:${TAG}", None, "${REG}/python", "${TAG}"),
        ("oci:./layout:v1+build", "oci:.", "layout", "v1+build"),
        ("docker-daemon:python:3.13", None, "docker-daemon:python", "3.13"),
        ("registry:5000/x", "registry:5000", "x", None),  # still a port
        ("python:", None, "python", ""),
    ],
)
def test_lenient_split_of_any_tag(text: str, registry: str | None, path: str, tag: str) -> None:
    parts = split_reference(text, any_tag=True)
    assert (parts.registry, parts.path, parts.tag) == (registry, path, tag)
    assert str(parts) == text


@pytest.mark.parametrize(
    ("text", "name", "suffix", "registry_or_hub", "on_docker_hub"),
    [
        ("python:3", "python", ":3", "docker.io", True),
        (f"a/b:tag@{DIGEST}", "a/b", f":tag@{DIGEST}", "docker.io", True),
        ("index.docker.io/python", "index.docker.io/python", "", "index.docker.io", True),
        ("registry-1.docker.io/a/b", "registry-1.docker.io/a/b", "", "registry-1.docker.io", True),
        ("ghcr.io/a/b@" + DIGEST, "ghcr.io/a/b", "@" + DIGEST, "ghcr.io", False),
        ("localhost:5000/a/b:1", "localhost:5000/a/b", ":1", "localhost:5000", False),
    ],
)  # fmt: skip
def test_image_name_views(
    text: str, name: str, suffix: str, registry_or_hub: str, on_docker_hub: bool
) -> None:
    parts = split_reference(text)
    assert (parts.name, parts.suffix) == (name, suffix)
    assert parts.registry_or_hub == registry_or_hub
    assert parts.on_docker_hub is on_docker_hub


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("python:3.13", True),
        ("localhost:5000/a/b:1", True),
        ("[::1]:5000/x", True),
        (f"a/b:tag@{DIGEST}", True),
        ("${REG}/python:${TAG}", False),
        ("Python", False),
        ("python:", False),
    ],
)
def test_the_settings_grammar_is_this_modules(text: str, valid: bool) -> None:
    assert grammar.IMAGE_REFERENCE is imageref.IMAGE_REFERENCE
    assert (imageref.IMAGE_REFERENCE.fullmatch(text) is not None) is valid


def test_the_registry_client_re_exports_the_parser() -> None:
    assert registry.parse_reference is parse_reference
    assert registry.ImageReference is ImageReference
