"""Hostile and broken project files (issue 12): one line, exit 2, never a traceback or a hang.

A project directory is input uvdock does not control. Each case here was a
Python traceback, a hang or a value that reached a generated file unchecked;
now each is one ``ConfigError`` that names the file, the line and the key.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.paths import PROJECTS_DIR
from uvdock.api import load_project
from uvdock.errors import ConfigError
from uvdock.project import ProjectInfo
from uvdock.project.documents import LOCK, PYPROJECT, read_pyproject
from uvdock.project.lockfile import lock_info
from uvdock.project.readfile import SMALL_LIMIT, UnreadableFileError, read_text
from uvdock.project.schema import Array, Bool, Either, Int, Key, Shape, Str, Table

FLASK = PROJECTS_DIR / "flask-app"

PYPROJECT_HEAD = """\
[project]
name = "flask-app"
version = "0.1.0"
requires-python = ">=3.12,<3.14"
dependencies = ["flask", "gunicorn"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "flask-app"
    shutil.copytree(FLASK, root)
    return root


@contextlib.contextmanager
def deadline(seconds: int = 20) -> Iterator[None]:
    """Fail instead of hanging: the FIFO and /dev/zero cases blocked forever before."""

    def expired(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"still reading after {seconds}s: a hang")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def load(root: Path) -> ProjectInfo:
    return load_project(root, options={}, environ={})[0]


def one_line_error(root: Path) -> str:
    """The ConfigError detection raises on ``root``, as the CLI prints it (one line)."""
    with deadline(), pytest.raises(ConfigError) as raised:
        load(root)
    line = raised.value.one_line()
    assert "\n" not in line, line
    assert raised.value.exit_code == 2
    return line


# --- 1. wrong types in pyproject.toml and uv.lock --------------------------

HEAD = PYPROJECT_HEAD
DEPENDENCIES = '["flask", "gunicorn"]'
INDEXES = """
[[tool.uv.index]]
name = 'a'
url = 'https://a.example/simple'
[[tool.uv.index]]
name = 'b'
url = 5
"""
PYPROJECT_CASES = [
    ('tool = "x"\n' + HEAD, ":1: `tool` must be a table, not a string"),
    (HEAD + "[tool]\nuv = 5\n", ":7: `tool.uv` must be a table, not an integer"),
    (HEAD.replace(DEPENDENCIES, "5"), ":5: `project.dependencies` must be an array of strings"),
    (HEAD.replace(DEPENDENCIES, "[5]"), ":5: `project.dependencies[0]` must be a string, not an"),
    (HEAD.replace('"flask-app"', "5"), ":2: `project.name` must be a string, not an integer"),
    (HEAD + "readme = 5\n", ":6: `project.readme` must be a string or a table, not an integer"),
    (HEAD + 'optional-dependencies = "x"\n', ":6: `project.optional-dependencies` must be a"),
    (HEAD + '[tool.uv]\nsources = "x"\n', ":7: `tool.uv.sources` must be a table, not a string"),
    (HEAD + "[tool.uv.workspace]\nmembers = 5\n", ":7: `tool.uv.workspace.members` must be an"),
    (HEAD + '[build-system]\nrequires = "x"\n', ":7: `build-system.requires` must be an array"),
    (HEAD.replace("[project]\n", "[project]\nscripts = 5\n"), ":2: `project.scripts` must be a"),
    (HEAD + INDEXES, ":12: `tool.uv.index[1].url` must be a string, not an integer"),
    ("dependency-groups = 5\n" + HEAD, ":1: `dependency-groups` must be a table, not an integer"),
    (HEAD + "dynamic = 5\n", ":6: `project.dynamic` must be an array of strings"),
    ("project = 5\n", ":1: `project` must be a table, not an integer"),
    (HEAD + '[tool.uv]\npackage = "yes"\n', ":7: `tool.uv.package` must be a boolean"),
]


@pytest.mark.parametrize(("text", "expected"), PYPROJECT_CASES)
def test_a_wrong_type_in_pyproject_is_one_line_at_its_key(
    project: Path, text: str, expected: str
) -> None:
    (project / "pyproject.toml").write_text(text)
    line = one_line_error(project)
    assert f"pyproject.toml{expected}" in line
    assert "; fix the value" in line


def _lock_package_number(lock: str) -> str:
    return lock.split("[[package]]", maxsplit=1)[0].replace(
        "revision = 5\n", "revision = 5\npackage = 5\n"
    )


def _lock_metadata_strings(lock: str) -> str:
    metadata = '[[package]]\nname = "zz"\n[package.metadata]\nrequires-dist = ["x"]\n\n'
    return lock.replace("[[package]]", metadata + "[[package]]", 1)


LOCK_CASES: list[tuple[Callable[[str], str], str]] = [
    (_lock_package_number, ":3: `package` must be an array of tables, not an integer"),
    (lambda lock: lock.replace('name = "blinker"\n', "", 1), ":5: `package[0]` has no `name`"),
    (_lock_metadata_strings, ":8: `package[0].metadata.requires-dist[0]` must be a table, not a"),
    (
        lambda lock: lock.replace("wheels = [", 'wheels = "x"\nunused = [', 1),
        ":10: `package[0].wheels` must be an array of tables, not a string",
    ),
    (
        lambda lock: lock.replace("revision = 5", 'revision = "x"', 1),
        ":2: `revision` must be an integer, not a string",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), LOCK_CASES)
def test_a_wrong_type_in_uv_lock_is_one_line_at_its_key(
    project: Path, edit: Callable[[str], str], expected: str
) -> None:
    lock = project / "uv.lock"
    lock.write_text(edit(lock.read_text()))
    line = one_line_error(project)
    assert f"uv.lock{expected}" in line
    assert "regenerate it with `uv lock`" in line


def test_a_lock_version_uv_would_refuse_says_which_uv_to_run(project: Path) -> None:
    lock = project / "uv.lock"
    lock.write_text(lock.read_text().replace("version = 1\n", "version = 999\n", 1))
    line = one_line_error(project)
    assert "uv.lock:1: `version` is 999: this uv.lock was written by a uv" in line
    assert "uvdock reads version 1" in line
    assert "run `uv lock` with the uv the project uses" in line


@pytest.mark.parametrize("name", [".python-version", "requirements.txt", "Procfile"])
@pytest.mark.parametrize("broken", ["not UTF-8", "a directory"])
def test_a_small_file_that_cannot_be_read_is_one_line(
    project: Path, name: str, broken: str
) -> None:
    # Running as root, chmod 000 reads anyway: a directory stands in for an unreadable file.
    if name == "requirements.txt":
        (project / "uv.lock").unlink()
        (project / "pyproject.toml").unlink()
    if broken == "a directory":
        (project / name).mkdir()
    else:
        (project / name).write_bytes(b"web: \xff\xfe gunicorn app:app\n")
    line = one_line_error(project)
    reason = "is a directory, not a regular file" if broken == "a directory" else "is not UTF-8"
    assert f"{name}: {reason}" in line


# --- 2. values that reach generated files obey their grammar ---------------

GRAMMAR_CASES = {
    "a name with a newline": (
        HEAD.replace('"flask-app"', '"app\\nRUN rm -rf /"'),
        "`project.name` = 'app\\nRUN rm -rf /': contains a control character",
    ),
    "a name outside PEP 508": (
        HEAD.replace('"flask-app"', '"-app "'),
        "`project.name` = '-app ': is not a valid name",
    ),
    "a requirement that is not PEP 508": (
        HEAD.replace('"gunicorn"', '"gunicorn ; rm"'),
        "`project.dependencies[1]` = 'gunicorn ; rm': is not a PEP 508 requirement",
    ),
    "a build requirement with a NUL": (
        HEAD + '[build-system]\nrequires = ["hatchling\\u0000"]\n',
        "`build-system.requires[0]` = 'hatchling\\x00': contains a control character",
    ),
    "a readme outside the project": (
        HEAD + 'readme = "../../etc/passwd"\n',
        "`project.readme` = '../../etc/passwd': leaves the project",
    ),
    "an absolute readme": (
        HEAD + 'readme = {file = "/etc/passwd"}\n',
        "`project.readme.file` = '/etc/passwd': is an absolute path",
    ),
    "a licence file with a newline": (
        HEAD + 'license-files = ["LICENSE\\nCOPY / /"]\n',
        "`project.license-files[0]` = 'LICENSE\\nCOPY / /': contains a control character",
    ),
    "a script name with a slash": (
        HEAD + '[project.scripts]\n"../bin/x" = "app:main"\n',
        "`project.scripts.'../bin/x'` (the key): is not a script name",
    ),
    "a script target that is not an object reference": (
        HEAD + '[project.scripts]\nserve = "app:main; rm -rf /"\n',
        "`project.scripts.serve` = 'app:main; rm -rf /': is not an object reference",
    ),
}


@pytest.mark.parametrize(("text", "expected"), GRAMMAR_CASES.values(), ids=list(GRAMMAR_CASES))
def test_values_that_reach_generated_files_are_checked_where_they_enter(
    project: Path, text: str, expected: str
) -> None:
    (project / "pyproject.toml").write_text(text)
    line = one_line_error(project)
    assert "pyproject.toml:" in line
    assert expected in line


def test_a_requirements_file_name_with_a_newline_is_refused(project: Path) -> None:
    (project / "uv.lock").unlink()
    (project / "pyproject.toml").unlink()
    (project / "requirements\nRUN x.txt").write_text("flask\ngunicorn\n")
    line = one_line_error(project)
    assert "the file name 'requirements\\nRUN x.txt' contains a control character" in line
    assert "rename the requirements file" in line


def test_a_procfile_command_with_a_control_character_is_refused(project: Path) -> None:
    (project / "Procfile").write_text("release: true\nweb: gunicorn app:app\x1b[2J\n")
    line = one_line_error(project)
    assert "Procfile:2: the web command contains a control character ('\\x1b')" in line


# --- 3. FIFOs, devices, links to /dev/zero: no hang, no memory blow-up -----

FILES_READ = ["pyproject.toml", "uv.lock", ".python-version", "Procfile", "gunicorn.conf.py"]


@pytest.mark.parametrize("name", FILES_READ)
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_special_file_in_the_project_neither_hangs_nor_fills_the_memory(
    project: Path, name: str, kind: str
) -> None:
    path = project / name
    path.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    with deadline():
        try:
            load(project)
        except ConfigError as error:
            line = error.one_line()
            assert f"{name}: is a " in line
            assert "not a regular file" in line
            return
    # Only a gunicorn config is a hint detection can do without (the default bind applies).
    assert name == "gunicorn.conf.py"


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_special_requirements_file_is_one_line(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "requirements-only"
    shutil.copytree(PROJECTS_DIR / "requirements-only", root)
    path = root / "requirements.txt"
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    line = one_line_error(root)
    assert "requirements.txt: is a " in line
    assert "not a regular file; uvdock reads only regular files" in line


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_special_source_file_is_skipped_and_named(project: Path, kind: str) -> None:
    (project / "app.py").write_text("def helper() -> int:\n    return 1\n")
    path = project / "x.py"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    with deadline():
        found = load(project)
    assert "these files were skipped: x.py (is a " in str(found.entrypoint_problem)


def test_a_big_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / ".python-version"
    with path.open("wb") as stream:  # sparse: st_size says 2 GB, nothing is written
        stream.truncate(2 * 1024 * SMALL_LIMIT)
    with pytest.raises(UnreadableFileError) as raised:
        read_text(path, limit=SMALL_LIMIT)
    assert raised.value.one_line().endswith(
        ".python-version: is larger than 1 MB; uvdock does not read files that big: "
        "check it is the file you meant"
    )


# --- 4. workspace members outside the workspace root -----------------------


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ('["../other"]', "= '../other': leaves the project (`..`)"),
        ('["/etc"]', "= '/etc': is an absolute path"),
        ('["packages/../../other"]', "leaves the project"),
        ('[""]', "= '': is empty"),
        ('["outside-link"]', "= 'outside-link': matches outside-link, which links outside"),
    ],
)
def test_a_workspace_member_outside_the_root_is_refused_like_uv(
    project: Path, members: str, expected: str
) -> None:
    (project.parent / "other").mkdir()
    (project.parent / "other" / "pyproject.toml").write_text('[project]\nname = "other"\n')
    (project / "outside-link").symlink_to(project.parent / "other")
    (project / "pyproject.toml").write_text(
        PYPROJECT_HEAD + f"\n[tool.uv.workspace]\nmembers = {members}\n"
    )
    line = one_line_error(project)
    assert "pyproject.toml:8: `tool.uv.workspace.members` " in line
    assert expected in line
    assert "inside the workspace root, as uv requires" in line


