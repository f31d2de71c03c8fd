"""``uvdock doctor`` without an engine: parsing, judging, credentials, binfmt, the CLI's output."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.fake_runner import Answers, FakeRunner
from uvdock._proc import ProcessResult
from uvdock.cli.commands import doctor as doctor_cli
from uvdock.docker.cli import DockerCLI
from uvdock.doctor import checks
from uvdock.doctor.image import (
    MARKER,
    SCRIPT,
    EntryTarget,
    ImageCheckError,
    entry_target,
    image_checks,
    inspect_image,
    parse_answer,
)
from uvdock.errors import ToolNotFoundError

SECRET = "c2VjcmV0LXVzZXI6aHVudGVyMi1kby1ub3QtcHJpbnQ="  # base64 "secret-user:hunter2-..."
BUILDX_LS = json.dumps(
    {
        "Name": "default",
        "Driver": "docker",
        "Nodes": [{"Name": "default", "Platforms": ["linux/amd64", "linux/arm64"]}],
    }
)
VERSION = json.dumps({"Client": {"Version": "28.2.2"}, "Server": {"Version": "26.1.5"}})


def healthy_engine(**extra: tuple[int, str, str]) -> Answers:
    answers: dict[tuple[str, ...], tuple[int, str, str]] = {
        ("version",): (0, VERSION + "\n", ""),
        ("buildx", "version"): (0, "github.com/docker/buildx 0.13.1\n", ""),
        ("buildx", "ls"): (0, BUILDX_LS + "\n" + BUILDX_LS + "\n", ""),
        ("compose", "version"): (0, "2.26.1-4\n", ""),
        ("info",): (0, "/\n", ""),
    }
    answers.update({tuple(k.split("_")): v for k, v in extra.items()})
    return answers


def docker_with(answers: Answers) -> tuple[DockerCLI, FakeRunner]:
    runner = FakeRunner(answers)
    return DockerCLI(runner=runner, binary="docker"), runner


# --- parsing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2.26.1-4", (2, 26, 1)), ("v2.21.0", (2, 21, 0)), ("2.22", (2, 22)), ("dev", None)],
)
def test_parse_version(text: str, expected: tuple[int, ...] | None) -> None:
    assert checks.parse_version(text) == expected


def test_parse_buildx_ls_dedups_and_collects_platforms() -> None:
    parsed = checks.parse_buildx_ls("noise\n" + BUILDX_LS + "\n" + BUILDX_LS + "\n{broken\n")
    assert parsed == [("default", "docker", ("linux/amd64", "linux/arm64"))]


@pytest.mark.parametrize(
    ("entrypoint", "cmd", "expected"),
    [
        (None, ["uvicorn", "app.main:app", "--host", "0.0.0.0"], ("module", "app.main")),
        (
            None,
            ["/app/.venv/bin/gunicorn", "--bind", "0.0.0.0:8000", "web.wsgi:application"],
            ("module", "web.wsgi"),
        ),
        (["hypercorn"], ["pkg.asgi:create_app()"], ("module", "pkg.asgi")),
        (None, ["granian", "--interface", "asgi", "svc:app"], ("module", "svc")),
        (None, ["python", "-m", "mytool", "--flag"], ("module", "mytool")),
        (None, ["python3.13", "-m", "mytool"], ("module", "mytool")),
        (None, ["/bin/sh", "-c", "exec uvicorn app.main:app"], ("module", "app.main")),
        (["mycli"], ["serve"], ("script", "mycli")),
        (None, ["python", "main.py"], ("none", "")),
        (None, ["uvicorn", "--help"], ("none", "")),
        (None, None, ("none", "")),
    ],
)
def test_entry_target(
    entrypoint: list[str] | None, cmd: list[str] | None, expected: tuple[str, str]
) -> None:
    found = entry_target(entrypoint, cmd)
    assert (found.kind, found.target) == expected


# --- the in-image script, run here with this Python --------------------------


def run_script(kind: str, target: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, kind, target],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return parse_answer(done.stdout)


def test_script_reports_this_python() -> None:
    info = run_script("module", "json")
    assert info["python"]["executable"] == sys.executable
    assert info["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert info["sys_path"]
    names = [name for name, _ in info["distributions"]]
    assert "click" in names
    assert names == sorted(names, key=str.lower)
    assert info["user"]["uid"] >= 0
    assert {"/tmp", "prefix", "site-packages"} <= set(info["paths"])
    assert info["entry"] == {
        "kind": "module",
        "target": "json",
        "module": "json",
        "ok": True,
        "error": None,
    }


def test_script_reports_failed_imports_and_console_scripts() -> None:
    failed = run_script("module", "no_such_module_xyz")["entry"]
    assert failed["ok"] is False
    assert failed["error"].startswith("ModuleNotFoundError")
    script = run_script("script", "uvdock")["entry"]  # this venv's own console script
    assert (script["module"], script["ok"]) == ("uvdock.cli.main", True)
    missing = run_script("script", "no-such-script")["entry"]
    assert missing["ok"] is False
    assert "no console script" in missing["error"]


def test_parse_answer_ignores_app_output() -> None:
    assert parse_answer(f'hello from the app\n{MARKER}{{"a": 1}}\n') == {"a": 1}
    with pytest.raises(ImageCheckError):
        parse_answer("no marker here")


# --- judging an image ---------------------------------------------------------


def image_info(*, uid: int, writable: bool, ok: bool = True) -> dict[str, Any]:
    paths = {
        label: {"path": path, "exists": True, "writable": writable or label == "/tmp"}
        for label, path in (
            ("/app", "/app"),
            ("/tmp", "/tmp"),
            ("prefix", "/app/.venv"),
            ("site-packages", "/app/.venv/lib/python3.13/site-packages"),
        )
    }
    return {
        "python": {"version": "3.13.5", "executable": "/app/.venv/bin/python"},
        "user": {"uid": uid, "gid": uid, "name": None},
        "paths": paths,
        "distributions": [["fastapi", "0.1"]],
        "entry": {"module": "app.main", "ok": ok, "error": None if ok else "ImportError: x"},
    }


def by_name(found: Sequence[checks.Check]) -> dict[str, checks.Check]:
    return {c.name: c for c in found}


def test_image_checks_non_root_read_only_code_is_ok() -> None:
    target = EntryTarget(kind="module", target="app.main", how="uvicorn app.main:app")
    found = by_name(image_checks(image_info(uid=10001, writable=False), target))
    assert found["user"].status == "ok"
    assert "no passwd entry" in found["user"].detail  # pwd lookup failed in the image
    assert found["writable /app"].status == "ok"
    assert found["entrypoint"].status == "ok"
    assert not checks.has_errors(list(found.values()))


def test_image_checks_flag_root_writable_code_and_failed_import() -> None:
    target = EntryTarget(kind="module", target="app.main", how="uvicorn app.main:app")
    root = by_name(image_checks(image_info(uid=0, writable=True), target))
    assert root["user"].status == "warning"
    assert root["user"].fix
    user = by_name(image_checks(image_info(uid=1000, writable=True, ok=False), target))
    assert user["writable /app"].status == "warning"
    assert user["writable site-packages"].status == "warning"
    assert user["entrypoint"].status == "error"
    assert "ImportError" in user["entrypoint"].detail


def test_inspect_image_without_python_is_a_clear_error() -> None:
    docker, _ = docker_with(
        {
            ("image", "inspect"): (0, json.dumps({"Entrypoint": ["/uv"], "Cmd": None}), ""),
            ("run",): (127, "", 'exec: "python": executable file not found in $PATH'),
        }
    )
    with pytest.raises(ImageCheckError, match="no `python`") as err:
        inspect_image(docker, "uv:latest")
    assert "\n" not in err.value.one_line()


def test_inspect_image_runs_one_container_with_python() -> None:
    answer = MARKER + json.dumps(image_info(uid=10001, writable=False))
    docker, runner = docker_with(
        {
            ("image", "inspect"): (0, json.dumps({"Cmd": ["uvicorn", "app.main:app"]}), ""),
            ("run",): (0, answer + "\n", ""),
        }
    )
    report = inspect_image(docker, "app:1")
    runs = [call for call in runner.calls if call[0] == "run"]
    assert len(runs) == 1
    assert runs[0][:7] == ("run", "--rm", "--network", "none", "--entrypoint", "python", "app:1")
    assert runs[0][-2:] == ("module", "app.main")
    assert report.to_data()["distributions"] == [{"name": "fastapi", "version": "0.1"}]


# --- environment checks -------------------------------------------------------


def test_engine_not_answering_is_an_error() -> None:
    down = json.dumps({"Client": {"Version": "28.2.2"}, "Server": None})
    docker, _ = docker_with(healthy_engine(version=(1, down, "Cannot connect to the daemon")))
    found = by_name(checks.docker_checks(docker))
    assert found["docker client"].status == "ok"
    assert found["docker engine"].status == "error"
    assert "Cannot connect" in found["docker engine"].detail


def test_docker_missing_is_an_error() -> None:
    def missing(argv: Sequence[str], **_: Any) -> ProcessResult:
        del argv
        raise ToolNotFoundError("docker not found")

    found = checks.docker_checks(DockerCLI(runner=missing, binary="docker"))
    assert found[0].status == "error"


@pytest.mark.parametrize(("version", "status"), [("2.21.0", "warning"), ("2.22.0", "ok")])
def test_compose_version(version: str, status: str) -> None:
    docker, _ = docker_with(healthy_engine(compose_version=(0, version + "\n", "")))
    assert checks.compose_check(docker).status == status


def test_compose_missing_is_a_warning() -> None:
    docker, _ = docker_with(healthy_engine(compose_version=(1, "", "unknown command")))
    assert checks.compose_check(docker).status == "warning"


def write_handler(directory: Path, name: str, *, enabled: bool = True, flags: str = "POF") -> None:
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(
        ("enabled" if enabled else "disabled")
        + f"\ninterpreter /usr/libexec/qemu-binfmt/{name}\nflags: {flags}\noffset 0\n"
    )


def test_binfmt_absent_on_x86_64_is_a_warning_with_the_fix(tmp_path: Path) -> None:
    found = checks.binfmt_check("x86_64", tmp_path)
    assert found.status == "warning"
    assert "linux/arm64" in found.detail
    assert "apt-get install qemu-user-static binfmt-support" in found.fix
    assert "tonistiigi/binfmt --install all" in found.fix


def test_binfmt_present(tmp_path: Path) -> None:
    write_handler(tmp_path, "qemu-aarch64")
    found = checks.binfmt_check("x86_64", tmp_path)
    assert found.status == "ok"
    assert "qemu-aarch64" in found.detail


@pytest.mark.parametrize(("enabled", "flags"), [(False, "POF"), (True, "P")])
def test_binfmt_disabled_or_without_f_flag(tmp_path: Path, enabled: bool, flags: str) -> None:
    write_handler(tmp_path, "qemu-aarch64", enabled=enabled, flags=flags)
    assert checks.binfmt_check("x86_64", tmp_path).status == "warning"


def test_binfmt_on_arm64_host_looks_for_amd64(tmp_path: Path) -> None:
    write_handler(tmp_path, "qemu-aarch64")
    assert checks.binfmt_check("aarch64", tmp_path).status == "warning"
    write_handler(tmp_path, "qemu-x86_64")
    assert checks.binfmt_check("aarch64", tmp_path).status == "ok"


def docker_config(tmp_path: Path, config: object) -> dict[str, str]:
    directory = tmp_path / "docker-config"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(directory)}


@pytest.mark.parametrize(
    ("config", "registry", "status"),
    [
        ({"auths": {"registry.example.com": {"auth": SECRET}}}, "registry.example.com", "ok"),
        (
            {"auths": {"https://registry.example.com/v2/": {"auth": SECRET}}},
            "registry.example.com",
            "ok",
        ),
        ({"auths": {"https://index.docker.io/v1/": {"auth": SECRET}}}, "docker.io", "ok"),
        ({"credHelpers": {"registry.example.com": "ecr-login"}}, "registry.example.com", "ok"),
        ({"auths": {"other.example.com": {"auth": SECRET}}}, "registry.example.com", "warning"),
        ({"auths": {"registry.example.com": {}}}, "registry.example.com", "warning"),
        ({"credsStore": "pass"}, "registry.example.com", "note"),
    ],
)
def test_credentials_never_include_the_secret(
    tmp_path: Path, config: object, registry: str, status: str
) -> None:
    found = checks.credentials_check(registry, docker_config(tmp_path, config))
    assert found.status == status
    assert SECRET not in json.dumps(found.to_data())
    if status == "warning":
        assert found.fix == f"docker login {registry}"


def test_credentials_without_or_with_broken_config(tmp_path: Path) -> None:
    empty = checks.credentials_check("r.example", {"DOCKER_CONFIG": str(tmp_path)})
    assert empty.status == "warning"
    (tmp_path / "config.json").write_text("{not json " + SECRET)
    broken = checks.credentials_check("r.example", {"DOCKER_CONFIG": str(tmp_path)})
    assert broken.status == "warning"
    assert SECRET not in json.dumps(broken.to_data())
    home = checks.credentials_check("r.example", {"HOME": str(tmp_path / "home")})
    assert str(tmp_path / "home" / ".docker" / "config.json") in home.detail


@pytest.mark.parametrize(("free_gb", "status"), [(4.9, "warning"), (5.1, "ok")])
def test_disk_threshold(free_gb: float, status: str) -> None:
    found = checks.disk_check(
        "/var/lib/docker", lambda _: SimpleNamespace(free=int(free_gb * 1024**3))
    )
    assert found.status == status


def test_disk_of_a_remote_engine_is_a_note() -> None:
    def absent(_: str) -> Any:
        raise FileNotFoundError

    assert checks.disk_check("/var/lib/docker", absent).status == "note"


def test_project_checks(tmp_path: Path, project_copy: Callable[[str], Path]) -> None:
    assert [c.status for c in checks.project_checks(tmp_path)] == ["note"]
    root = project_copy("fastapi-app")
    assert checks.project_checks(root)[0].status == "ok"
    (root / "pyproject.toml").write_text("[project\n")
    broken = checks.project_checks(root)
    assert broken[0].status == "error"


# --- the CLI ------------------------------------------------------------------


def run_cli(
    argv: list[str],
    answers: Answers,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[int, str, str]:
    from tests.unit.test_cli import run  # noqa: PLC0415 - shared helper

    monkeypatch.setattr(doctor_cli, "DockerCLI", lambda: docker_with(answers)[0])
    monkeypatch.setenv("NO_COLOR", "1")
    return run(argv, capsys)


def test_cli_environment_text_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = docker_config(tmp_path, {"auths": {"registry.example.com": {"auth": SECRET}}})
    monkeypatch.setenv("DOCKER_CONFIG", env["DOCKER_CONFIG"])
    argv = ["doctor", "--registry", "registry.example.com", "--project", str(tmp_path)]
    code, out, err = run_cli(argv, healthy_engine(), capsys, monkeypatch)
    assert code == 0, err
    assert "26.1.5" in out
    assert "credentials registry.example.com" in out
    assert out.count("builder default") == 1
    assert SECRET not in out + err
    code, out, err = run_cli([*argv, "--format", "json"], healthy_engine(), capsys, monkeypatch)
    assert code == 0
    assert SECRET not in out + err
    envelope = json.loads(out)
    assert envelope["command"] == "doctor"
    assert envelope["status"] == "ok"
    for check in envelope["data"]["checks"]:
        assert set(check) == {"name", "status", "detail", "fix"}
        assert check["status"] in {"ok", "note", "warning", "error"}


def test_cli_exits_1_when_the_engine_is_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    down = json.dumps({"Client": {"Version": "28.2.2"}, "Server": None})
    answers = healthy_engine(version=(1, down, "Cannot connect"))
    argv = ["doctor", "--project", str(tmp_path), "--format", "json"]
    code, out, _ = run_cli(argv, answers, capsys, monkeypatch)
    assert code == 1
    envelope = json.loads(out)
    assert envelope["status"] == "error"
    assert envelope["errors"][0]["message"].startswith("docker engine: not answering")


def test_cli_image_without_python(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {
        ("image", "inspect"): (0, json.dumps({"Entrypoint": ["/uv"]}), ""),
        ("run",): (127, "", 'exec: "python": executable file not found in $PATH'),
    }
    code, out, err = run_cli(["doctor", "uv:x"], answers, capsys, monkeypatch)
    assert code == 1
    assert out == ""
    assert err.strip().count("\n") == 0
    assert "uv:x has no `python`" in err
