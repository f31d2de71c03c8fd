"""Split a shell script (a shell-form ``RUN`` or a heredoc body) into simple commands.

Rules such as "``uv sync`` without ``--locked``" need the words of each
command, not the raw text: ``A=1 uv sync && rm -rf x`` holds two commands,
``uv sync`` with ``A=1`` in its environment and ``rm -rf x``.

This is a small POSIX-shell lexer, not a full parser (that would be bashlex or
ShellCheck, both heavy dependencies). It splits on ``&&``, ``||``, ``;``,
``|``, ``&``, newlines, ``( ... )`` subshells and ``{ ...; }`` groups; skips the
keywords of ``if``/``while``/``until``/``for``/``case`` and function
definitions, so the commands inside them come out; honours quotes, backslash
escapes and line continuations; keeps ``$(...)``, backticks, ``${...}`` and
``$((...))`` inside their word; drops redirections (``> f``, ``2>&1``,
``<<EOF`` with its body) and comments; and reads the script of ``sh -c '...'``
(``bash``, ``dash``, ``ash``, ``zsh``, ``ksh``) recursively. It never raises:
malformed input (an unterminated quote, say) gives what can be read.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import NamedTuple

__all__ = ["ShellCommand", "commands"]

_MAX_DEPTH = 8  # sh -c 'sh -c "..."' nesting that is still followed
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"})
_OPTION_WITH_VALUE = frozenset({"-o", "+o", "-O", "+O"})
_PREFIX_WORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
_END_WORDS = frozenset({"fi", "done", "esac", "}"})
_SEPARATORS = frozenset({"&&", "||", ";", "|", "|&", "&", "\n"})
_CASE_ENDS = frozenset({";;", ";&", ";;&"})

_OPERATOR_STARTS = frozenset("0123456789<>&;|()")
_WORD_ENDS = frozenset(" \t\r\f\v\n|&;()<>")
_BLANKS_RE = re.compile(r"[ \t\r\f\v]+")
_OPERATOR_RE = re.compile(r";;&|;;|;&|;|&&|\|\||\|&|\||&|\(|\)")
_REDIRECT_RE = re.compile(r"&>>|&>|[0-9]*(?:<<<|<<-|<<|<>|<&|<|>>|>&|>\||>)")
_PLAIN_RE = re.compile(r"[^ \t\r\f\v\n|&;()<>\\'\"$`]+")
_ASSIGNMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShellCommand:
    """One simple command: its words after quote removal, and its ``VAR=value`` prefixes.

    ``text`` is the command as written (assignments and redirections
    included). ``offsets`` is ``(start, end)`` of ``text`` in the script given
    to :func:`commands`; for a command found inside ``sh -c '...'`` (``depth``
    1 or more) it is the span of the whole ``-c`` argument, and ``text`` is
    relative to that inner script. None when the command was built by hand.
    """

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    text: str
    offsets: tuple[int, int] | None = None
    depth: int = 0


def commands(script: str, *, assignments: bool = False) -> list[ShellCommand]:
    """The simple commands of ``script``, in order (those inside ``sh -c`` follow their shell).

    Commands with no words (a bare ``VAR=value``, or only a redirection) are
    left out, unless ``assignments`` is true: then a bare ``VAR=value`` comes
    out as a command with no words and the assignment in ``env`` (a reader
    that follows shell variables through a script needs them). ``$VAR`` and
    ``$(...)`` are kept as written in the words.
    """
    found: list[ShellCommand] = []
    _Splitter(script, depth=0, outer=None, out=found, assignments=assignments).run()
    return found


# ---------------------------------------------------------------------------
# Tokens


class _Token(NamedTuple):
    kind: str  # "word", "op" (separator or parenthesis), "redirect"
    text: str  # the cooked word (quotes removed), or the operator
    start: int
    end: int
    quoted: bool = False  # a word with quotes or escapes (so never a keyword)


def _tokens(script: str) -> Iterator[_Token]:
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
            yield _Token("op", "\n", pos, pos + 1)
            pos = _skip_heredocs(script, pos + 1, heredocs)
            heredocs = []
        elif char == "#":
            newline = script.find("\n", pos)
            pos = size if newline < 0 else newline
        elif script.startswith(("<(", ">(", "(("), pos):
            # Process substitution, or arithmetic ((...)) (from its second parenthesis).
            end = _scan_group(script, pos + (1 if char == "(" else 2), ")")
            yield _Token("word", script[pos:end], pos, end)
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


def _word(script: str, pos: int) -> _Token:
    plain = _PLAIN_RE.match(script, pos)
    if plain is not None:  # the common case: no quotes, escapes or $ in the word
        end = plain.end()
        if end == len(script) or script[end] in _WORD_ENDS:
            return _Token("word", plain.group(), pos, end)
    end, text, quoted = _read_word(script, pos)
    return _Token("word", text, pos, end, quoted)


def _operator(script: str, pos: int) -> _Token | None:
    redirect = _REDIRECT_RE.match(script, pos)
    if redirect:
        return _Token("redirect", redirect.group(), pos, redirect.end())
    operator = _OPERATOR_RE.match(script, pos)
    if operator:
        return _Token("op", operator.group(), pos, operator.end())
    return None


def _heredoc_target(script: str, pos: int) -> _Token | None:
    blanks = _BLANKS_RE.match(script, pos)
    if blanks:
        pos = blanks.end()
    if pos >= len(script) or script[pos] in "\n|&;()<>":
        return None
    end, text, quoted = _read_word(script, pos)
    return _Token("word", text, pos, end, quoted)


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


# ---------------------------------------------------------------------------
# Commands


@dataclasses.dataclass(slots=True)
class _Current:
    words: list[_Token] = dataclasses.field(default_factory=list)
    env: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    start: int = -1
    end: int = -1
    redirect_target: bool = False  # the next word is a redirection's file or delimiter
    test_clause: bool = False  # inside [[ ... ]]: operators are words

    def touch(self, token: _Token) -> None:
        if self.start < 0:
            self.start = token.start
        self.end = token.end


class _Splitter:
    def __init__(
        self,
        script: str,
        *,
        depth: int,
        outer: tuple[int, int] | None,
        out: list[ShellCommand],
        assignments: bool = False,
    ) -> None:
        self.script = script
        self.assignments = assignments
        self.depth = depth
        self.outer = outer
        self.out = out
        self.current = _Current()
        self.header = False  # in a for/select header: skip words up to ; or newline
        self.skip_word = False  # after "function": its name
        self.function_parens = False  # "name (" seen: skip the ")"
        self.cases: list[str] = []  # per nested case: "head", "pattern" or "body"

    def run(self) -> None:
        for token in _tokens(self.script):
            if token.kind == "word":
                self._word(token)
            elif token.kind == "redirect":
                self._redirect(token)
            else:
                self._operator(token)
        self._finish()

    def _word(self, token: _Token) -> None:
        current = self.current
        if current.redirect_target:
            current.redirect_target = False
            current.touch(token)
            return
        if self._in_case_header(token) or self.header:
            return
        if self.skip_word:
            self.skip_word = False
            return
        at_start = not current.words and not current.env
        if at_start and not token.quoted and self._keyword(token.text):
            return
        if not current.words and _ASSIGNMENT_RE.match(self.script, token.start):
            name, _, value = token.text.partition("=")
            current.env.append((name.removesuffix("+"), value))
            current.touch(token)
            return
        if not current.words and token.text == "[[" and not token.quoted:
            current.test_clause = True
        elif token.text == "]]" and not token.quoted:
            current.test_clause = False
        current.words.append(token)
        current.touch(token)

    def _in_case_header(self, token: _Token) -> bool:
        """Skip ``case WORD in`` and the ``pattern)`` of each case item."""
        if not self.cases or self.cases[-1] == "body":
            return False
        if self.cases[-1] == "head":
            if token.text == "in" and not token.quoted:
                self.cases[-1] = "pattern"
        elif token.text == "esac" and not token.quoted:
            self.cases.pop()
        return True

    def _keyword(self, word: str) -> bool:
        """Handle a reserved word in command position; True if it was one."""
        if word in _PREFIX_WORDS:
            return True
        if word in _END_WORDS:
            if word == "esac" and self.cases:
                self.cases.pop()
            return True
        if word in ("for", "select"):
            self.header = True  # the loop variable and its list
            return True
        if word == "function":
            self.skip_word = True
            return True
        if word == "case":
            self.cases.append("head")
            return True
        return False

    def _redirect(self, token: _Token) -> None:
        current = self.current
        if current.test_clause:
            current.words.append(token)
        else:
            current.redirect_target = True
        current.touch(token)

    def _operator(self, token: _Token) -> None:
        current = self.current
        text = token.text
        if self.cases and self.cases[-1] == "pattern":
            if text == ")":
                self.cases[-1] = "body"
            return
        if current.test_clause and text in ("&&", "||", "(", ")"):
            current.words.append(token)
            current.touch(token)
            return
        if text == "(":
            if len(current.words) == 1 and not current.env:  # name() { ...; }
                self.current = _Current()
                self.function_parens = True
                return
            self._finish()
            return
        if text == ")" and self.function_parens:
            self.function_parens = False
            return
        self._finish()
        if text in _CASE_ENDS and self.cases:
            self.cases[-1] = "pattern"
        if text in (";", "\n", "&"):
            self.header = False

    def _finish(self) -> None:
        current = self.current
        self.current = _Current()
        if not current.words:
            if self.assignments and current.env:
                self.out.append(
                    ShellCommand(
                        argv=(),
                        env=tuple(current.env),
                        text=self.script[current.start : current.end],
                        offsets=self.outer or (current.start, current.end),
                        depth=self.depth,
                    )
                )
            return
        argv = tuple(word.text for word in current.words)
        offsets = self.outer or (current.start, current.end)
        self.out.append(
            ShellCommand(
                argv=argv,
                env=tuple(current.env),
                text=self.script[current.start : current.end],
                offsets=offsets,
                depth=self.depth,
            )
        )
        if self.depth < _MAX_DEPTH:
            script = _shell_script(current.words)
            if script is not None:
                inner = self.outer or (script.start, script.end)
                _Splitter(
                    script.text,
                    depth=self.depth + 1,
                    outer=inner,
                    out=self.out,
                    assignments=self.assignments,
                ).run()


def _shell_script(words: list[_Token]) -> _Token | None:
    """The ``-c`` script word of ``sh -c 'script'`` (``bash -euxc``, ``sh -o x -c``...)."""
    if words[0].text.rsplit("/", 1)[-1] not in _SHELLS:
        return None
    seen_c = False
    skip = False
    for word in words[1:]:
        text = word.text
        if skip:
            skip = False
        elif text in _OPTION_WITH_VALUE:
            skip = True
        elif text == "--":
            return None
        elif text.startswith("--"):
            continue
        elif len(text) > 1 and text[0] in "-+":
            seen_c = seen_c or (text[0] == "-" and "c" in text[1:])
        else:
            return word if seen_c else None
    return None
