"""Command-line handling shared by the scripts that work on a selection of fixtures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.fixtures import ALL, Fixture

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["parse_fixture_args"]


def parse_fixture_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> tuple[argparse.Namespace, dict[str, Fixture]]:
    """Add ``NAME ...`` and ``--external-servers`` to ``parser``, parse ``argv``.

    Returns the parsed arguments and the named fixtures (all of :data:`ALL` when
    none are named), in the order given; unknown names are a usage error.
    """
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(ALL)}")
    parser.add_argument(
        "--external-servers",
        action="store_true",
        help="the local index and git server already run (do not start them)",
    )
    args = parser.parse_args(argv)
    if unknown := sorted(set(args.names) - ALL.keys()):
        parser.error(f"unknown fixture(s): {', '.join(unknown)}")
    selected = {name: ALL[name] for name in args.names} if args.names else dict(ALL)
    return args, selected
