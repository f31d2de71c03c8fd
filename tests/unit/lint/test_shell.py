"""Splitting RUN scripts into simple commands."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uvdock.lint import shell
from uvdock.lint.shell import ShellCommand, commands


def argvs(script: str) -> list[tuple[str, ...]]:
    return [command.argv for command in commands(script)]


def test_operators_split_commands() -> None:
    script = "A=1 B='x y' uv sync --locked && rm -rf /x || echo fail; ls | grep a & wait"
    found = commands(script)
    assert found == [
        ShellCommand(
            argv=("uv", "sync", "--locked"),
            env=(("A", "1"), ("B", "x y")),
            text="A=1 B='x y' uv sync --locked",
            offsets=(0, 28),
        ),
        ShellCommand(argv=("rm", "-rf", "/x"), env=(), text="rm -rf /x", offsets=(32, 41)),
        ShellCommand(argv=("echo", "fail"), env=(), text="echo fail", offsets=(45, 54)),
        ShellCommand(argv=("ls",), env=(), text="ls", offsets=(56, 58)),
        ShellCommand(argv=("grep", "a"), env=(), text="grep a", offsets=(61, 67)),
        ShellCommand(argv=("wait",), env=(), text="wait", offsets=(70, 74)),
    ]
    for command in found:
        assert command.offsets is not None
        assert script[command.offsets[0] : command.offsets[1]] == command.text


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("", []),
        ("   \n\t\n", []),
        ("uv sync", [("uv", "sync")]),
        ("a;b\nc|&d", [("a",), ("b",), ("c",), ("d",)]),
        (
            "apt-get update \\\n && apt-get install -y x",
            [("apt-get", "update"), ("apt-get", "install", "-y", "x")],
        ),
        ("uv sync --no-\\\ndev", [("uv", "sync", "--no-dev")]),
        # quoting and escapes
        (
            'echo \'a b\' "c $D" e\\ f "g\\"h" \'i\'"j"',
            [("echo", "a b", "c $D", "e f", 'g"h', "ij")],
        ),
        ("echo $'a\\tb' $\"c\"", [("echo", "a\tb", "c")]),
        ("echo 'a;b' \"c && d\" e\\;f", [("echo", "a;b", "c && d", "e;f")]),
        # substitutions stay inside their word
        (
            "echo $(a; b) `c && d` ${E:-f g} $((1 + 2))",
            [("echo", "$(a; b)", "`c && d`", "${E:-f g}", "$((1 + 2))")],
        ),
        ('X="$(cat "/run/secrets/a b")" uv sync', [("uv", "sync")]),
        ('echo $(echo "$(date) )")', [("echo", '$(echo "$(date) )")')]),
        # redirections are not words
        ("make > log 2>&1 </dev/null", [("make",)]),
        ("cmd &>/dev/null; cmd2 >>f 3<&0 >|g", [("cmd",), ("cmd2",)]),
        ("diff <(ls a) <(ls b)", [("diff", "<(ls a)", "<(ls b)")]),
        # comments
        ("# all comment\nuv sync # trailing ; not a command\n", [("uv", "sync")]),
        ("echo a#b", [("echo", "a#b")]),
        # grouping and compound commands
        ("(cd /app && make) > log", [("cd", "/app"), ("make",)]),
        ("{ a; b; } && c", [("a",), ("b",), ("c",)]),
        (
            "if [ -f x ]; then uv sync; elif y; then z; else echo no; fi",
            [("[", "-f", "x", "]"), ("uv", "sync"), ("y",), ("z",), ("echo", "no")],
        ),
        ("for i in 1 2 3; do echo $i; done", [("echo", "$i")]),
        ("for i in a b\ndo\n  echo $i\ndone", [("echo", "$i")]),
        ("while read l; do echo $l; done < f", [("read", "l"), ("echo", "$l")]),
        ("until false; do :; done", [("false",), (":",)]),
        ("! grep -q x f", [("grep", "-q", "x", "f")]),
        ("time make", [("make",)]),
        (
            "case $x in a|b) echo a ;; (*) echo other ;; esac; after",
            [("echo", "a"), ("echo", "other"), ("after",)],
        ),
        (
            (
                'case "$(uname -m)" in\n aarch64) ARCH=arm64 ;;\n x86_64) ARCH=amd64 ;;\n'
                "esac && apt-get update"
            ),
            [("apt-get", "update")],
        ),
        ("f() { echo in f; }; f", [("echo", "in", "f"), ("f",)]),
        ("function g { echo g; }", [("echo", "g")]),
        ("[[ a && b ]] && echo ok", [("[[", "a", "&&", "b", "]]"), ("echo", "ok")]),
        ("for ((i = 0; i < 3; i++)); do echo $i; done", [("echo", "$i")]),
        # assignments
        ("A=1", []),
        ("A=1 B+=2 cmd C=3", [("cmd", "C=3")]),
        ("export PATH=/x:$PATH", [("export", "PATH=/x:$PATH")]),
        ("'A=1' cmd", [("A=1", "cmd")]),
        # keywords only count in command position, unquoted
        ("echo if then fi", [("echo", "if", "then", "fi")]),
        ("'if' x", [("if", "x")]),
    ],
)
def test_commands(script: str, expected: list[tuple[str, ...]]) -> None:
    assert argvs(script) == expected


def test_env_prefixes() -> None:
    (command,) = commands('UV_COMPILE_BYTECODE=0 UV_X="a b" UV_Y= uv sync --locked')
    assert command.env == (("UV_COMPILE_BYTECODE", "0"), ("UV_X", "a b"), ("UV_Y", ""))
    assert command.argv == ("uv", "sync", "--locked")


def test_heredocs_inside_scripts_are_skipped() -> None:
    script = (
        "cat > /f <<EOF\nuv sync\nEOF\necho after\n"
        "python - <<-'PY' && echo same-line\n\tprint(1)\n\tPY\nlast"
    )
    assert argvs(script) == [
        ("cat",),
        ("echo", "after"),
        ("python", "-"),
        ("echo", "same-line"),
        ("last",),
    ]
    assert argvs("cat <<EOF") == [("cat",)]
    assert argvs("cat <<EOF\nnever ends") == [("cat",)]
    assert argvs("cat <<<'here string' && b") == [("cat",), ("b",)]


def test_shell_c_is_read_recursively() -> None:
    script = 'sh -c \'uv sync && echo "hi there"\' && bash -euxc "apt-get update"'
    found = commands(script)
    assert [(c.argv, c.depth, c.offsets) for c in found] == [
        (("sh", "-c", 'uv sync && echo "hi there"'), 0, (0, 34)),
        (("uv", "sync"), 1, (6, 34)),
        (("echo", "hi there"), 1, (6, 34)),
        (("bash", "-euxc", "apt-get update"), 0, (38, 65)),
        (("apt-get", "update"), 1, (49, 65)),
    ]
    assert found[1].text == "uv sync"


@pytest.mark.parametrize(
    ("script", "inner"),
    [
        ("/bin/bash -o pipefail -c 'a | b'", [("a",), ("b",)]),
        ("sh -e -c 'a' name arg", [("a",)]),
        ("bash --norc -lc a", [("a",)]),
        ("sh script.sh -c 'a'", []),
        ("sh -c", []),
        ("sh -- -c 'a'", []),
        ("python -c 'a; b'", []),
        (
            "sh -c \"sh -c 'sh -c inner'\"",
            [("sh", "-c", "sh -c inner"), ("sh", "-c", "inner"), ("inner",)],
        ),
    ],
)
def test_shell_c_forms(script: str, inner: list[tuple[str, ...]]) -> None:
    found = commands(script)
    assert [c.argv for c in found if c.depth > 0] == inner
    # every nested command points at the same place: the outermost -c argument
    assert len({c.offsets for c in found if c.depth > 0}) <= 1


def test_nesting_depth_is_bounded() -> None:
    script = "x"
    for _ in range(11):
        script = "sh -c " + script.replace("\\", "\\\\").replace(" ", "\\ ")
    found = commands(script)
    assert [c.depth for c in found] == list(range(9))
    assert found[1].argv[:2] == ("sh", "-c")


def test_malformed_input_gives_what_it_can() -> None:
    assert argvs("echo 'unterminated") == [("echo", "unterminated")]
    assert argvs('echo "open $(x') == [("echo", "open $(x")]
    assert argvs("echo $(a ( b") == [("echo", "$(a ( b")]
    assert argvs("echo `never") == [("echo", "`never")]
    assert argvs(") ) ;; fi done esac }") == []
    assert argvs("echo \\") == [("echo", "\\")]
    assert argvs("\x00 \udcff") == [("\x00", "\udcff")]


def test_hand_built_command() -> None:
    command = ShellCommand(argv=("uv", "sync"), env=(), text="uv sync")
    assert (command.offsets, command.depth) == (None, 0)
    assert shell.__all__ == ["ShellCommand", "commands"]


def test_long_script_is_linear() -> None:
    script = " && ".join(f"cmd{i} --flag 'quoted arg' \"$VAR\"" for i in range(20_000))
    found = commands(script)
    assert len(found) == 20_000
    assert found[-1].argv == ("cmd19999", "--flag", "quoted arg", "$VAR")


_PIECES = [
    *"\\`'\"$(){}<>|&;# \n\tab-=:[]0!",
    "$(",
    "${",
    "<<",
    "<<-",
    "EOF",
    "sh -c ",
    "case ",
    " in ",
    "esac",
    "for ",
    "do",
    "if ",
    "then",
    "fi",
    "((",
    "<(",
    "2>&1",
    "\\\n",
    "$'",
    "function ",
    "[[",
    "A=1 ",
]


@settings(max_examples=500, deadline=None)
@given(script=st.one_of(st.lists(st.sampled_from(_PIECES), max_size=60).map("".join), st.text()))
def test_never_raises(script: str) -> None:
    for command in commands(script):
        assert command.argv
        assert command.offsets is not None
        start, end = command.offsets
        assert 0 <= start <= end <= len(script)
        if command.depth == 0:
            assert script[start:end] == command.text
