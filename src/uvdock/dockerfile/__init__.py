"""Parse a Dockerfile the way BuildKit does, keeping every source position.

Why this is hand-written (``docs/research/lint-gen.md`` §3.3): neither Python
library is enough. ``dockerfile-parse`` splits heredocs into bogus instructions
and leaves ``--mount`` flags inside the command; ``dockerfile`` (Go bindings to
BuildKit's parser) is deprecated, ships a Go shared object, and drops parser
directives and comments, which ``# check=``, ``# uvdock: ignore=`` and
``# hadolint ignore=`` pragmas need. Neither keeps column positions.

This package is shared by every reader of Dockerfiles (the linter, and detection,
which reads a project's own Dockerfile for its start command); its names are
re-exported here. One module per BuildKit source file (``moby/buildkit``
``frontend/dockerfile``), from the bottom up; :mod:`.syntax` holds the tree they build:

- ``parser/parser.go``: :mod:`uvdock.dockerfile.parser` (lines,
  continuations, heredocs, stages; :func:`parse_dockerfile`, :data:`KEYWORDS`).
- ``parser/directives.go``: :mod:`uvdock.dockerfile.directives`.
- ``parser/split_command.go``: :mod:`uvdock.dockerfile.split_command`.
- ``parser/line_parsers.go``: :mod:`uvdock.dockerfile.line_parsers`
  (:func:`key_values`).
- ``instructions/parse.go``: :mod:`uvdock.dockerfile.instructions`
  (:func:`parse_mount`), with ``instructions/runmount.go`` in
  :mod:`uvdock.dockerfile.runmount`.
- ``shell/lex.go``: :mod:`uvdock.dockerfile.lex` (:func:`expand`).

It never raises: what BuildKit would reject becomes a
:class:`~uvdock.dockerfile.syntax.ParseDiagnostic`. Scanning is linear: lines are
handled with ``str`` methods, and the per-character loops (flags, words,
variables) skip runs of ordinary characters with simple regular expressions.
"""

from __future__ import annotations

from uvdock.dockerfile.instructions import parse_mount
from uvdock.dockerfile.lex import expand
from uvdock.dockerfile.line_parsers import key_values
from uvdock.dockerfile.parser import KEYWORDS, parse_dockerfile

__all__ = ["KEYWORDS", "expand", "key_values", "parse_dockerfile", "parse_mount"]
