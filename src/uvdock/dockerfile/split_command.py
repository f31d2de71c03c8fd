"""``--flag`` words at the start of an instruction, as ``parser/split_command.go`` takes them.

BuildKit's ``extractBuilderFlags``: flags are words starting with ``--``
(quotes and backslashes processed), taken from the start of every
instruction's arguments; a bare ``--`` ends them.
"""

from __future__ import annotations

import re

from uvdock.dockerfile.gospace import GO_SPACE_SET, SPACE_CLASS
from uvdock.dockerfile.syntax import Flag, Span

__all__ = ["extract_flags", "make_flag"]

_FLAG_PLAIN_RE = re.compile(f"[^{SPACE_CLASS}'\"\\\\]+")
_FLAG_QUOTED_RE = {"'": re.compile("[^'\\\\]+"), '"': re.compile('[^"\\\\]+')}


def make_flag(word: str, span: Span) -> Flag:
    """The :class:`~uvdock.dockerfile.syntax.Flag` of a ``--name[=value]`` word."""
    name, sep, value = word[2:].partition("=")
    return Flag(name=name, value=value if sep else None, span=span)


def extract_flags(text: str, start: int, end: int) -> tuple[list[tuple[str, int, int]], int]:
    """BuildKit's extractBuilderFlags on ``text[start:end]``.

    Returns the flag words (quotes and backslashes processed) with their
    offsets, and where the remaining arguments start. Flags are words starting
    with ``--``; a bare ``--`` ends them and is dropped.
    """
    words: list[tuple[str, int, int]] = []
    pos = start
    while True:
        while pos < end and text[pos] in GO_SPACE_SET:
            pos += 1
        if pos >= end or not text.startswith("--", pos, end):
            return words, pos
        word_start = pos
        word, pos, blank_ok = _flag_word(text, pos, end)
        if pos >= end:
            if word != "--" and (blank_ok or word):
                words.append((word, word_start, end))
            return words, end
        if word == "--":
            return words, pos
        if blank_ok or word:
            words.append((word, word_start, pos))


def _flag_word(text: str, pos: int, end: int) -> tuple[str, int, bool]:
    parts: list[str] = []
    quote = ""
    blank_ok = False
    while pos < end:
        char = text[pos]
        if quote:
            if char == quote:
                quote = ""
                pos += 1
            elif char == "\\":
                if pos + 1 >= end:
                    quote = ""
                    pos += 1
                else:
                    parts.append(text[pos + 1])
                    pos += 2
            else:
                match = _FLAG_QUOTED_RE[quote].match(text, pos, end)
                assert match is not None  # noqa: S101 - char is neither quote nor backslash
                parts.append(match.group())
                pos = match.end()
        elif char in GO_SPACE_SET:
            break
        elif char in "'\"":
            quote = char
            blank_ok = True
            pos += 1
        elif char == "\\":
            if pos + 1 < end:
                parts.append(text[pos + 1])
            pos += 2
        else:
            match = _FLAG_PLAIN_RE.match(text, pos, end)
            assert match is not None  # noqa: S101 - char is plain
            parts.append(match.group())
            pos = match.end()
    return "".join(parts), min(pos, end), blank_ok
