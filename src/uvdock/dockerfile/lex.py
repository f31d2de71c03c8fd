"""Variable substitution as BuildKit's shell lexer does it (``shell/lex.go``).

:func:`expand` is the public entry; the parser also runs :class:`Lexer` in
raw mode to find heredoc markers exactly as BuildKit does. Per-character
loops skip runs of ordinary characters with simple regular expressions, so
the work stays linear in the input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from uvdock.dockerfile.gospace import GO_SPACE_SET, SPACE_CLASS

__all__ = ["LexError", "Lexer", "expand", "expand_checked"]


def expand(
    text: str,
    variables: Mapping[str, str],
    *,
    escape: str = "\\",
    keep_unset: bool = False,
) -> str:
    """Substitute variables in ``text`` as BuildKit's shell lexer does (``shell/lex.go``).

    Handles ``$VAR``, ``${VAR}``, ``${VAR:-word}``, ``${VAR-word}``,
    ``${VAR:+word}``, ``${VAR+word}``, ``${VAR?msg}``, ``${VAR#pat}``,
    ``${VAR%pat}`` (and ``##``/``%%``), ``${VAR/pat/repl}``; like BuildKit it
    also removes quotes (``'...'`` literal, ``"..."`` with ``$`` expanded) and
    escapes (``\\$`` is a literal ``$``; ``escape`` is the Dockerfile's escape
    character). Unknown variables expand to the empty string, or stay as
    written with ``keep_unset=True``. On a syntax error BuildKit would reject
    (``${VAR``, an unterminated quote, ``${VAR?}`` of an unset variable) the
    text is returned unchanged. Never raises.
    """
    result, error = expand_checked(text, variables, escape=escape, keep_unset=keep_unset)
    return text if error else result


class LexError(Exception):
    """A substitution BuildKit rejects (internal: the public functions never raise)."""


def expand_checked(
    text: str, variables: Mapping[str, str], *, escape: str, keep_unset: bool = False
) -> tuple[str, str | None]:
    """Like :func:`expand`, but ``(result, None)``, or ``(text, error)`` where BuildKit errs."""
    try:
        result, _ = Lexer(text, escape=escape, env=variables, skip_unset=keep_unset).process()
    except LexError as error:
        return text, str(error)
    except RecursionError:
        return text, "substitutions nested too deeply"
    return result, None


class _Words:
    """BuildKit's wordsStruct: words as the shell would split the processed text."""

    __slots__ = ("in_word", "parts", "words")

    def __init__(self) -> None:
        self.words: list[str] = []
        self.parts: list[str] = []  # the word being built (joined once: linear time)
        self.in_word = False

    def add_char(self, char: str) -> None:
        if char in GO_SPACE_SET:
            word = "".join(self.parts)
            if self.in_word and word:
                self.words.append(word)
                self.parts = []
                self.in_word = False
        else:
            self.add_raw(char)

    def add_string(self, text: str) -> None:
        for char in text:
            self.add_char(char)

    def add_raw(self, text: str) -> None:
        if text:
            self.parts.append(text)
        self.in_word = True

    def finish(self) -> list[str]:
        word = "".join(self.parts)
        if word:
            self.words.append(word)
            self.parts = []
            self.in_word = False
        return self.words


_SPECIAL_PARAMS = frozenset("@*#?-$!0")
_NAME_RE = re.compile(r"\w+")  # letters, digits, underscore
_DOUBLE_PLAIN_RE = {escape: re.compile(f'[^"$\\{escape}]+') for escape in ("\\", "`")}
_DIGITS_RE = re.compile(r"[0-9]+")
_PLAIN_CACHE: dict[tuple[str, str], re.Pattern[str]] = {}


def _plain(escape: str, stop: str) -> re.Pattern[str]:
    key = (escape, stop)
    pattern = _PLAIN_CACHE.get(key)
    if pattern is None:
        special = re.escape("$'\"" + escape + stop)
        pattern = re.compile(f"[^{SPACE_CLASS}{special}]+")
        _PLAIN_CACHE[key] = pattern
    return pattern


class Lexer:
    """BuildKit's shell lexer (``shell/lex.go``) over one string.

    ``raw_quotes`` keeps quote characters, ``raw_escapes`` keeps escape
    characters, ``skip_unset`` leaves unknown variables as written: the modes
    BuildKit uses to find heredoc markers. Raises :class:`LexError`.
    """

    def __init__(
        self,
        text: str,
        *,
        escape: str,
        env: Mapping[str, str] | None = None,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_unset: bool = True,
    ) -> None:
        self.text = text
        self.pos = 0
        self.escape = escape
        self.env: Mapping[str, str] = env if env is not None else {}
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_unset = skip_unset

    def process(self) -> tuple[str, list[str]]:
        return self.stop_on("", raw_escapes=self.raw_escapes)

    def stop_on(self, stop: str, *, raw_escapes: bool) -> tuple[str, list[str]]:
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        try:
            return self._stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _stop_on(self, stop: str) -> tuple[str, list[str]]:
        text = self.text
        size = len(text)
        result: list[str] = []
        words = _Words()
        plain = _plain(self.escape, stop)
        while self.pos < size:
            char = text[self.pos]
            if stop and char == stop:
                self.pos += 1
                return "".join(result), words.finish()
            if char == "$":
                value = self._dollar()
                result.append(value)
                words.add_string(value)
                continue
            if char in "'\"":
                value = self._single() if char == "'" else self._double()
                result.append(value)
                words.add_raw(value)
                continue
            match = plain.match(text, self.pos)
            if match:
                result.append(match.group())
                words.add_raw(match.group())
                self.pos = match.end()
                continue
            self.pos += 1
            if char == self.escape:
                if self.raw_escapes:
                    words.add_raw(char)
                    result.append(char)
                if self.pos >= size:
                    break
                char = text[self.pos]
                self.pos += 1
                words.add_raw(char)
            else:
                words.add_char(char)
            result.append(char)
        if stop:
            raise LexError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.finish()

    def _single(self) -> str:
        start = self.pos + 1
        close = self.text.find("'", start)
        if close < 0:
            raise LexError("unexpected end of statement while looking for matching single-quote")
        self.pos = close + 1
        body = self.text[start:close]
        return f"'{body}'" if self.raw_quotes else body

    def _double(self) -> str:
        text = self.text
        size = len(text)
        self.pos += 1
        out = ['"'] if self.raw_quotes else []
        plain = _DOUBLE_PLAIN_RE[self.escape]
        while True:
            if self.pos >= size:
                raise LexError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                if self.raw_quotes:
                    out.append(char)
                return "".join(out)
            if char == "$":
                out.append(self._dollar())
                continue
            if char != self.escape:
                match = plain.match(text, self.pos)
                assert match is not None  # noqa: S101 - char is not special here
                out.append(match.group())
                self.pos = match.end()
                continue
            # Only " $ and the escape itself can be escaped; otherwise the escape
            # stays (BuildKit writes it twice in raw mode, and so do we).
            self.pos += 1
            if self.raw_escapes:
                out.append(char)
            if self.pos >= size:
                continue
            if text[self.pos] in ('"', "$", self.escape):
                char = text[self.pos]
                self.pos += 1
            out.append(char)

    def _dollar(self) -> str:
        text = self.text
        self.pos += 1
        if self.pos >= len(text) or text[self.pos] != "{":
            name = self._name()
            if not name:
                return "$"
            if name in self.env:
                return self.env[name]
            return "$" + name if self.skip_unset else ""
        self.pos += 1
        if self.pos >= len(text):
            raise LexError("syntax error: missing '}'")
        if text[self.pos] in "{}:":
            raise LexError("syntax error: bad substitution")
        name = self._name()
        if self.pos >= len(text):
            raise LexError("syntax error: missing '}'")
        char = text[self.pos]
        self.pos += 1
        if char == "}":
            if name in self.env:
                return self.env[name]
            return "${" + name + "}" if self.skip_unset else ""
        if char == "/":
            return self._replace(name)
        modifier = char
        null_is_unset = False
        if char == ":":
            if self.pos >= len(text):
                raise LexError("syntax error: missing '}'")
            null_is_unset = True
            char = text[self.pos]
            self.pos += 1
            modifier += char
        elif char not in "+-?#%":
            raise LexError(f"unsupported modifier ({char}) in substitution")
        return self._modifier(name, char, modifier, null_is_unset=null_is_unset)

    def _modifier(self, name: str, char: str, modifier: str, *, null_is_unset: bool) -> str:
        try:
            word, _ = self.stop_on("}", raw_escapes=char in "#%")
        except LexError:
            if self.pos >= len(self.text):
                raise LexError("syntax error: missing '}'") from None
            raise
        is_set = name in self.env
        value = self.env.get(name, "")
        if self.skip_unset and not is_set:
            return "${" + name + modifier + word + "}"
        empty = not is_set or (null_is_unset and not value)
        if char == "-":
            return word if empty else value
        if char == "+":
            return "" if empty else word
        if char == "?":
            if empty:
                raise LexError(f"{name}: {word or 'is not allowed to be unset or empty'}")
            return value
        if char in "#%":
            greedy = word.startswith(char)
            pattern = word[1:] if greedy else word
            if char == "#":
                return _trim_prefix(pattern, value, greedy=greedy)
            return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy=greedy)[::-1]
        raise LexError(f"unsupported modifier ({modifier}) in substitution")

    def _replace(self, name: str) -> str:
        replace_all = self.text.startswith("/", self.pos)
        if replace_all:
            self.pos += 1
        pattern, _ = self.stop_on("/", raw_escapes=True)
        replacement, _ = self.stop_on("}", raw_escapes=True)
        if name not in self.env:
            if self.skip_unset:
                return "${" + name + "/" + pattern + "/" + replacement + "}"
            return ""
        value = self.env[name]
        regex = re.compile(_pattern_regex(pattern, greedy=True), re.DOTALL)
        if replace_all:
            return regex.sub(lambda _: replacement, value)
        return regex.sub(lambda _: replacement, value, count=1)

    def _name(self) -> str:
        text = self.text
        if self.pos >= len(text):
            return ""
        char = text[self.pos]
        if char.isdecimal():
            match = _DIGITS_RE.match(text, self.pos)
            end = match.end() if match else self.pos + 1
            name = text[self.pos : end]
            self.pos = end
            return name
        if char in _SPECIAL_PARAMS:
            self.pos += 1
            return char
        match = _NAME_RE.match(text, self.pos)
        if match is None:
            return ""
        self.pos = match.end()
        return match.group()


def _pattern_regex(pattern: str, *, greedy: bool) -> str:
    """A shell pattern (``*``, ``?``, ``\\`` escapes) as a regular expression."""
    out: list[str] = []
    star = ".*" if greedy else ".*?"
    pos = 0
    while pos < len(pattern):
        char = pattern[pos]
        pos += 1
        if char == "*":
            out.append(star)
        elif char == "?":
            out.append(".")
        elif char == "\\":
            if pos < len(pattern) and pattern[pos] in "}/":
                continue
            if pos >= len(pattern) or pattern[pos] not in "*?\\":
                raise LexError(f"invalid pattern ({pattern}) in substitution")
            out.append(re.escape(pattern[pos]))
            pos += 1
        else:
            out.append(re.escape(char))
    return "".join(out)


def _trim_prefix(pattern: str, value: str, *, greedy: bool) -> str:
    match = re.compile(_pattern_regex(pattern, greedy=greedy), re.DOTALL).match(value)
    return value[match.end() :] if match else value


def _reverse_pattern(pattern: str) -> str:
    """Reverse a pattern keeping each ``\\x`` escape in front of its character."""
    tokens: list[str] = []
    pos = 0
    while pos < len(pattern):
        if pattern[pos] == "\\" and pos + 1 < len(pattern):
            tokens.append(pattern[pos : pos + 2])
            pos += 2
        else:
            tokens.append(pattern[pos])
            pos += 1
    return "".join(reversed(tokens))
