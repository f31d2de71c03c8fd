"""Lint stays linear on generated shapes real files never have (issue 12).

Timing belongs to benchmarks/lint_growth.py; here, the bound that makes the
rules linear in the number of stages: each stage's lineage is walked at most
MAX_LINEAGE stages deep, however long the chain of ``FROM <stage>`` is.
"""

from __future__ import annotations

from uvdock.dockerfile import parse_dockerfile
from uvdock.lint.context import load_context
from uvdock.lint.engine import LintConfig, lint_text
from uvdock.lint.rules.base import MAX_LINEAGE, Analysis


def _chain(stages: int) -> str:
    lines = ["FROM python:3.13-slim AS s0", "USER 10001"]
    lines += [f"FROM s{i - 1} AS s{i}\nRUN echo {i}" for i in range(1, stages)]
    return "\n".join(lines) + "\n"


def test_a_stage_lineage_is_walked_at_most_max_lineage_deep() -> None:
    analysis = Analysis(parse_dockerfile(_chain(MAX_LINEAGE * 3)), load_context(None))
    last = analysis.stages[-1]
    assert len(analysis.lineage(last)) == MAX_LINEAGE
    assert len(analysis.lineage(analysis.stages[MAX_LINEAGE - 1])) == MAX_LINEAGE
    assert analysis.lineage(analysis.stages[3])[-1].index == 0
    assert analysis.root_image(analysis.stages[3]) == "python:3.13-slim"


def test_a_chain_shorter_than_the_bound_is_linted_as_before() -> None:
    # The USER of the first stage reaches the last one: no "runs as root" finding.
    findings = lint_text(_chain(MAX_LINEAGE - 1), config=LintConfig())
    assert not [f for f in findings if f.code == "PY203"]
    # Without it, the last stage of the same chain runs as root, and PY203 says so.
    rooted = _chain(MAX_LINEAGE - 1).replace("USER 10001\n", "")
    assert [f.code for f in lint_text(rooted, config=LintConfig()) if f.code == "PY203"]
