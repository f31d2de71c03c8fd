"""Finding registry credentials: Docker's config.json, credential helpers, podman's auth.json.

The credential helpers are real executables written into ``tmp_path`` and
found on PATH, as ``docker-credential-*`` helpers are.
"""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from uvdock.errors import ConfigError
from uvdock.oci.auth import (
    CredentialHelperError,
    Credentials,
    canonical_host,
    find_credentials,
)

SECRET = "s3cr3t-Pa55"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME with no DOCKER_CONFIG or podman variables from the real environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    return home


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def docker_config(home: Path, data: object) -> Path:
    return write_json(home / ".docker" / "config.json", data)


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Puts ``docker-credential-fake`` on PATH; it records its argv and stdin in ``calls``.

    It answers from ``answers.json`` (server URL → JSON object), else says
    "credentials not found" and exits 1, as the real helpers do.
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-fake"
    script.write_text(
        "#!/bin/sh\n"
        f'dir="{tmp_path}"\n'
        'server=$(cat)\n'
        'printf "%s %s\\n" "$1" "$server" >> "$dir/calls"\n'
        'if [ -f "$dir/fail" ]; then echo "keychain locked" >&2; exit 2; fi\n'
        'answer=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1]));'
        ' print(json.dumps(d[sys.argv[2]]) if sys.argv[2] in d else \'\')"'
        ' "$dir/answers.json" "$server")\n'
        'if [ -z "$answer" ]; then echo "credentials not found in native keychain"; exit 1; fi\n'
        'echo "$answer"\n'
    )  # fmt: skip
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "answers.json").write_text("{}")
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    return tmp_path


def helper_answers(helper: Path, answers: dict[str, dict[str, str]]) -> None:
    (helper / "answers.json").write_text(json.dumps(answers))


def helper_calls(helper: Path) -> list[str]:
    calls = helper / "calls"
    return calls.read_text().splitlines() if calls.exists() else []


@pytest.mark.parametrize(
    ("server", "host"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("docker.io", "docker.io"),
        ("https://ghcr.io", "ghcr.io"),
        ("http://localhost:5000/v2/", "localhost:5000"),
        ("Quay.IO/team/app", "quay.io"),
    ],
)
def test_canonical_host(server: str, host: str) -> None:
    assert canonical_host(server) == host


def test_base64_auth(home: Path) -> None:
    config = docker_config(home, {"auths": {"ghcr.io": {"auth": b64(f"octo:{SECRET}")}}})
    found = find_credentials("ghcr.io")
    assert found == Credentials(username="octo", password=SECRET, source=str(config))


def test_password_with_colons_keeps_them(home: Path) -> None:
    docker_config(home, {"auths": {"ghcr.io": {"auth": b64("octo:a:b:c")}}})
    found = find_credentials("ghcr.io")
    assert found is not None
    assert found.password == "a:b:c"


def test_username_password_and_identity_token(home: Path) -> None:
    docker_config(home, {"auths": {
        "registry.example": {"username": "me", "password": SECRET},
        "sso.example": {"auth": b64("<token>:"), "identitytoken": "refresh-123"},
    }})  # fmt: skip
    plain = find_credentials("registry.example")
    assert plain is not None
    assert (plain.username, plain.password) == ("me", SECRET)
    sso = find_credentials("sso.example")
    assert sso is not None
    assert sso.identity_token == "refresh-123"


@pytest.mark.parametrize(
    "host", ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"]
)
def test_docker_hub_aliases_find_the_v1_key(home: Path, host: str) -> None:
    docker_config(home, {"auths": {"https://index.docker.io/v1/": {"auth": b64("hub:pw")}}})
    found = find_credentials(host)
    assert found is not None
    assert found.username == "hub"


def test_keys_with_scheme_and_path_match_the_host(home: Path) -> None:
    docker_config(home, {"auths": {"https://registry.example:8443/v2/": {"auth": b64("u:p")}}})
    assert find_credentials("registry.example:8443") is not None
    assert find_credentials("registry.example") is None


def test_docker_config_env_wins_over_home(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker_config(home, {"auths": {"ghcr.io": {"auth": b64("from-home:x")}}})
    write_json(tmp_path / "elsewhere" / "config.json",
               {"auths": {"ghcr.io": {"auth": b64("from-env:x")}}})  # fmt: skip
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "elsewhere"))
    found = find_credentials("ghcr.io")
    assert found is not None
    assert found.username == "from-env"


def test_nothing_configured_is_none(home: Path) -> None:
    assert find_credentials("ghcr.io") is None
    docker_config(home, {"auths": {"ghcr.io": {}}})
    assert find_credentials("ghcr.io") is None


def test_repr_and_str_hide_the_secret(home: Path) -> None:
    docker_config(home, {"auths": {"ghcr.io": {"auth": b64(f"octo:{SECRET}")}}})
    found = find_credentials("ghcr.io")
    assert found is not None
    for text in (repr(found), str(found), f"{found}", repr([found])):
        assert SECRET not in text
        assert "octo" in text
        assert "***" in text
    assert found.secrets == (SECRET,)


def test_invalid_json_is_a_config_error_naming_the_file(home: Path) -> None:
    config = home / ".docker" / "config.json"
    config.parent.mkdir()
    config.write_text('{"auths": {')
    with pytest.raises(ConfigError) as caught:
        find_credentials("ghcr.io")
    assert str(config) in caught.value.one_line()
    assert caught.value.exit_code == 2


