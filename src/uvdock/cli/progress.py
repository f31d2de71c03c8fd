"""Progress bars for the daemonless engine's tasks (rich), on a terminal only."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from uvdock.cli.output import console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from rich.progress import Task as RichTask

    from uvdock.oci.progress import Task, TaskFactory


class _RichTask:
    def __init__(self, progress: Progress, task_id: TaskID) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, amount: int) -> None:
        self._progress.advance(self._id, amount)

    def restart(self) -> None:
        self._progress.reset(self._id)


@contextlib.contextmanager
def engine_progress(
    *, bars: bool, quiet: bool
) -> Iterator[tuple[Callable[[str], None], TaskFactory]]:
    """``(echo, tasks)`` for the engine: event lines, and bars when ``bars`` (a terminal).

    Lines go to stderr (above the bars when there are bars); ``quiet`` drops
    both. Finished bars disappear, so the terminal keeps only the event lines.
    """
    from uvdock.oci.progress import no_tasks  # noqa: PLC0415

    if quiet or not bars:

        def echo(line: str) -> None:
            if not quiet:
                sys.stderr.write(line + "\n")

        yield echo, no_tasks
        return
    from rich.progress import (  # noqa: PLC0415 - rich only for a terminal
        BarColumn,
        DownloadColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )
    from rich.text import Text  # noqa: PLC0415

    class Bytes(DownloadColumn):
        """Bytes done of the total, for tasks that count bytes (not for spinners)."""

        def render(self, task: RichTask) -> Text:
            return Text("") if task.total is None else super().render(task)

    class Speed(TransferSpeedColumn):
        def render(self, task: RichTask) -> Text:
            return Text("") if task.total is None else super().render(task)

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        Bytes(),
        Speed(),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    )

    @contextlib.contextmanager
    def tasks(description: str, total: int | None = None) -> Iterator[Task]:
        task_id = progress.add_task(description, total=total)
        try:
            yield _RichTask(progress, task_id)
        finally:
            progress.remove_task(task_id)

    def echo_above(line: str) -> None:
        progress.console.print(line, markup=False, highlight=False)

    with progress:
        yield echo_above, tasks
