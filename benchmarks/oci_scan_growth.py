"""How the daemonless engine's base-image scan grows with the number of files: 1x, 10x, 100x.

The engine reads a base image's layers once (``basepython.scan_layers``, which
merges them with ``tarlayer.image_files``) to learn which files the base
has: its Python, its C library. A linear scan takes about 10 times as long
for 10 times the files; a quadratic one 100 times (issue 12: 10k, 20k and 40k
files took 9.8, 26.6 and 102.8 s). The input is two generated gzip layers,
written once into a temporary directory: a base layer of N files in
directories of 100, and an upper layer that replaces a tenth of the files,
deletes a tenth of the directories with whiteouts and empties one with an
opaque whiteout, so every merge path (replace, delete, opaque) is timed.
Times are in-process, medians of 3 (the first scale also warms imports).

    uv run --project . python benchmarks/oci_scan_growth.py [--files 1000] [--scales 1,10,100]
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

from uvdock.oci.basepython import scan_layers

PER_DIRECTORY = 100


def _add(tar: tarfile.TarFile, name: str, *, directory: bool = False) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    tar.addfile(info)


def write_layers(directory: Path, files: int) -> list[Path]:
    """A base layer of ``files`` empty files, and an upper layer that changes a fifth of them."""
    base, upper = directory / f"base-{files}.tar.gz", directory / f"upper-{files}.tar.gz"
    folders = max(1, files // PER_DIRECTORY)
    with gzip.open(base, "wb", compresslevel=1) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for folder in range(folders):
            _add(tar, f"usr/lib/d{folder}", directory=True)
            for number in range(PER_DIRECTORY):
                _add(tar, f"usr/lib/d{folder}/f{number}.py")
    with gzip.open(upper, "wb", compresslevel=1) as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for folder in range(folders):
            if folder % 10 == 1:
                _add(tar, f"usr/lib/.wh.d{folder}")  # delete the directory
            elif folder % 10 == 2:  # noqa: PLR2004 - one in ten of each kind of change
                _add(tar, f"usr/lib/d{folder}/.wh..wh..opq")  # empty it
            elif folder % 10 == 3:  # noqa: PLR2004
                for number in range(PER_DIRECTORY):
                    _add(tar, f"usr/lib/d{folder}/f{number}.py")  # replace every file
    return [base, upper]


def median_seconds(layers: list[Path]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        scan_layers(layers)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=1000, help="files at 1x (default 1000)")
    parser.add_argument("--scales", default="1,10,100", help="comma-separated multiples of --files")
    args = parser.parse_args()
    scales = [int(scale) for scale in args.scales.split(",")]
    with tempfile.TemporaryDirectory(prefix="uvdock-scan-") as temp:
        seconds = []
        for scale in scales:
            files = args.files * scale
            elapsed = median_seconds(write_layers(Path(temp), files))
            seconds.append(elapsed)
            print(f"{scale:>4}x {files:>8} files  {elapsed:>9.3f} s", flush=True)
    for (low, low_s), (high, high_s) in zip(
        zip(scales, seconds, strict=True), zip(scales[1:], seconds[1:], strict=True), strict=False
    ):
        print(f"growth {low}x -> {high}x: {high_s / low_s:.1f}x for {high / low:.0f}x the files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
