"""What every rule is built from: the registry, hits, and the analysed Dockerfile.

A rule is a function decorated with :func:`rule`; it receives an
:class:`Analysis` and yields :class:`Hit` objects. The engine
(:mod:`uvdock.lint.engine`) turns hits into findings: it applies the
configured severity, suppressions and selection. What reads a command line, a COPY
or an image name without an Analysis is in :mod:`uvdock.lint.rules.words`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import TypeVar, cast

from uvdock.dockerfile import expand, key_values
from uvdock.dockerfile.syntax import Dockerfile, Heredoc, Instruction, Span, Stage
from uvdock.lint.context import BuildContext
from uvdock.lint.findings import Edit, RuleInfo, Severity
from uvdock.lint.rules.words import program
from uvdock.lint.shell import ShellCommand, commands
from uvdock.project.readfile import UnreadableFileError, read_bytes

T = TypeVar("T")

# Real Dockerfiles chain a handful of stages; a generated one may chain thousands.
MAX_LINEAGE = 64


@dataclasses.dataclass(frozen=True, kw_only=True)
class Hit:
    span: Span
    message: str
    fix: tuple[Edit, ...] = ()
    path: Path | None = None  # another file than the Dockerfile (e.g. the .dockerignore)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Command:
    """A simple shell command inside a ``RUN`` (or heredoc), with the stage's ENV.

    ``env`` is what the program sees in its environment: the stage's ENV and
    ARGs, what the script exported before it (``export X=1``, ``source
    venv/bin/activate``), then the command's own ``X=1`` prefixes.
    ``variables`` adds the script's plain shell variables (``ARGS="--frozen";
    uv sync $ARGS``), which expand in the words but are not in the environment.
    """

    instruction: Instruction
    shell: ShellCommand
    env: dict[str, str]
    variables: dict[str, str] = dataclasses.field(default_factory=dict)
    heredoc: Heredoc | None = None  # the heredoc body the command is in, if any

    @property
    def argv(self) -> tuple[str, ...]:
        return self.shell.argv

    @functools.cached_property
    def words(self) -> tuple[str, ...]:
        """``argv`` with the variables the linter knows expanded and split, as the shell does."""
        known = {**self.variables, **self.env}
        words: list[str] = []
        for word in self.shell.argv:
            if "$" not in word:
                words.append(word)
                continue
            value = expand(word, known, keep_unset=True)
            words.extend(value.split() if value != word else [word])
        return tuple(words)

    @property
    def opaque(self) -> bool:
        """Whether some word comes from a variable the linter cannot know (a build
        argument without a default, ``$(...)``): options may hide there."""
        return any("$" in word for word in self.words[1:])


Check = Callable[["Analysis"], Iterable[Hit]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rule:
    info: RuleInfo
    check: Check


RULES: list[Rule] = []


def rule(
    code: str,
    slug: str,
    severity: Severity,
    *,
    summary: str,
    why: str,
    bad: str,
    good: str,
    source: str,
    aliases: tuple[str, ...] = (),
    fixable: bool = False,
) -> Callable[[Check], Check]:
    """Register ``check`` as rule ``code``."""

    def register(check: Check) -> Check:
        info = RuleInfo(
            code=code,
            slug=slug,
            severity=severity,
            summary=summary,
            why=why.strip(),
            bad=bad.strip("\n"),
            good=good.strip("\n"),
            source=source.strip(),
            aliases=aliases,
            fixable=fixable,
        )
        RULES.append(Rule(info=info, check=check))
        return check

    return register


class Analysis:
    """A parsed Dockerfile with its build context, and facts several rules need."""

    def __init__(
        self,
        dockerfile: Dockerfile,
        context: BuildContext,
        *,
        trusted_registries: tuple[str, ...] = (),
        enabled: frozenset[str] | None = None,
    ) -> None:
        self.dockerfile = dockerfile
        self.context = context
        self.trusted_registries = trusted_registries
        # Codes of the rules that run: a rule leaves a defect to another that reports it.
        self.enabled = enabled
        self._lineages: dict[int, tuple[Stage, ...]] = {}
        # Facts about the whole file that a rule asks for each command: computed once.
        self.memo: dict[str, object] = {}

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered for this file under ``key`` (``key`` names one type)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return cast("T", self.memo[key])

    def runs(self, code: str) -> bool:
        return self.enabled is None or code in self.enabled

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self.dockerfile.stages

    def variables(self, instruction: Instruction) -> list[tuple[str, str]]:
        """``(name, value)`` of an ENV or ARG, as BuildKit reads it (no default: ``""``)."""
        return [
            (key, value or "")
            for key, value in key_values(instruction, escape=self.dockerfile.escape)
        ]

    @property
    def final(self) -> Stage | None:
        return self.dockerfile.final_stage

    @functools.cached_property
    def global_args(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.dockerfile.global_args:
            for key, value in self.variables(instruction):
                values[key] = expand(value, values)
        return values

    def lineage(self, stage: Stage) -> tuple[Stage, ...]:
        """``stage`` and the stages it is built FROM, nearest first (computed once each).

        At most MAX_LINEAGE stages: rules walk the lineage of every stage, so a
        chain of thousands of stages would make linting quadratic; beyond the
        limit the base counts as an unknown image.
        """
        known = self._lineages.get(stage.index)
        if known is None:
            chain = [stage]
            seen = {stage.index}
            while (
                chain[-1].base_stage is not None
                and chain[-1].base_stage not in seen
                and len(chain) < MAX_LINEAGE
            ):
                parent = self.stages[chain[-1].base_stage]
                seen.add(parent.index)
                chain.append(parent)
            known = self._lineages[stage.index] = tuple(chain)
        return known

    def root_image(self, stage: Stage) -> str:
        """The image a stage finally starts from (following FROM <stage>), ARGs resolved."""
        return self.lineage(stage)[-1].base_resolved

    def env_before(self, stage: Stage, instruction: Instruction | None = None) -> dict[str, str]:
        """ENV (and ARG defaults) in effect in ``stage`` before ``instruction``."""
        if instruction is not None and instruction.keyword == "RUN":
            known = self._env_at_runs.get(id(instruction))
            if known is not None:
                return dict(known)
        env: dict[str, str] = {}
        for ancestor in reversed(self.lineage(stage)):
            for item in ancestor.instructions:
                if ancestor is stage and item is instruction:
                    return env
                self._apply_variables(item, env)
        return env

    def _apply_variables(self, item: Instruction, env: dict[str, str]) -> None:
        if item.keyword not in ("ENV", "ARG"):
            return
        for key, declared in self.variables(item):
            value: str | None = declared
            if item.keyword == "ARG" and not declared:
                # A build argument without a default is whatever --build-arg says:
                # unknown, so left out (not taken for "").
                value = self.global_args.get(key, env.get(key))
            if value is not None:
                env[key] = expand(value, env)

    @functools.cached_property
    def _env_at_runs(self) -> dict[int, dict[str, str]]:
        """The environment before every RUN, computed in one pass over the stages (a stage
        starts from the end of the one it is FROM): linear, where asking ``env_before`` for
        each RUN would walk the lineage again each time."""
        at_end: dict[int, dict[str, str]] = {}
        found: dict[int, dict[str, str]] = {}
        for stage in self.stages:
            base = stage.base_stage
            env = dict(at_end[base]) if base is not None and base in at_end else {}
            if base is not None and base not in at_end:
                continue  # FROM a later stage: left to env_before
            for item in stage.instructions:
                if item.keyword == "RUN":
                    found[id(item)] = dict(env)
                self._apply_variables(item, env)
            at_end[stage.index] = env
        return found

    @functools.cached_property
    def reaching_final(self) -> set[int]:
        """Indexes of the stages whose files end up in the final image."""
        final = self.final
        if final is None:
            return set()
        reached: set[int] = set()
        pending = [final]
        while pending:
            stage = pending.pop()
            for member in self.lineage(stage):
                if member.index in reached:
                    continue
                reached.add(member.index)
                for item in member.instructions:
                    source = item.flag("from")
                    if item.keyword in ("COPY", "ADD") and source and source.value:
                        other = self.dockerfile.stage_named(source.value)
                        if other is not None and other.index not in reached:
                            pending.append(other)
        return reached

    @functools.cached_property
    def commands(self) -> list[tuple[Stage, Command]]:
        """Every simple shell command of every RUN, heredoc bodies included.

        Shell variables are followed through the script in order: plain
        assignments (``ARGS="--frozen"``), ``export``, ``unset`` and sourcing a
        venv's ``bin/activate``.
        """
        found: list[tuple[Stage, Command]] = []
        for stage in self.stages:
            for item in stage.instructions:
                if item.keyword != "RUN":
                    continue
                exported = self.env_before(stage, item)
                plain: dict[str, str] = {}
                for shell, heredoc in self._run_commands(item):
                    known = {**plain, **exported}
                    if not shell.argv:
                        for key, value in shell.env:
                            plain[key] = expand(value, known, keep_unset=True)
                        continue
                    own = dict(exported)
                    own.update((k, expand(v, known, keep_unset=True)) for k, v in shell.env)
                    command = Command(
                        instruction=item, shell=shell, env=own, variables=plain, heredoc=heredoc
                    )
                    found.append((stage, command))
                    _follow_variables(command.words, plain, exported)
        return found

    @staticmethod
    def _run_commands(item: Instruction) -> Iterator[tuple[ShellCommand, Heredoc | None]]:
        if item.exec_form is not None:
            shell = ShellCommand(argv=item.exec_form, env=(), text=" ".join(item.exec_form))
            yield shell, None
            return
        for shell in commands(item.args, assignments=True):
            yield shell, None
        for heredoc in item.heredocs:
            # A heredoc is the script when the command is only "<<EOF" (or a shell
            # reading it); when it feeds another program (python - <<PY), it is data.
            head = item.args.split("<<", 1)[0].split()
            if not head or head[-1] in ("sh", "bash", "/bin/sh", "/bin/bash"):
                for shell in commands(heredoc.content, assignments=True):
                    yield shell, heredoc

    def earlier_commands(self, stage: Stage, command: Command) -> Iterator[Command]:
        """The commands that run before ``command`` in ``stage`` and the stages it is FROM."""
        lineage = {member.index for member in self.lineage(stage)}
        for owner, other in self.commands:
            if other is command:
                return
            if owner.index in lineage:
                yield other

    def stage_commands(self, stage: Stage) -> list[Command]:
        return self._commands_by_stage.get(stage.index, [])

    @functools.cached_property
    def _commands_by_stage(self) -> dict[int, list[Command]]:
        grouped: dict[int, list[Command]] = {}
        for owner, command in self.commands:
            grouped.setdefault(owner.index, []).append(command)
        return grouped

    def keyword_span(self, instruction: Instruction) -> Span:
        """The instruction's keyword, where most findings point."""
        span = instruction.span
        return Span(
            start_line=span.start_line,
            start_col=span.start_col,
            end_line=span.start_line,
            end_col=span.start_col + len(instruction.keyword_text),
        )

    def words_span(self, command: Command, *words: str) -> Span | None:
        """Where ``words`` (consecutive, whole words) stand in the command as written.

        For fixes that insert after a subcommand (``uv sync`` + `` --locked``):
        the span is inside this very command, never in another command of the
        same ``RUN``. None when the command cannot be edited in place: inside
        ``sh -c '...'``, in exec form, in a tab-stripped heredoc, or when the
        words are not written out (they come from a variable).
        """
        shell = command.shell
        if shell.depth or shell.offsets is None or command.instruction.exec_form is not None:
            return None
        pattern = r"(?<![\w./$-])" + r"[ \t]+".join(map(re.escape, words)) + r"(?![\w./-])"
        match = re.search(pattern, shell.text)
        if match is None:
            return None
        start = shell.offsets[0] + match.start()
        return self._source_span(command, start, start + len(match.group(0)))

    def command_span(self, command: Command) -> Span:
        """The simple command as written (``uv sync --no-dev`` of ``RUN a && uv sync --no-dev``),
        or the instruction's keyword when it cannot be placed."""
        shell = command.shell
        span = None
        if shell.offsets is not None and command.instruction.exec_form is None:
            span = self._source_span(command, *shell.offsets)
        return span or self.keyword_span(command.instruction)

    @staticmethod
    def _source_span(command: Command, start: int, end: int) -> Span | None:
        heredoc = command.heredoc
        if heredoc is None:
            return command.instruction.span_in_args(start, end)
        if heredoc.strip_tabs:
            return None
        content = heredoc.content

        def position(offset: int) -> tuple[int, int]:
            line = heredoc.span.start_line + content.count("\n", 0, offset)
            return line, offset - (content.rfind("\n", 0, offset) + 1) + 1

        (line, col), (end_line, end_col) = position(start), position(end)
        return Span(start_line=line, start_col=col, end_line=end_line, end_col=end_col)

    def find_in(self, instruction: Instruction, needle: str | re.Pattern[str]) -> Span | None:
        """The first occurrence of ``needle`` in the instruction's source lines."""
        lines = self.dockerfile.lines
        for number in range(instruction.span.start_line, instruction.span.end_line + 1):
            line = lines[number - 1] if number - 1 < len(lines) else ""
            if isinstance(needle, str):
                col = line.find(needle)
                length = len(needle)
            else:
                match = needle.search(line)
                col, length = (match.start(), len(match.group(0))) if match else (-1, 0)
            if col >= 0:
                return Span(
                    start_line=number, start_col=col + 1, end_line=number, end_col=col + 1 + length
                )
        return None