# --- fuzzing: any value at any key uvdock reads ----------------------------


def schema_paths(shape: Shape, prefix: tuple[Key, ...] = ()) -> Iterator[tuple[Key, ...]]:
    """Every key path the schema describes (index 0 for arrays, "x" for a map's keys)."""
    if isinstance(shape, Either):
        for option in shape.options:
            yield from schema_paths(option, prefix)
        return
    if isinstance(shape, Array):
        yield from schema_paths(shape.item, (*prefix, 0))
        return
    if not isinstance(shape, Table):
        return
    for name, field in shape.fields.items():
        yield (*prefix, name)
        yield from schema_paths(field, (*prefix, name))
    if shape.values is not None:
        yield (*prefix, "x")
        yield from schema_paths(shape.values, (*prefix, "x"))


def put(document: dict[str, Any], path: tuple[Key, ...], value: object) -> None:
    """Set ``value`` at ``path``, making (or replacing) the tables and arrays on the way."""
    node: Any = document
    for key, after in itertools.pairwise(path):
        empty: Any = [] if isinstance(after, int) else {}
        if isinstance(key, int):
            if not node:
                node.append(empty)
            if not isinstance(node[0], type(empty)):
                node[0] = empty
            node = node[0]
        else:
            if not isinstance(node.get(key), type(empty)):
                node[key] = empty
            node = node[key]
    last = path[-1]
    if isinstance(last, int):
        node[:1] = [value]
    else:
        node[last] = value


