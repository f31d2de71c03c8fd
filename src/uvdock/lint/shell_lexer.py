"""Cut a shell script into tokens for :mod:`uvdock.lint.shell`: words (quotes and escapes
removed, ``$(...)``, backticks, ``${...}`` and ``$((...))`` kept whole), operators and
redirections; comments, line continuations and heredoc bodies skipped. Never raises:
malformed input gives what can be read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

__all__ = ["Token", "tokens"]

_OPERATOR_STARTS = frozenset("0123456789<>&;|()")
_WORD_ENDS = frozenset(" \t\r\f\v\n|&;()<>")
_BLANKS_RE = re.compile(r"[ \t\r\f\v]+")
_OPERATOR_RE = re.compile(r";;&|;;|;&|;|&&|\|\||\|&|\||&|\(|\)")
_REDIRECT_RE = re.compile(r"&>>|&>|[0-9]*(?:<<<|<<-|<<|<>|<&|<|>>|>&|>\||>)")
_PLAIN_RE = re.compile(r"[^ \t\r\f\v\n|&;()<>\\'\"$`]+")
_GROUP_SPECIAL_RE = re.compile(r"[\\'\"`$(){}]")
_DOUBLE_SPECIAL_RE = re.compile(r'[\\"$`]')
_ANSI_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
}


class Token(NamedTuple):
    kind: str  # "word", "op" (separator or parenthesis), "redirect"
    text: str  # the cooked word (quotes removed), or the operator
    start: int
    end: int
    quoted: bool = False  # a word with quotes or escapes (so never a keyword)


def tokens(script: str) -> Iterator[Token]:
    size = len(script)
    pos = 0
    heredocs: list[tuple[str, bool]] = []  # (delimiter, strip tabs) waiting for a newline
    while pos < size:
        char = script[pos]
        if char in " \t\r\f\v":
            blanks = _BLANKS_RE.match(script, pos)
            pos = blanks.end() if blanks else pos + 1
        elif script.startswith("\\\n", pos):
            pos += 2
        elif char == "\n":
            yield Token("op", "\n", pos, pos + 1)
            pos = _skip_heredocs(script, pos + 1, heredocs)
            heredocs = []
        elif char == "#":
            newline = script.find("\n", pos)
            pos = size if newline < 0 else newline
        elif script.startswith(("<(", ">(", "(("), pos):
            # Process substitution, or arithmetic ((...)) (from its second parenthesis).
            end = _scan_group(script, pos + (1 if char == "(" else 2), ")")
            yield Token("word", script[pos:end], pos, end)
            pos = end
        else:
            token = _operator(script, pos) if char in _OPERATOR_STARTS else None
            if token is None:
                token = _word(script, pos)
            yield token
            pos = token.end
            if token.kind == "redirect" and token.text.lstrip("0123456789") in ("<<", "<<-"):
                target = _heredoc_target(script, pos)
                if target is not None:
                    yield target
                    pos = target.end
                    heredocs.append((target.text, token.text.endswith("-")))


def _word(script: str, pos: int) -> Token:
    plain = _PLAIN_RE.match(script, pos)
    if plain is not None:  # the common case: no quotes, escapes or $ in the word
        end = plain.end()
        if end == len(script) or script[end] in _WORD_ENDS:
            return Token("word", plain.group(), pos, end)
    end, text, quoted = _read_word(script, pos)
    return Token("word", text, pos, end, quoted)


def _operator(script: str, pos: int) -> Token | None:
    redirect = _REDIRECT_RE.match(script, pos)
    if redirect:
        return Token("redirect", redirect.group(), pos, redirect.end())
    operator = _OPERATOR_RE.match(script, pos)
    if operator:
        return Token("op", operator.group(), pos, operator.end())
    return None


def _heredoc_target(script: str, pos: int) -> Token | None:
    blanks = _BLANKS_RE.match(script, pos)
    if blanks:
        pos = blanks.end()
    if pos >= len(script) or script[pos] in "\n|&;()<>":
        return None
    end, text, quoted = _read_word(script, pos)
    return Token("word", text, pos, end, quoted)


def _skip_heredocs(script: str, pos: int, heredocs: list[tuple[str, bool]]) -> int:
    """Skip the bodies of the heredocs started on the line that just ended."""
    size = len(script)
    for delimiter, strip_tabs in heredocs:
        while pos < size:
            newline = script.find("\n", pos)
            end = size if newline < 0 else newline
            line = script[pos:end].rstrip("\r")
            pos = end + 1
            if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                break
    return min(pos, size)


def _read_word(script: str, pos: int) -> tuple[int, str, bool]:
    """Read one word from ``pos``: ``(end, text with quotes removed, quoted)``."""
    size = len(script)
    parts: list[str] = []
    quoted = False
    while pos < size:
        char = script[pos]
        plain = _PLAIN_RE.match(script, pos)
        if plain:
            parts.append(plain.group())
            pos = plain.end()
        elif char == "\\":
            quoted = True
            if script.startswith("\\\n", pos):
                pos += 2
            else:
                parts.append(script[pos + 1 : pos + 2] or "\\")
                pos += 2
        elif char == "'":
            quoted = True
            close = script.find("'", pos + 1)
            end = size if close < 0 else close
            parts.append(script[pos + 1 : end])
            pos = end + 1
        elif char == '"':
            quoted = True
            pos, text = _read_double(script, pos + 1)
            parts.append(text)
        elif char in "$`":
            pos, text, was_quoted = _read_dollar(script, pos)
            quoted = quoted or was_quoted
            parts.append(text)
        else:  # a metacharacter: the word ends
            break
    return min(pos, size), "".join(parts), quoted


def _read_dollar(script: str, pos: int) -> tuple[int, str, bool]:
    """``$(...)``, ``${...}``, backticks (kept as written), ``$'...'``, ``$"..."``, ``$``."""
    if script.startswith("`", pos):
        end = _scan_group(script, pos + 1, "`")
        return end, script[pos:end], False
    if script.startswith("$(", pos):
        end = _scan_group(script, pos + 2, ")")
        return end, script[pos:end], False
    if script.startswith("${", pos):
        end = _scan_group(script, pos + 2, "}")
        return end, script[pos:end], False
    if script.startswith("$'", pos):
        end, text = _read_ansi(script, pos + 2)
        return end, text, True
    if script.startswith('$"', pos):
        end, text = _read_double(script, pos + 2)
        return end, text, True
    return pos + 1, "$", False


def _read_double(script: str, pos: int) -> tuple[int, str]:
    """The inside of ``"..."`` from ``pos`` (after the quote): backslash escapes processed."""
    size = len(script)
    parts: list[str] = []
    while pos < size:
        special = _DOUBLE_SPECIAL_RE.search(script, pos)
        if special is None:
            parts.append(script[pos:])
            return size, "".join(parts)
        parts.append(script[pos : special.start()])
        pos = special.start()
        char = script[pos]
        if char == '"':
            return pos + 1, "".join(parts)
        if char == "\\":
            following = script[pos + 1 : pos + 2]
            if following == "\n":
                pass
            elif following in ("$", "`", '"', "\\"):
                parts.append(following)
            else:
                parts.append("\\" + following)
            pos += 2
        else:
            pos, text, _ = _read_dollar(script, pos)
            parts.append(text)
    return size, "".join(parts)


def _read_ansi(script: str, pos: int) -> tuple[int, str]:
    """The inside of ``$'...'`` from ``pos``, C escapes decoded (the common ones)."""
    size = len(script)
    parts: list[str] = []
    while pos < size:
        char = script[pos]
        if char == "'":
            return pos + 1, "".join(parts)
        if char == "\\" and pos + 1 < size:
            following = script[pos + 1]
            parts.append(_ANSI_ESCAPES.get(following, "\\" + following))
            pos += 2
            continue
        parts.append(char)
        pos += 1
    return size, "".join(parts)


def _scan_group(script: str, pos: int, closer: str) -> int:
    """The end of ``$(...)``, ``${...}``, a backtick string, ``<(...)`` or ``((...))``.

    ``pos`` is just after the opening; nested groups and quotes are followed
    with an explicit stack (no recursion). Unterminated: the end of the script.
    """
    size = len(script)
    stack = [closer]
    while stack and pos < size:
        special = _GROUP_SPECIAL_RE.search(script, pos)
        if special is None:
            return size
        pos = special.start()
        char = script[pos]
        top = stack[-1]
        if char == "\\":
            pos += 2
        elif top == "`":
            pos += 1
            if char == "`":
                stack.pop()
        elif top == '"':
            pos = _in_double(script, pos, stack)
        else:
            pos = _in_parens(script, pos, stack)
    return min(pos, size)


def _in_double(script: str, pos: int, stack: list[str]) -> int:
    char = script[pos]
    if char == '"':
        stack.pop()
    elif char == "`":
        stack.append("`")
    elif script.startswith(("$(", "${"), pos):
        stack.append(")" if script[pos + 1] == "(" else "}")
        return pos + 2
    return pos + 1


def _in_parens(script: str, pos: int, stack: list[str]) -> int:
    char = script[pos]
    top = stack[-1]
    if char == "'":
        close = script.find("'", pos + 1)
        return len(script) if close < 0 else close + 1
    if char == '"':
        stack.append('"')
    elif char == "`":
        stack.append("`")
    elif script.startswith(("$(", "${"), pos):
        stack.append(")" if script[pos + 1] == "(" else "}")
        return pos + 2
    elif char == "(" and top == ")":
        stack.append(")")
    elif char == top:
        stack.pop()
    return pos + 1
