"""Blanks as BuildKit sees them: Go's ``unicode.IsSpace``, ``parser/parser.go``'s ``reWhitespace``.

Shared by every other module of :mod:`uvdock.dockerfile`; imports nothing.
"""

from __future__ import annotations

import re

__all__ = ["GO_SPACE", "GO_SPACE_SET", "SPACE_CLASS", "SPLIT_RE"]

# Go's unicode.IsSpace: what BuildKit trims and splits words on.
GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
GO_SPACE_SET = frozenset(GO_SPACE)
SPACE_CLASS = "".join(GO_SPACE)  # no character here is special inside [...]
# BuildKit's reWhitespace `[\t\v\f\r ]+`: splits the keyword from the rest, FROM words.
SPLIT_RE = re.compile("[\t\v\f\r ]+")
