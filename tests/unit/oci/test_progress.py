"""Byte counting for progress bars, and the CLI's display of engine tasks."""

from __future__ import annotations

import io

import pytest

from uvdock.cli.progress import engine_progress
from uvdock.oci.progress import CountingWriter, counting_opener, no_tasks


class Recorder:
    def __init__(self) -> None:
        self.done = 0
        self.restarts = 0

    def advance(self, amount: int) -> None:
        self.done += amount

    def restart(self) -> None:
        self.restarts += 1
        self.done = 0


def test_an_opener_counts_what_is_read_and_starts_again_on_each_opening() -> None:
    task = Recorder()
    opener = counting_opener(lambda: io.BytesIO(b"x" * 10), task)
    with opener() as stream:
        assert stream.read(4) == b"xxxx"
        assert stream.read() == b"x" * 6
    assert task.done == 10
    with opener() as stream:  # an upload that starts again
        stream.read(3)
    assert (task.done, task.restarts) == (3, 2)


def test_a_writer_counts_bytes_and_a_truncate_restarts() -> None:
    task = Recorder()
    out = CountingWriter(io.BytesIO(), task)
    out.write(b"abc")
    assert task.done == 3
    out.seek(0)
    out.truncate()
    out.write(b"de")
    assert (task.done, task.restarts, out.getvalue()) == (2, 1, b"de")


def test_plain_and_quiet_progress_print_lines_only(capsys: pytest.CaptureFixture[str]) -> None:
    with engine_progress(bars=False, quiet=False) as (echo, tasks):
        assert tasks is no_tasks
        echo("layer x 1.0 MB")
    with engine_progress(bars=False, quiet=True) as (echo, _):
        echo("not shown")
    assert capsys.readouterr().err == "layer x 1.0 MB\n"


def test_bars_run_tasks_with_and_without_a_total(capsys: pytest.CaptureFixture[str]) -> None:
    with engine_progress(bars=True, quiet=False) as (echo, tasks):
        with tasks("pull abc", 100) as task:
            task.advance(60)
            task.restart()
            task.advance(100)
        with tasks("install linux/arm64 dependencies (uv)"):
            pass
        echo("[not markup] pulled")
    assert "[not markup] pulled" in capsys.readouterr().err
