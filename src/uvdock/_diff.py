"""Unified diffs that ``patch`` and ``git apply`` accept.

``difflib.unified_diff`` alone gets two things wrong for files: a last line
without a newline runs into the next diff line (``-old+new`` on one line), and
an absolute path becomes ``a//abs/path``. Both are handled here, once, for
``uvdock init --diff`` and ``uvdock lint --fix --diff``.
"""

from __future__ import annotations

NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(previous: str | None, content: str, name: str) -> str:
    """The diff from ``previous`` (None: a new file) to ``content`` of the file ``name``."""
    import difflib  # noqa: PLC0415 - only when a diff is asked for

    label = name.lstrip("/")
    lines = difflib.unified_diff(
        (previous or "").splitlines(keepends=True),
        content.splitlines(keepends=True),
        fromfile=f"a/{label}" if previous is not None else "/dev/null",
        tofile=f"b/{label}",
    )
    out: list[str] = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n" + NO_NEWLINE)
    return "".join(out)