def toml_value(value: object) -> str:
    """A TOML literal for ``value`` (inline tables and arrays; JSON's string escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_string(text: str) -> str:
    """A TOML basic string: JSON's escapes would split astral characters into surrogates."""
    escaped = "".join(
        f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else "\\" + c if c in '"\\' else c
        for c in text
    )
    return f'"{escaped}"'


def toml_document(document: dict[str, Any]) -> str:
    return "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in document.items())


# Strings that are types right and grammars wrong, or plausible, next to anything at all.
TRICKY = st.sampled_from(
    ["", ".", "..", "../x", "/etc", "a\nb", "x\x00", "flask", "app:main", "*", "**", "[", "1"]
)
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    TRICKY,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=6), TRICKY), inner, max_size=3),
    ),
    max_leaves=8,
)


def base_pyproject() -> dict[str, Any]:
    return {
        "project": {
            "name": "flask-app", "version": "0.1.0", "requires-python": ">=3.12,<3.14",
            "dependencies": ["flask", "gunicorn"],
        },
    }  # fmt: skip


def base_lock() -> dict[str, Any]:
    return {
        "version": 1,
        "revision": 3,
        "requires-python": ">=3.12",
        "package": [
            {
                "name": "flask-app", "version": "0.1.0", "source": {"virtual": "."},
                "dependencies": [{"name": "flask"}],
                "metadata": {"requires-dist": [{"name": "flask"}, {"name": "gunicorn"}]},
            },
            {"name": "flask", "version": "3.1.0", "source": {"registry": "https://pypi.org/simple"}},
        ],
    }  # fmt: skip