def test_bad_base64_is_a_config_error_without_the_value(home: Path) -> None:
    docker_config(home, {"auths": {"ghcr.io": {"auth": "%%%not-base64" + SECRET}}})
    with pytest.raises(ConfigError, match="not base64") as caught:
        find_credentials("ghcr.io")
    assert SECRET not in caught.value.one_line()
    docker_config(home, {"auths": {"ghcr.io": {"auth": b64("no-colon")}}})
    with pytest.raises(ConfigError, match='no ":"'):
        find_credentials("ghcr.io")


def test_cred_helper_for_one_host(home: Path, helper: Path) -> None:
    docker_config(home, {
        "credHelpers": {"ghcr.io": "fake"},
        "auths": {"quay.io": {"auth": b64("quay:pw")}},
    })  # fmt: skip
    helper_answers(helper, {"ghcr.io": {"ServerURL": "ghcr.io", "Username": "octo",
                                        "Secret": SECRET}})  # fmt: skip
    found = find_credentials("ghcr.io")
    assert found is not None
    assert (found.username, found.password) == ("octo", SECRET)
    assert "docker-credential-fake" in found.source
    assert helper_calls(helper) == ["get ghcr.io"]
    other = find_credentials("quay.io")  # not a helper host: the file answers
    assert other is not None
    assert other.username == "quay"
    assert helper_calls(helper) == ["get ghcr.io"]


def test_creds_store_answers_for_every_host_with_the_hub_url(home: Path, helper: Path) -> None:
    docker_config(home, {"credsStore": "fake", "auths": {"https://index.docker.io/v1/": {}}})
    helper_answers(helper, {"https://index.docker.io/v1/": {"Username": "hub", "Secret": SECRET}})
    found = find_credentials("docker.io")
    assert found is not None
    assert found.username == "hub"
    assert helper_calls(helper) == ["get https://index.docker.io/v1/"]


def test_helper_identity_token(home: Path, helper: Path) -> None:
    docker_config(home, {"credsStore": "fake"})
    helper_answers(helper, {"sso.example": {"Username": "<token>", "Secret": "refresh-9"}})
    found = find_credentials("sso.example")
    assert found is not None
    assert (found.username, found.identity_token, found.password) == ("", "refresh-9", "")


@pytest.mark.usefixtures("helper")
def test_helper_without_the_credentials_falls_through_to_podman(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker_config(home, {"credsStore": "fake"})
    assert find_credentials("ghcr.io") is None
    auth_file = write_json(tmp_path / "podman.json", {"auths": {"ghcr.io": {"auth": b64("p:w")}}})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    found = find_credentials("ghcr.io")
    assert found is not None
    assert found.username == "p"


def test_helper_failure_is_an_error_without_secrets(home: Path, helper: Path) -> None:
    docker_config(home, {"credHelpers": {"ghcr.io": "fake"}})
    (helper / "fail").touch()
    with pytest.raises(CredentialHelperError) as caught:
        find_credentials("ghcr.io")
    line = caught.value.one_line()
    assert "docker-credential-fake get failed for ghcr.io: keychain locked" in line
    assert "docker login ghcr.io" in line


def test_missing_helper_is_named_with_the_fix(home: Path, helper: Path) -> None:
    del helper
    config = docker_config(home, {"credsStore": "desktop"})
    with pytest.raises(CredentialHelperError) as caught:
        find_credentials("ghcr.io")
    line = caught.value.one_line()
    assert f"docker-credential-desktop (named in {config}) is not on PATH" in line
    assert "docker login ghcr.io" in line


def test_podman_auth_file_locations_in_order(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def entry(user: str) -> dict[str, object]:
        return {"auths": {"quay.io": {"auth": b64(f"{user}:pw")}}}

    def user() -> str | None:
        found = find_credentials("quay.io")
        return found.username if found else None

    write_json(home / ".config" / "containers" / "auth.json", entry("config-home"))
    assert user() == "config-home"
    write_json(tmp_path / "xdg-config" / "containers" / "auth.json", entry("xdg-config"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    assert user() == "xdg-config"
    write_json(tmp_path / "run" / "containers" / "auth.json", entry("runtime"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert user() == "runtime"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(write_json(tmp_path / "a.json", entry("env"))))
    assert user() == "env"
    docker_config(home, entry("docker"))
    assert user() == "docker"  # Docker's own file comes first


@pytest.mark.usefixtures("home")
def test_podman_namespace_keys_most_specific_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth_file = write_json(tmp_path / "auth.json", {"auths": {
        "quay.io": {"auth": b64("host:pw")},
        "quay.io/team": {"auth": b64("team:pw")},
        "quay.io/team/app": {"auth": b64("app:pw")},
    }})  # fmt: skip
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))

    def user(repository: str | None) -> str | None:
        found = find_credentials("quay.io", repository=repository)
        return found.username if found else None

    assert user("team/app") == "app"
    assert user("team/other") == "team"
    assert user("elsewhere/x") == "host"
    assert user(None) == "host"
    assert user("teamwork/x") == "host"  # a namespace is a whole path component


def test_explicit_env_mapping(tmp_path: Path, home: Path) -> None:
    del home
    config_dir = tmp_path / "cfg"
    write_json(config_dir / "config.json", {"auths": {"ghcr.io": {"auth": b64("mapped:x")}}})
    found = find_credentials("ghcr.io", env={"DOCKER_CONFIG": str(config_dir)})
    assert found is not None
    assert found.username == "mapped"
