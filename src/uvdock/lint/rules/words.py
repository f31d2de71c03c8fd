"""What the rules read in words, with no Analysis: a command line (its program, uv's
subcommand, a flag, a true environment value), the sources of a COPY, an image the
rules know. ``base`` and every rule module use them."""

from __future__ import annotations

import re

from uvdock.dockerfile.syntax import Instruction

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


def env_true(env: dict[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in TRUE_VALUES


def program(argv: tuple[str, ...]) -> str:
    """The program's base name (``/usr/local/bin/uv`` -> ``uv``)."""
    return argv[0].rsplit("/", 1)[-1] if argv else ""


def as_pip(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """A pip command line as ``("pip", ...)``: ``pip``, ``pip3`` or ``python -m pip``; else None."""
    name = program(words)
    if name in ("pip", "pip3"):
        return ("pip", *words[1:])
    if re.fullmatch(r"python(?:3(?:\.\d+)?)?", name) and words[1:3] == ("-m", "pip"):
        return ("pip", *words[3:])
    return None


def uv_subcommand(argv: tuple[str, ...]) -> tuple[str, ...] | None:
    """``("sync",)``, ``("pip", "install")``, ... for a uv command line, else None.

    Also recognises ``python -m uv ...``; global options before the subcommand
    (``uv --no-cache sync``) are skipped.
    """
    words = list(argv)
    if program(argv) in ("python", "python3") and words[1:3] == ["-m", "uv"]:
        words = words[2:]
    elif program(argv) != "uv":
        return None
    rest = [w for w in words[1:] if not w.startswith("-")]
    if not rest:
        return None
    if rest[0] in ("pip", "tool", "python", "cache", "self") and len(rest) > 1:
        return (rest[0], rest[1])
    return (rest[0],)


def has_flag(argv: tuple[str, ...], *names: str) -> bool:
    """Whether any of ``--name`` or ``--name=value`` is among ``argv``."""
    return any(word == name or word.startswith(name + "=") for word in argv for name in names)


# Images whose environment the linter knows: the official ones, uv's, distroless, and a
# few widely used bases. Another image (a team's own base) may set VIRTUAL_ENV,
# PYTHONUNBUFFERED, UV_LINK_MODE or preinstall the dependencies, so rules that
# depend on what the base provides stay quiet on it.
KNOWN_IMAGES = re.compile(
    r"^(?:(?:docker\.io/|public\.ecr\.aws/docker/|mirror\.gcr\.io/)?(?:library/)?"
    r"(?:python|debian|ubuntu|alpine|buildpack-deps|fedora)"
    r"|ghcr\.io/astral-sh/uv|(?:docker\.io/)?astral/uv|(?:gcr\.io/)?distroless/[\w.-]+|cgr\.dev/chainguard/[\w.-]+"
    r"|(?:docker\.io/)?nvidia/cuda|(?:nvcr\.io/)?nvidia/cuda)(?:[:@]|$)"
)


def known_image(ref: str) -> bool:
    """Whether ``ref`` is an image whose environment the rules know (see KNOWN_IMAGES)."""
    return bool(KNOWN_IMAGES.match(ref.strip()))


def whole_context(source: str) -> bool:
    """Whether a COPY source is the whole build context: ``.``, ``./``, ``*``, and what
    BuildKit cleans to the root (``../..``, ``/``)."""
    import posixpath  # noqa: PLC0415

    cleaned = source.strip("\"'")
    return cleaned == "*" or posixpath.normpath("/" + cleaned) == "/"


def copy_sources(item: Instruction) -> list[str]:
    """The sources of a COPY or ADD (every word but the destination)."""
    words = list(item.exec_form) if item.exec_form is not None else item.args.split()
    return words[:-1]