def one_hit_per_run(
    analysis: Analysis,
    commands: Iterable[Command],
    *,
    message: str,
    insert: str,
    after: Callable[[Command], tuple[str, ...]],
) -> Iterator[Hit]:
    """One finding per RUN for a defect of its layer (one cache, one mount), with an edit
    that inserts ``insert`` after ``after(command)`` in each of its commands; no fix unless
    every edit can be placed."""
    per_run: dict[int, list[Command]] = {}
    for command in commands:
        per_run.setdefault(id(command.instruction), []).append(command)
    for found in per_run.values():
        spans = [analysis.words_span(command, *after(command)) for command in found]
        yield Hit(
            span=analysis.command_span(found[0]),
            message=message,
            fix=tuple(insert_after(s, insert) for s in spans if s is not None)
            if all(spans)
            else (),
        )


def insert_after(span: Span, text: str) -> Edit:
    """An edit that inserts ``text`` right after ``span``."""
    point = Span(
        start_line=span.end_line,
        start_col=span.end_col,
        end_line=span.end_line,
        end_col=span.end_col,
    )
    return Edit(span=point, text=text)


def _follow_variables(
    words: tuple[str, ...], plain: dict[str, str], exported: dict[str, str]
) -> None:
    """What ``export``, ``unset`` and ``source .../bin/activate`` do to the script's variables."""
    name = program(words)
    if name in ("export", "declare", "typeset", "readonly"):
        for word in words[1:]:
            if word.startswith("-"):
                continue
            key, equals, value = word.partition("=")
            if equals:
                plain[key] = value
            if equals or key in plain:
                exported[key] = plain.get(key, value)
    elif name == "unset":
        for word in words[1:]:
            plain.pop(word, None)
            exported.pop(word, None)
    elif name in (".", "source") and len(words) > 1 and words[1].endswith("/bin/activate"):
        exported["VIRTUAL_ENV"] = words[1].removesuffix("/bin/activate")


