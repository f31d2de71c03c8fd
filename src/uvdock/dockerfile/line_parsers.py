"""Instruction arguments, as ``parser/line_parsers.go`` reads them.

``parseWords`` (:func:`parse_words`: split at blanks outside quotes, quotes
kept), ``parseMaybeJSON`` (:func:`json_array`: a JSON array of strings is exec
form, anything else that is not valid JSON is shell form), the ``HEALTHCHECK``
type word (:func:`split_first_word`), and ``parseNameVal`` for ``ENV``,
``LABEL`` and ``ARG`` (:func:`key_values`).
"""

from __future__ import annotations

import json
import re

from uvdock.dockerfile.gospace import GO_SPACE_SET, SPACE_CLASS, SPLIT_RE
from uvdock.dockerfile.lex import expand
from uvdock.dockerfile.syntax import Instruction

__all__ = ["first_word_upper", "json_array", "key_values", "parse_words", "split_first_word"]


def key_values(
    instruction: Instruction, *, escape: str = "\\"
) -> tuple[tuple[str, str | None], ...]:
    """The ``(key, value)`` pairs of an ``ENV``, ``LABEL`` or ``ARG`` instruction.

    Follows BuildKit: ``KEY=value`` words (quotes keep spaces together), or the
    legacy ``ENV KEY value with spaces`` form. Quotes and escapes are removed
    from keys and values, variables are left as written (``$PATH`` stays). An
    ``ARG`` without a default has the value None. Other instructions: ``()``.
    """
    keyword = instruction.keyword
    if keyword not in ("ENV", "LABEL", "ARG"):
        return ()
    words = parse_words(instruction.args, escape)
    if not words:
        return ()

    def clean(raw: str) -> str:
        return expand(raw, {}, escape=escape, keep_unset=True)

    if keyword != "ARG" and "=" not in words[0]:
        parts = SPLIT_RE.split(instruction.args, maxsplit=1)
        return ((clean(parts[0]), clean(parts[1]) if len(parts) > 1 else ""),)
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            pairs.append((clean(key), clean(value)))
        elif keyword == "ARG":
            pairs.append((clean(key), None))
    return tuple(pairs)


def split_first_word(text: str) -> tuple[str, str] | None:
    """``("CMD", "rest")`` for HEALTHCHECK: the type word, then the rest."""
    if not text:
        return None
    end = 0
    while end < len(text) and text[end] not in GO_SPACE_SET:
        end += 1
    rest = end
    while rest < len(text) and text[rest] in GO_SPACE_SET:
        rest += 1
    return text[:end], text[rest:]


def first_word_upper(text: str) -> str:
    parts = split_first_word(text)
    return parts[0].upper() if parts else ""


def _reject_constant(name: str) -> object:
    raise ValueError(name)  # NaN/Infinity are not JSON for Go's decoder


def json_array(args: str) -> tuple[tuple[str, ...] | None, bool]:
    """``(array, False)`` for a JSON array of strings; ``(None, True)`` for other arrays."""
    if not args.startswith("["):
        return None, False
    try:
        value = json.loads(args, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None, False
    if not isinstance(value, list):
        return None, False
    if not all(isinstance(item, str) for item in value):
        return None, True
    return tuple(value), False


_WORD_PLAIN_RE = {
    escape: re.compile(f"[^{SPACE_CLASS}'\"{re.escape(escape)}]+") for escape in ("\\", "`")
}


def parse_words(rest: str, escape: str) -> list[str]:
    """BuildKit's parseWords: split at blanks outside quotes; quotes and escapes are kept."""
    words: list[str] = []
    parts: list[str] = []
    blank_ok = False
    in_word = False
    pos = 0
    size = len(rest)
    plain = _WORD_PLAIN_RE.get(escape, _WORD_PLAIN_RE["\\"])
    while pos < size:
        char = rest[pos]
        if char in GO_SPACE_SET:
            if in_word and (blank_ok or parts):
                words.append("".join(parts))
            parts = []
            in_word = blank_ok = False
            pos += 1
            continue
        in_word = True
        match = plain.match(rest, pos)
        if match:
            parts.append(match.group())
            pos = match.end()
        elif char in "'\"":
            blank_ok = True
            quoted, pos = _quoted_word_part(rest, pos, escape)
            parts.append(quoted)
        elif pos + 1 == size:  # the escape character, last: dropped
            pos += 1
        else:
            parts.append(rest[pos : pos + 2])
            pos += 2
    if in_word and (blank_ok or parts):
        words.append("".join(parts))
    return words


def _quoted_word_part(rest: str, pos: int, escape: str) -> tuple[str, int]:
    """A quoted part for :func:`parse_words`, quotes and escapes kept; returns the end."""
    quote = rest[pos]
    parts = [quote]
    pos += 1
    size = len(rest)
    while pos < size:
        char = rest[pos]
        if char == quote:
            parts.append(char)
            return "".join(parts), pos + 1
        if char == escape and quote != "'":
            if pos + 1 == size:
                return "".join(parts), size
            parts.append(rest[pos : pos + 2])
            pos += 2
            continue
        close = rest.find(quote, pos)
        stop = size if close < 0 else close
        if quote != "'":
            found = rest.find(escape, pos, stop)
            stop = stop if found < 0 else found
        parts.append(rest[pos:stop])
        pos = stop
    return "".join(parts), size