def shape_at(shape: Shape, path: tuple[Key, ...]) -> Shape | None:
    """The shape the schema gives the value at ``path`` (the first of an Either that has it)."""
    if not path:
        return shape
    if isinstance(shape, Either):
        found = (shape_at(option, path) for option in shape.options)
        return next((f for f in found if f is not None), None)
    key, rest = path[0], path[1:]
    if isinstance(shape, Array) and isinstance(key, int):
        return shape_at(shape.item, rest)
    if isinstance(shape, Table) and isinstance(key, str):
        field = shape.fields.get(key, shape.values)
        return shape_at(field, rest) if field is not None else None
    return None


def well_typed(shape: Shape) -> st.SearchStrategy[Any]:
    """Values of the right TOML type with odd contents: they get past the type check."""
    if isinstance(shape, Str):
        return st.one_of(TRICKY, st.text(max_size=12))
    if isinstance(shape, Int):
        return st.integers(min_value=-5, max_value=1000)
    if isinstance(shape, Bool):
        return st.booleans()
    if isinstance(shape, Either):
        return st.one_of(*(well_typed(option) for option in shape.options))
    if isinstance(shape, Array):
        return st.lists(well_typed(shape.item), max_size=2)
    fields = {name: well_typed(field) for name, field in shape.fields.items()}
    return st.fixed_dictionaries({}, optional=fields)


