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
malformed input (an unterminated quote, say) gives what can be read. The tokens come
from :mod:`uvdock.lint.shell_lexer`.
"""

from __future__ import annotations

import dataclasses
import re

from uvdock.lint.shell_lexer import Token, tokens

__all__ = ["ShellCommand", "commands"]

_MAX_DEPTH = 8  # sh -c 'sh -c "..."' nesting that is still followed
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh"})
_OPTION_WITH_VALUE = frozenset({"-o", "+o", "-O", "+O"})
_PREFIX_WORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
_END_WORDS = frozenset({"fi", "done", "esac", "}"})
_SEPARATORS = frozenset({"&&", "||", ";", "|", "|&", "&", "\n"})
_CASE_ENDS = frozenset({";;", ";&", ";;&"})

_ASSIGNMENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\+?=")


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
# Commands


@dataclasses.dataclass(slots=True)
class _Current:
    words: list[Token] = dataclasses.field(default_factory=list)
    env: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    start: int = -1
    end: int = -1
    redirect_target: bool = False  # the next word is a redirection's file or delimiter
    test_clause: bool = False  # inside [[ ... ]]: operators are words

    def touch(self, token: Token) -> None:
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
        for token in tokens(self.script):
            if token.kind == "word":
                self._word(token)
            elif token.kind == "redirect":
                self._redirect(token)
            else:
                self._operator(token)
        self._finish()

    def _word(self, token: Token) -> None:
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

    def _in_case_header(self, token: Token) -> bool:
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

    def _redirect(self, token: Token) -> None:
        current = self.current
        if current.test_clause:
            current.words.append(token)
        else:
            current.redirect_target = True
        current.touch(token)

    def _operator(self, token: Token) -> None:
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


def _shell_script(words: list[Token]) -> Token | None:
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
