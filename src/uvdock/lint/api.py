"""The library entry point of ``uvdock lint``: lint files, optionally compute fixes.

Nothing here prints or writes: :func:`lint_paths` returns what it found and,
with ``fix=True``, the fixed text of each file, which the caller writes (the
CLI writes atomically) or shows as a diff.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from uvdock.dockerfile import parse_dockerfile
from uvdock.errors import ConfigError, UsageError
from uvdock.lint.context import BuildContext, ignore_file, load_context
from uvdock.lint.engine import LintConfig, apply_fixes, config_from_table, lint_dockerfile
from uvdock.lint.findings import SEVERITIES, Finding, Severity

MAX_BYTES = 10_000_000  # larger than any real Dockerfile; keeps a stray binary from hogging memory


@dataclasses.dataclass(frozen=True, kw_only=True)
class FileResult:
    path: Path
    display: str  # the path as given (messages, reports)
    text: str
    findings: tuple[Finding, ...]  # after fixes, when fixes were applied
    fixed_text: str | None = None  # the text with fixes applied (None: nothing to fix)
    fixes_applied: int = 0


def project_dockerfiles(directory: Path) -> list[Path]:
    """The Dockerfiles of a project: ``Dockerfile``, ``Dockerfile.*``, ``*.Dockerfile``."""
    found = {
        p
        for pattern in ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile")
        for p in directory.glob(pattern)
        if p.is_file()
    }
    return sorted(found)


def load_config(context_dir: Path) -> LintConfig:
    """``[tool.uvdock.lint]`` of ``context_dir/pyproject.toml``, if any."""
    path = context_dir / "pyproject.toml"
    if not path.is_file():
        return LintConfig()
    # tomllib (~5 ms) only when there is a pyproject.toml to read.
    from uvdock._toml import line_of_key, read_toml  # noqa: PLC0415

    data, text = read_toml(path)
    table = data.get("tool", {}).get("uvdock", {}).get("lint")
    if table is None:
        return LintConfig()
    line = line_of_key(text, "tool.uvdock.lint")
    where = f"{path}:{line}" if line else str(path)
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [tool.uvdock.lint] must be a table")
    return config_from_table(table, where=where)


def _read(path: Path, display: str) -> str:
    """The Dockerfile's text: a regular file of at most 10 MB (a FIFO would block the read
    forever, a link to /dev/zero would fill the memory), read with a bounded read."""
    import stat  # noqa: PLC0415 - only when a file is read

    try:
        mode = path.stat().st_mode
    except FileNotFoundError as err:
        raise UsageError(
            f"{display}: no such file",
            hint="pass existing Dockerfiles, or none to lint the project's Dockerfiles",
        ) from err
    except OSError as err:
        raise UsageError(f"{display}: cannot be read ({err.strerror})") from err
    if stat.S_ISDIR(mode):
        raise UsageError(f"{display}: is a directory", hint="pass Dockerfiles, or use --context")
    if not stat.S_ISREG(mode):
        raise UsageError(
            f"{display}: not a regular file (a pipe, socket or device)",
            hint="pass the Dockerfile itself",
        )
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # bounded, whatever st_size claimed
    except OSError as err:
        raise UsageError(f"{display}: cannot be read ({err.strerror})") from err
    if len(data) > MAX_BYTES:
        raise UsageError(f"{display}: larger than 10 MB; is it really a Dockerfile?")
    return data.decode("utf-8", errors="replace")


def lint_paths(
    paths: Sequence[Path],
    *,
    context_dir: Path | None = None,
    config: LintConfig | None = None,
    fix: bool = False,
) -> list[FileResult]:
    """Lint each Dockerfile in ``paths`` against its build context.

    ``context_dir`` defaults to each file's directory; ``[tool.uvdock.lint]`` in
    the context's ``pyproject.toml`` is merged under ``config``.
    """
    results = []
    contexts: dict[Path, BuildContext] = {}  # many Dockerfiles share one context
    for path in paths:
        display = str(path)
        text = _read(path, display)
        context_root = (context_dir or path.parent).resolve()
        effective = load_config(context_root).merged(config or LintConfig())
        ignore = ignore_file(context_root, path.resolve())
        context = contexts.get(ignore) or load_context(context_root, dockerfile=path.resolve())
        contexts[ignore] = context
        findings = lint_dockerfile(parse_dockerfile(text, path=display), context, effective)
        fixed_text: str | None = None
        applied = 0
        if fix and any(f.fix for f in findings):
            fixed_text = text
            # Overlapping fixes are left for another pass; a few passes reach a fixed point.
            for _ in range(5):
                fixed_text, count = apply_fixes(fixed_text, findings)
                applied += count
                findings = lint_dockerfile(
                    parse_dockerfile(fixed_text, path=display), context, effective
                )
                if count == 0 or not any(f.fix for f in findings):
                    break
        results.append(
            FileResult(
                path=path,
                display=display,
                text=text,
                findings=tuple(findings),
                fixed_text=fixed_text if fixed_text != text else None,
                fixes_applied=applied,
            )
        )
    return results


def fails(results: Sequence[FileResult], level: Severity) -> bool:
    """Whether any finding is at ``level`` or more severe."""
    limit = SEVERITIES.index(level)
    return any(SEVERITIES.index(f.severity) <= limit for r in results for f in r.findings)
