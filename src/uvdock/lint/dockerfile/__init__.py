"""BuildKit's Dockerfile frontend (``moby/buildkit`` ``frontend/dockerfile``), file by file.

The modules, from the bottom up (each imports only those above it, and
:mod:`uvdock.lint.syntax` for the tree it builds):

- :mod:`.gospace`: Go's ``unicode.IsSpace`` and BuildKit's ``reWhitespace``.
- :mod:`.runmount`: ``instructions/runmount.go``, ``--mount`` values (Go's
  ``encoding/csv``); imports nothing, so :mod:`uvdock.lint.syntax` can use it.
- :mod:`.lex`: ``shell/lex.go``, variable substitution.
- :mod:`.directives`: ``parser/directives.go``.
- :mod:`.split_command`: ``parser/split_command.go``, ``--flag`` words.
- :mod:`.line_parsers`: ``parser/line_parsers.go``, words, JSON form, ``KEY=value``.
- :mod:`.instructions`: ``instructions/parse.go``, the flags and arguments
  each instruction accepts.
- :mod:`.parser`: ``parser/parser.go``, lines, continuations, heredocs, stages.

:mod:`uvdock.lint.parser` is the public face; nothing is imported here, so
importing one module does not load the others.
"""
