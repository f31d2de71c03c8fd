"""Every lint rule on its documented examples, on the guide's Dockerfiles, and on uvdock's own."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support.paths import EXAMPLES_DIR, GUIDE, PROJECTS_DIR, REPO_ROOT
from uvdock.lint.api import lint_paths
from uvdock.lint.engine import LintConfig, lint_text
from uvdock.lint.rules import RULES, Rule

# Rules whose examples need a build context (files next to the Dockerfile) or a
# setting: tested below.
CONTEXT_RULES = {"UV111", "UV113", "UV116", "PY210", "PY217"}
PREFIX = "FROM python:3.13-slim-trixie\nWORKDIR /app\n"


def as_dockerfile(fragment: str) -> str:
    return fragment + "\n" if re.search(r"^FROM ", fragment, re.MULTILINE) else PREFIX + fragment


def codes(text: str, *, context: Path | None = None, only: str | None = None) -> list[str]:
    config = LintConfig(select=(only,)) if only else LintConfig()
    return [f.code for f in lint_text(text, context_dir=context, config=config)]


def _rule_id(rule: Rule) -> str:
    return rule.info.code


SIMPLE_RULES = [r for r in RULES if r.info.code not in CONTEXT_RULES]


@pytest.mark.parametrize("rule", SIMPLE_RULES, ids=_rule_id)
def test_documented_bad_example_is_flagged(rule: Rule) -> None:
    assert rule.info.code in codes(as_dockerfile(rule.info.bad), only=rule.info.code)


@pytest.mark.parametrize("rule", SIMPLE_RULES, ids=_rule_id)
def test_documented_good_example_is_clean(rule: Rule) -> None:
    assert rule.info.code not in codes(as_dockerfile(rule.info.good), only=rule.info.code)


def test_codes_and_slugs_are_unique_and_documented() -> None:
    infos = [r.info for r in RULES]
    assert len({i.code for i in infos}) == len(infos)
    assert len({i.slug for i in infos}) == len(infos)
    for info in infos:
        assert re.fullmatch(r"(UV|PY)\d{3}", info.code)
        assert all((info.summary, info.why, info.bad, info.good, info.source)), info.code


def _project(tmp_path: Path, name: str = "fastapi-app") -> Path:
    root = tmp_path / name
    shutil.copytree(EXAMPLES_DIR / name, root)
    return root


def test_dockerignore_missing_or_incomplete(tmp_path: Path) -> None:
    root = _project(tmp_path)
    text = PREFIX + "COPY . /app\n"
    assert "UV111" not in codes(text, context=root)  # uvdock's .dockerignore
    # No .venv in this checkout, but it is a uv project (pyproject.toml and uv.lock): uv
    # creates .venv on every machine that runs it, so the .dockerignore must exclude it.
    (root / ".dockerignore").write_text("__pycache__\n")
    assert "UV111" in codes(text, context=root)
    (root / ".dockerignore").unlink()
    assert "UV111" in codes(text, context=root)
    assert "UV111" not in codes(text)  # no context: nothing known, nothing said


def test_dockerignore_excluding_the_readme_is_an_error_at_its_line(tmp_path: Path) -> None:
    root = _project(tmp_path)
    ignore = root / ".dockerignore"
    ignore.write_text(ignore.read_text() + "*.md\n")
    line = len(ignore.read_text().splitlines())
    text = PREFIX + "RUN --mount=type=cache,target=/root/.cache/uv uv sync --locked --no-dev\n"
    findings = [f for f in lint_text(text, context_dir=root) if f.code == "UV113"]
    assert len(findings) == 1
    assert findings[0].path.endswith(".dockerignore")
    assert findings[0].span.start_line == line
    assert "README.md" in findings[0].message
    ignore.write_text(ignore.read_text() + "!README.md\n")
    assert "UV113" not in codes(text, context=root)


def test_python_version_from_the_project(tmp_path: Path) -> None:
    root = _project(tmp_path)  # .python-version says 3.13
    uses = "COPY . /app\n"  # compared only when the image uses the project
    assert "UV116" in codes("FROM python:3.11-slim\n" + uses, context=root)
    assert "UV116" not in codes("FROM python:3.13-slim\n" + uses, context=root)
    (root / ".python-version").unlink()  # requires-python = ">=3.11"
    assert "UV116" in codes("FROM python:3.10-slim\n" + uses, context=root)
    assert "UV116" not in codes("FROM python:3.12-slim\n" + uses, context=root)


def test_wrapper_script_without_exec(tmp_path: Path) -> None:
    script = tmp_path / "entrypoint.sh"
    script.write_text("#!/bin/sh\nset -e\nalembic upgrade head\ngunicorn app:app\n")
    text = PREFIX + 'COPY entrypoint.sh /\nENTRYPOINT ["/entrypoint.sh"]\n'
    assert "PY210" in codes(text, context=tmp_path)
    script.write_text("#!/bin/sh\nset -e\nalembic upgrade head\nexec gunicorn app:app\n")
    assert "PY210" not in codes(text, context=tmp_path)


def test_from_resolved_through_arg_defaults() -> None:
    text = "ARG PY=latest\nFROM python:${PY}\n"
    assert "PY209" in codes(text, only="PY209")
    assert "PY209" not in codes("ARG PY=3.13-slim\nFROM python:${PY}\n", only="PY209")
    uv = (
        "ARG UV=latest\nFROM python:3.13-slim\nARG UV\n"
        "COPY --from=ghcr.io/astral-sh/uv:${UV} /uv /bin/\n"
    )
    assert "UV101" in codes(uv, only="UV101")


def test_rules_apply_only_where_they_matter() -> None:
    # dev dependencies in a stage whose files never reach the final image: fine.
    text = (
        "FROM python:3.13-slim AS test\nRUN uv sync --locked\n"
        "FROM python:3.13-slim AS builder\nRUN uv sync --locked --no-dev\n"
        "FROM python:3.13-slim\nCOPY --from=builder /app/.venv /app/.venv\n"
    )
    assert "UV107" not in codes(text, only="UV107")
    copied = text.replace("--from=builder", "--from=test")
    assert "UV107" in codes(copied, only="UV107")
    # The uv cache in a builder stage does not reach the image.
    builder = "FROM python:3.13-slim AS b\nRUN uv sync --locked\nFROM python:3.13-slim\n"
    assert "UV104" not in codes(builder, only="UV104")


def test_user_inherited_from_an_earlier_stage() -> None:
    text = 'FROM python:3.13-slim AS base\nUSER 10001\nFROM base\nCMD ["python"]\n'
    assert "PY203" not in codes(text, only="PY203")
    assert "PY203" in codes(text + "USER root\n", only="PY203")


def _guide_dockerfiles() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    return [
        "\n".join(line.removeprefix("  ").removeprefix(" ") for line in block.splitlines()) + "\n"
        for block in re.findall(r"```dockerfile\n(.*?)```", text, re.DOTALL)
    ]


# What each of the guide's complete Dockerfiles gets wrong (block index -> codes). Blocks 6
# and 10 copy site-packages between stages FROM the same image and start with
# `python -m uvicorn`: that works, so UV109 stays quiet there.
GUIDE_DEFECTS = {
    0: {"UV101", "UV103", "UV104", "UV115", "PY203", "UV117"},
    1: {"UV101", "UV115", "UV109", "PY203"},
    2: {"UV101", "UV103", "UV104", "UV115", "PY203", "PY202", "UV117"},
    5: {"UV101", "UV104", "UV115", "PY203", "PY202"},
    6: {"UV101", "UV115"},
    10: {"UV101", "UV115"},
}


@pytest.mark.skipif(not GUIDE.is_file(), reason="the guide lives in ../shared")
@pytest.mark.parametrize("index", sorted(GUIDE_DEFECTS))
def test_guide_dockerfiles(index: int, tmp_path: Path) -> None:
    root = _project(tmp_path)
    found = set(codes(_guide_dockerfiles()[index], context=root))
    assert GUIDE_DEFECTS[index] <= found, sorted(found)


@pytest.mark.skipif(not GUIDE.is_file(), reason="the guide lives in ../shared")
def test_guide_fragments() -> None:
    blocks = _guide_dockerfiles()
    assert "UV112" in codes(as_dockerfile(blocks[13]))  # fastapi~=0.109.0 is a range
    token = codes(as_dockerfile(blocks[15]))
    # One defect, one finding: PY208 reports the ARG; PY220 only when PY208 is off.
    assert "PY208" in token
    assert "PY220" not in token
    assert "PY220" in codes(as_dockerfile(blocks[15]), only="PY220")
    assert "PY222" in codes(as_dockerfile(blocks[16]))


def _generated() -> list[tuple[Path, Path]]:
    """(generated Dockerfile, the directory whose files it is built from)."""
    pairs = []
    for dockerfile in sorted((REPO_ROOT / "tests" / "golden").glob("*/*/Dockerfile*")):
        pairs.append((dockerfile, PROJECTS_DIR / dockerfile.parent.parent.name))
    for dockerfile in sorted((EXAMPLES_DIR / "fastapi-app").glob("Dockerfile*")):
        pairs.append((dockerfile, dockerfile.parent))
    return pairs


@pytest.mark.parametrize(
    ("dockerfile", "project"),
    _generated(),
    ids=[f"{d.parent.parent.name}/{d.parent.name}/{d.name}" for d, _ in _generated()],
)
def test_generated_dockerfiles_are_clean(dockerfile: Path, project: Path, tmp_path: Path) -> None:
    # The context as `uvdock init` leaves it: the project and the generated .dockerignore.
    context = tmp_path / project.name
    shutil.copytree(project, context)
    shutil.copy(dockerfile.parent / ".dockerignore", context / ".dockerignore")
    findings = lint_text(dockerfile.read_text(), path=str(dockerfile), context_dir=context)
    assert [f"{f.code}:{f.span.start_line} {f.message}" for f in findings] == []


def test_rule_pages_are_current() -> None:
    from uvdock.lint.docs import rule_pages  # noqa: PLC0415

    docs = REPO_ROOT / "docs" / "rules"
    committed = {p.name: p.read_text() for p in docs.glob("*.md")}
    assert committed == rule_pages(), "run: uv run python scripts/gen_rule_docs.py"


def test_uv_pin_fix_uses_the_projects_required_version(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.uv]\nrequired-version = "==0.9.2"\n')
    text = "FROM python:3.13-slim\nCOPY --from=ghcr.io/astral-sh/uv:latest /uv /bin/\n"
    [finding] = [f for f in lint_text(text, context_dir=tmp_path) if f.code == "UV101"]
    assert (
        "ghcr.io/astral-sh/uv:0.9.2 (the project's [tool.uv] required-version)" in finding.message
    )
    assert [e.text for e in finding.fix] == ["ghcr.io/astral-sh/uv:0.9.2"]


def test_trusted_registries() -> None:
    text = (
        "FROM registry.example.com/library/python:3.13-slim AS b\n"
        "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/\nFROM python:3.13-slim\n"
    )
    assert "PY217" not in codes(text)  # not configured: silent
    config = LintConfig(trusted_registries=("registry.example.com",))
    found = [f for f in lint_text(text, config=config) if f.code == "PY217"]
    assert [(f.span.start_line, "docker.io" in f.message) for f in found] == [
        (2, False),
        (3, True),
    ]


@pytest.mark.parametrize("rule", SIMPLE_RULES, ids=_rule_id)
def test_golden_text_output(rule: Rule, update_golden: bool) -> None:
    from uvdock.lint.report import render_text  # noqa: PLC0415

    text = as_dockerfile(rule.info.bad)
    findings = lint_text(text, config=LintConfig(select=(rule.info.code,)))
    output = render_text(findings, texts={"Dockerfile": text})
    golden = REPO_ROOT / "tests" / "golden" / "lint" / f"{rule.info.code}.txt"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(output)
    assert output == golden.read_text(), f"{golden.name} differs; --update-golden"


def test_a_dockerfile_s_own_ignore_file_is_the_one_that_applies(tmp_path: Path) -> None:
    """BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile before the context's
    .dockerignore (a workspace member's Dockerfile built with the root as context)."""
    root = _project(tmp_path)
    (root / ".dockerignore").unlink()
    (root / ".venv").mkdir()
    member = root / "backend"
    member.mkdir()
    dockerfile = member / "Dockerfile"
    dockerfile.write_text(PREFIX + "COPY . /app\n")
    results = lint_paths([dockerfile], context_dir=root)
    assert "UV111" in {f.code for r in results for f in r.findings}
    (member / "Dockerfile.dockerignore").write_text("**/.venv\n.git\n.env\n")
    results = lint_paths([dockerfile], context_dir=root)
    assert "UV111" not in {f.code for r in results for f in r.findings}


@pytest.mark.parametrize("flags", ["--no-group dev", "--no-group=dev"])
def test_no_group_dev_leaves_the_dev_group_out(flags: str) -> None:
    text = PREFIX + f"RUN uv sync --locked {flags}\n"
    assert "UV107" not in codes(text)
    assert "UV107" in codes(PREFIX + "RUN uv sync --locked --no-group lint\n")