def fuzzed(base: Callable[[], dict[str, Any]], schema: Table) -> st.SearchStrategy[dict[str, Any]]:
    """``base()`` with one to four keys the schema describes set to any value, or an odd one
    of the right type."""
    paths = sorted(set(schema_paths(schema)), key=repr)

    def change(path: tuple[Key, ...]) -> st.SearchStrategy[tuple[tuple[Key, ...], Any]]:
        shape = shape_at(schema, path)
        value = VALUES if shape is None else st.one_of(VALUES, well_typed(shape))
        return st.tuples(st.just(path), value)

    def build(changes: list[tuple[tuple[Key, ...], object]]) -> dict[str, Any]:
        document = base()
        for path, value in changes:
            put(document, path, value)
        return document

    return st.lists(st.sampled_from(paths).flatmap(change), min_size=1, max_size=4).map(build)


def assert_one_config_error_or_nothing(read: Callable[[], object]) -> None:
    """``read()`` succeeds or raises a one-line ConfigError; anything else fails the test."""
    try:
        read()
    except ConfigError as error:
        line = error.one_line()
    else:
        return
    assert "\n" not in line


FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(document=fuzzed(base_pyproject, PYPROJECT))
def test_fuzz_the_pyproject_reader(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(toml_document(document))
    assert_one_config_error_or_nothing(lambda: read_pyproject(path))


@FUZZ
@given(document=fuzzed(base_lock, LOCK))
def test_fuzz_the_lock_reader(tmp_path: Path, document: dict[str, Any]) -> None:
    (tmp_path / "pyproject.toml").write_text(toml_document(base_pyproject()))
    path = tmp_path / "uv.lock"
    path.write_text(toml_document(document))
    assert_one_config_error_or_nothing(lambda: lock_info(path))


@pytest.fixture(scope="module")
def fuzz_project() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "flask-app"
        shutil.copytree(FLASK, root)
        yield root


@settings(max_examples=60, deadline=None)
@given(
    pyproject=fuzzed(base_pyproject, PYPROJECT),
    lock=st.one_of(st.none(), fuzzed(base_lock, LOCK)),
)
def test_fuzz_detection(
    fuzz_project: Path, pyproject: dict[str, Any], lock: dict[str, Any] | None
) -> None:
    (fuzz_project / "pyproject.toml").write_text(toml_document(pyproject))
    lock_path = fuzz_project / "uv.lock"
    lock_path.unlink(missing_ok=True)
    if lock is not None:
        lock_path.write_text(toml_document(lock))
    with deadline():
        assert_one_config_error_or_nothing(lambda: load(fuzz_project))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PYPROJECT_CASES[0][0], "`tool` must be a table"),
        (PYPROJECT_CASES[3][0], "`project.dependencies[0]`"),
        (GRAMMAR_CASES["a readme outside the project"][0], "leaves the project"),
    ],
)
@pytest.mark.parametrize("command", ["plan", "init"])
def test_the_cli_exits_2_with_one_stderr_line(
    project: Path, text: str, expected: str, command: str
) -> None:
    (project / "pyproject.toml").write_text(text)
    argv = [command, str(project), *(["--dry-run"] if command == "init" else [])]
    done = subprocess.run(
        [sys.executable, "-m", "uvdock", *argv],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{project}/pyproject.toml:" in lines[0]
    assert expected in lines[0]
