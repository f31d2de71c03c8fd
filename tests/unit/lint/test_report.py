"""``uvdock lint`` report formats: text (golden), json shape, SARIF schema, GitHub escaping."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.validators import validator_for

import uvdock
from uvdock.dockerfile.syntax import Span
from uvdock.errors import UsageError
from uvdock.lint import report
from uvdock.lint.findings import Edit, Finding, RuleInfo, Severity
from uvdock.lint.report import (
    json_records,
    render,
    render_github,
    render_json,
    render_sarif,
    render_text,
    sarif_log,
)

# From oasis-tcs/sarif-spec@3682e9e: Documents/CommitteeSpecifications/2.1.0/sarif-schema-2.1.0.json
SARIF_SCHEMA = Path(__file__).parents[2] / "data" / "sarif-schema-2.1.0.json"


def rule(
    code: str,
    slug: str,
    *,
    severity: Severity = "warning",
    aliases: tuple[str, ...] = (),
    fixable: bool = False,
) -> RuleInfo:
    return RuleInfo(
        code=code,
        slug=slug,
        severity=severity,
        summary=f"summary of {slug}",
        why=f"Why {slug} matters.",
        bad="RUN uv sync",
        good="RUN uv sync --locked",
        source="https://docs.astral.sh/uv/guides/integration/docker/",
        aliases=aliases,
        fixable=fixable,
    )


SYNC = rule("UV102", "sync-without-lock", severity="error", aliases=("DL3042",), fixable=True)
APT = rule("UV201", "apt-lists-left", aliases=("DL3009", "DL3009"))
HEALTH = rule("UV301", "no-healthcheck", severity="info")


def span(start_line: int, start_col: int, end_line: int, end_col: int) -> Span:
    return Span(start_line=start_line, start_col=start_col, end_line=end_line, end_col=end_col)


def finding(
    info: RuleInfo,
    where: Span,
    *,
    path: str = "Dockerfile",
    message: str = "a problem",
    severity: Severity | None = None,
    fix: tuple[Edit, ...] = (),
) -> Finding:
    return Finding(
        rule=info,
        severity=severity or info.severity,
        message=message,
        path=path,
        span=where,
        fix=fix,
    )


DOCKERFILE = (
    "FROM python:3.12-slim\n\tRUN uv sync\nRUN apt-get update && \\\n    apt-get install -y curl\n"
)
TEXTS = {"Dockerfile": DOCKERFILE, "other/Dockerfile": "FROM scratch\n"}
FIX = (Edit(span=span(2, 13, 2, 13), text=" --locked"),)
LOCKLESS = finding(
    SYNC,
    span(2, 6, 2, 13),
    message="`uv sync` without `--locked` may rewrite uv.lock",
    fix=FIX,
)
APT_LISTS = finding(APT, span(3, 5, 4, 28), message="apt lists are left in the layer")
NO_HEALTHCHECK = finding(
    HEALTH, span(1, 6, 1, 13), path="other/Dockerfile", message="no HEALTHCHECK"
)
FINDINGS = [NO_HEALTHCHECK, APT_LISTS, LOCKLESS]  # out of order on purpose


# --- text ---------------------------------------------------------------------------------------


def test_text_golden() -> None:
    # The tab expands to a 4-column stop, so the carets sit under "uv sync", not 3 columns left;
    # the span over lines 3-4 is marked to the end of line 3.
    assert render_text(FINDINGS, texts=TEXTS) == (
        "Dockerfile:2:6: UV102 [error] `uv sync` without `--locked` may rewrite uv.lock"
        " (sync-without-lock)\n"
        "  |\n"
        "2 |     RUN uv sync\n"
        "  |         ^^^^^^^\n"
        "  = fix available: run uvdock lint --fix\n"
        "\n"
        "Dockerfile:3:5: UV201 [warning] apt lists are left in the layer (apt-lists-left)\n"
        "  |\n"
        "3 | RUN apt-get update && \\\n"
        "  |     ^^^^^^^^^^^^^^^^^^^\n"
        "\n"
        "other/Dockerfile:1:6: UV301 [info] no HEALTHCHECK (no-healthcheck)\n"
        "  |\n"
        "1 | FROM scratch\n"
        "  |      ^^^^^^^\n"
        "\n"
        "1 error, 1 warning, 1 info in 2 files\n"
    )


def test_text_wide_characters_and_a_wide_gutter() -> None:
    text = "\n" * 9 + 'LABEL 説明="x"\n'
    found = finding(APT, span(10, 11, 10, 12), message="m")
    assert render_text([found], texts={"Dockerfile": text}) == (
        "Dockerfile:10:11: UV201 [warning] m (apt-lists-left)\n"
        "   |\n"
        '10 | LABEL 説明="x"\n'
        "   |             ^\n"  # two columns per wide character: "x" is at column 13
        "\n"
        "0 errors, 1 warning, 0 infos in 1 file\n"
    )


def test_text_edges_empty_span_control_character_crlf_and_no_source() -> None:
    texts = {"Dockerfile": "FROM scratch\r\nRUN\x1b[2J echo\r\n"}
    at_end = finding(APT, span(1, 13, 1, 13), message="at the end")
    control = finding(APT, span(2, 5, 2, 9), message="escape \x1b[2J quoted")
    elsewhere = finding(SYNC, span(7, 1, 7, 4), path="gone/Dockerfile", message="no text")
    assert render_text([at_end, control, elsewhere], texts=texts) == (
        "Dockerfile:1:13: UV201 [warning] at the end (apt-lists-left)\n"
        "  |\n"
        "1 | FROM scratch\n"
        "  |             ^\n"
        "\n"
        "Dockerfile:2:5: UV201 [warning] escape \u241b[2J quoted (apt-lists-left)\n"
        "  |\n"
        "2 | RUN\u241b[2J echo\n"  # the terminal escape is shown, not executed
        "  |     ^^^^\n"
        "\n"
        "gone/Dockerfile:7:1: UV102 [error] no text (sync-without-lock)\n"
        "\n"
        "1 error, 2 warnings, 0 infos in 2 files\n"
    )


def test_text_without_findings() -> None:
    assert render_text([], texts=TEXTS) == "no problems in 2 files\n"
    assert render_text([], texts={"Dockerfile": ""}) == "no problems in 1 file\n"


def test_text_colour_only_when_asked() -> None:
    plain = render_text(FINDINGS, texts=TEXTS, color=False)
    coloured = render_text(FINDINGS, texts=TEXTS, color=True)
    assert "\x1b[" not in plain
    assert "\x1b[1;31mUV102\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


@given(
    prefix=st.text(alphabet="ab \t", max_size=12),
    body=st.text(alphabet="xyz", min_size=1, max_size=8),
)
def test_text_carets_sit_under_the_span(prefix: str, body: str) -> None:
    line = f"{prefix}{body}"
    found = finding(APT, span(1, len(prefix) + 1, 1, len(line) + 1))
    block = render_text([found], texts={"Dockerfile": line}).splitlines()
    shown, carets = block[2].removeprefix("1 | "), block[3].removeprefix("  | ")
    assert shown == line.expandtabs(4)
    assert carets.lstrip(" ") == "^" * len(body)
    assert shown[len(carets) - len(body) :] == body


# --- json ---------------------------------------------------------------------------------------


def test_json_shape() -> None:
    assert json.loads(render_json(FINDINGS)) == [
        {
            "path": "Dockerfile",
            "line": 2,
            "column": 6,
            "end_line": 2,
            "end_column": 13,
            "code": "UV102",
            "slug": "sync-without-lock",
            "severity": "error",
            "message": "`uv sync` without `--locked` may rewrite uv.lock",
            "fixable": True,
            "aliases": ["DL3042"],
        },
        {
            "path": "Dockerfile",
            "line": 3,
            "column": 5,
            "end_line": 4,
            "end_column": 28,
            "code": "UV201",
            "slug": "apt-lists-left",
            "severity": "warning",
            "message": "apt lists are left in the layer",
            "fixable": False,
            "aliases": ["DL3009", "DL3009"],
        },
        {
            "path": "other/Dockerfile",
            "line": 1,
            "column": 6,
            "end_line": 1,
            "end_column": 13,
            "code": "UV301",
            "slug": "no-healthcheck",
            "severity": "info",
            "message": "no HEALTHCHECK",
            "fixable": False,
            "aliases": [],
        },
    ]
    assert render_json([]) == "[]\n"


def test_json_severity_is_the_configured_one_and_ties_sort_by_code() -> None:
    same_place = [
        finding(SYNC, span(1, 1, 1, 2), severity="info"),
        finding(APT, span(1, 1, 1, 2)),
        finding(HEALTH, span(1, 1, 1, 2)),
    ]
    records = json_records(reversed(same_place))
    assert [(r["code"], r["severity"]) for r in records] == [
        ("UV102", "info"),
        ("UV201", "warning"),
        ("UV301", "info"),
    ]


# --- sarif --------------------------------------------------------------------------------------

_URI_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#]|%[0-9A-Fa-f]{2})*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def _is_uri_reference(value: object) -> bool:
    """RFC 3986 URI-reference (no IP-literal hosts; this test never writes one)."""
    if not isinstance(value, str):
        return True
    if not _URI_REFERENCE.fullmatch(value) or value.count("#") > 1:
        return False
    first_segment = re.split(r"[/?#]", value, maxsplit=1)[0]
    return ":" not in first_segment or bool(_SCHEME.match(first_segment))


def _is_uri(value: object) -> bool:
    """RFC 3986 URI: a URI-reference with a scheme."""
    if not isinstance(value, str):
        return True
    return _is_uri_reference(value) and bool(_SCHEME.match(value))


# jsonschema checks "uri" and "uri-reference" only when rfc3987 is installed, and it is not a
# dependency: without these two checkers a malformed artifactLocation.uri would pass silently.
FORMATS = FormatChecker()
FORMATS.checks("uri")(_is_uri)
FORMATS.checks("uri-reference")(_is_uri_reference)


def sarif_errors(log: Any) -> list[str]:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert validator_for(schema) is Draft7Validator
    validator = Draft7Validator(schema, format_checker=FORMATS)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


def test_sarif_validates_and_carries_rules_results_and_fixes(tmp_path: Path) -> None:
    in_base = str(tmp_path / "Dockerfile")
    second = str(tmp_path / "svc dir,1" / "Dockerfile")
    findings = [
        finding(HEALTH, span(1, 1, 1, 5), path="/elsewhere/Dockerfile", message="no HEALTHCHECK"),
        finding(APT, span(3, 5, 4, 28), path=in_base, message="apt lists"),
        finding(SYNC, span(2, 6, 2, 13), path=in_base, message="unlocked", fix=FIX),
        finding(SYNC, span(1, 1, 1, 4), path=second, message="unlocked too"),
    ]
    text = render_sarif(findings, base=tmp_path)
    log = json.loads(text)
    assert sarif_errors(log) == []
    assert log == sarif_log(findings, base=tmp_path)

    assert log["$schema"] == report.SARIF_SCHEMA_URI
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "uvdock"
    assert driver["version"] == uvdock.__version__
    assert "informationUri" not in driver
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": f"{tmp_path.as_uri()}/"}}
    assert run["columnKind"] == "unicodeCodePoints"

    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["UV102", "UV201", "UV301"]  # each once, sorted
    sync_rule = rules[0]
    assert sync_rule["name"] == "sync-without-lock"
    assert sync_rule["shortDescription"] == {"text": "summary of sync-without-lock"}
    assert sync_rule["fullDescription"] == {"text": "Why sync-without-lock matters."}
    assert sync_rule["defaultConfiguration"] == {"level": "error"}
    assert sync_rule["properties"] == {"tags": ["DL3042"]}
    assert sync_rule["help"]["text"] == (
        "Why sync-without-lock matters.\n\n"
        "Example:\n    RUN uv sync\n\n"
        "Use instead:\n    RUN uv sync --locked\n\n"
        "Source: https://docs.astral.sh/uv/guides/integration/docker/"
    )
    assert "```dockerfile\nRUN uv sync --locked\n```" in sync_rule["help"]["markdown"]
    assert rules[1]["properties"] == {"tags": ["DL3009"]}  # tags are a set
    assert [r["defaultConfiguration"]["level"] for r in rules] == ["error", "warning", "note"]

    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("UV301", "note"),
        ("UV102", "error"),
        ("UV201", "warning"),
        ("UV102", "error"),
    ]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    outside, fixed, plain, encoded = results
    assert outside["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///elsewhere/Dockerfile"
    }
    location = {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"}
    assert fixed["message"] == {"text": "unlocked"}
    assert fixed["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": location,
                "region": {"startLine": 2, "startColumn": 6, "endLine": 2, "endColumn": 13},
            }
        }
    ]
    (fix,) = fixed["fixes"]
    assert fix["artifactChanges"] == [
        {
            "artifactLocation": location,
            "replacements": [
                {
                    "deletedRegion": {
                        "startLine": 2,
                        "startColumn": 13,
                        "endLine": 2,
                        "endColumn": 13,
                    },
                    "insertedContent": {"text": " --locked"},
                }
            ],
        }
    ]
    assert "fixes" not in plain
    assert "fixes" not in outside
    assert plain["locations"][0]["physicalLocation"]["region"]["endLine"] == 4
    assert encoded["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "svc%20dir%2C1/Dockerfile",
        "uriBaseId": "%SRCROOT%",
    }


def test_sarif_without_base_uses_file_uris_and_an_empty_run_validates() -> None:
    log = sarif_log([finding(APT, span(1, 1, 1, 2), path="/src/Dockerfile")])
    assert sarif_errors(log) == []
    (run,) = log["runs"]
    assert "originalUriBaseIds" not in run
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "file:///src/Dockerfile"}

    empty = sarif_log([])
    assert sarif_errors(empty) == []
    assert empty["runs"][0]["results"] == []
    assert empty["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_relative_paths_are_taken_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    log = sarif_log([finding(APT, span(1, 1, 1, 2), path="sub/../Dockerfile")], base=tmp_path)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "Dockerfile", "uriBaseId": "%SRCROOT%"}


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        (("runs", 0, "results", 0, "locations", 0, "physicalLocation", "artifactLocation"), "a b"),
        ((), "not a uri"),
        ((), "relative/path.json"),
    ],
)
def test_sarif_uri_formats_are_checked(where: tuple[str | int, ...], bad: str) -> None:
    # Guards the checkers above: the schema's "uri"/"uri-reference" formats must bite.
    log = sarif_log([finding(APT, span(1, 1, 1, 2), path="/src/Dockerfile")])
    target: Any = log
    for key in where:
        target = target[key]
    target["uri" if where else "$schema"] = bad
    assert sarif_errors(log) != []


# --- github -------------------------------------------------------------------------------------


def test_github_escapes_like_the_actions_toolkit() -> None:
    found = finding(
        SYNC,
        span(2, 6, 2, 13),
        path="dir,with:odd/Dockerfile",
        message="100% of layers\nchange: rebuild\r\nnow",
    )
    assert render_github([found]) == (
        "::error file=dir%2Cwith%3Aodd/Dockerfile,line=2,col=6,endLine=2,endColumn=13,"
        "title=UV102 sync-without-lock::100%25 of layers%0Achange: rebuild%0D%0Anow\n"
    )


def test_github_levels_multi_line_spans_and_base(tmp_path: Path) -> None:
    findings = [
        finding(APT, span(3, 5, 4, 28), path=str(tmp_path / "sub" / "Dockerfile"), message="w"),
        finding(HEALTH, span(1, 1, 1, 5), path="/elsewhere/Dockerfile", message="i"),
    ]
    # Annotations accept columns only when the span is on one line, so a longer span drops them.
    assert render_github(findings, base=tmp_path) == (
        "::notice file=/elsewhere/Dockerfile,line=1,col=1,endLine=1,endColumn=5,"
        "title=UV301 no-healthcheck::i\n"
        "::warning file=sub/Dockerfile,line=3,endLine=4,title=UV201 apt-lists-left::w\n"
    )
    assert render_github([]) == ""


def _unescape_property(value: str) -> str:
    for escaped, raw in (("%2C", ","), ("%3A", ":"), ("%0A", "\n"), ("%0D", "\r"), ("%25", "%")):
        value = value.replace(escaped, raw)
    return value


@given(path=st.text(alphabet="a,:%\r\n/ é", min_size=1), message=st.text())
def test_github_commands_stay_on_one_line_and_round_trip(path: str, message: str) -> None:
    line = render_github([finding(APT, span(1, 1, 1, 2), path=path, message=message)])
    assert line.count("\n") == 1
    assert "\r" not in line
    head, _, data = line.removesuffix("\n").partition("::")[2].partition("::")
    properties = dict(item.split("=", 1) for item in head.removeprefix("warning ").split(","))
    assert _unescape_property(properties["file"]) == path
    assert _unescape_property(data) == message


# --- dispatch -----------------------------------------------------------------------------------


def test_render_dispatches_on_format(tmp_path: Path) -> None:
    def run(fmt: str, *, color: bool = False) -> str:
        return render(FINDINGS, format=fmt, texts=TEXTS, base=tmp_path, color=color)

    assert run("text") == render_text(FINDINGS, texts=TEXTS)
    assert run("text", color=True) == render_text(FINDINGS, texts=TEXTS, color=True)
    assert run("json") == render_json(FINDINGS)
    assert run("sarif") == render_sarif(FINDINGS, base=tmp_path)
    assert run("github") == render_github(FINDINGS, base=tmp_path)
    assert report.REPORT_FORMATS == ("text", "json", "sarif", "github")
    with pytest.raises(UsageError, match="unknown report format 'xml'"):
        run("xml")


def test_public_names() -> None:
    assert sorted(report.__all__) == [
        "FindingRecord",
        "REPORT_FORMATS",
        "ReportFormat",
        "SARIF_SCHEMA_URI",
        "json_records",
        "render",
        "render_github",
        "render_json",
        "render_sarif",
        "render_text",
        "sarif_log",
        "sort_findings",
    ]
    assert all(hasattr(report, name) for name in report.__all__)