# Words in a Dockerfile's or a final stage's name that say the image is not the one
# shipped: Dockerfile.dev, test.Dockerfile, `FROM base AS testing`.
DEVELOPMENT_WORDS = frozenset({"dev", "devel", "develop", "development", "local", "debug",
                               "test", "tests", "testing", "ci"})  # fmt: skip


def named_as(analysis: Analysis, stage: Stage, words: frozenset[str]) -> bool:
    """Whether one of ``words`` is a part of the Dockerfile's file name or of ``stage``'s
    name (``Dockerfile.dev``, ``test.Dockerfile``, ``AS builder``)."""
    names = [PurePosixPath(analysis.dockerfile.path).name, stage.name or ""]
    return any(set(re.split(r"[._-]+", name.lower())) & words for name in names)


def for_development(analysis: Analysis, stage: Stage) -> bool:
    """Whether the Dockerfile's name or ``stage``'s name says it is a development or test image."""
    return named_as(analysis, stage, DEVELOPMENT_WORDS)


def read_small(path: Path, limit: int = 1024 * 1024) -> str | None:
    """The text of a regular file of at most ``limit`` bytes, else None: the rules read
    project files, and a FIFO there would block, a link to /dev/zero never end."""
    try:
        return read_bytes(path, limit=limit).decode("utf-8", errors="replace")
    except UnreadableFileError:
        return None
