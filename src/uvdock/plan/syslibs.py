"""Debian packages that common Python distributions need, split by stage.

Curated by hand (no machine-readable source maps PyPI names to Debian
packages). Names are Debian trixie's, the default base. ``when``:
``installed`` means whenever the distribution is installed, ``built`` only
when uv must build it from source because no wheel fits the target.
"""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True, kw_only=True)
class SystemNeeds:
    when: Literal["installed", "built"]
    build: tuple[str, ...] = ()
    runtime: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()  # another installed distribution that brings its own copy


NEEDS: dict[str, tuple[SystemNeeds, ...]] = {
    # psycopg 3's pure-Python package loads libpq at run time unless the binary build is used.
    "psycopg": (SystemNeeds(when="installed", runtime=("libpq5",), unless=("psycopg-binary",)),),
    "psycopg-c": (SystemNeeds(when="built", build=("libpq-dev",), runtime=("libpq5",)),),
    "psycopg2": (SystemNeeds(when="built", build=("libpq-dev",), runtime=("libpq5",)),),
    "mysqlclient": (
        SystemNeeds(
            when="built",
            build=("default-libmysqlclient-dev", "pkg-config"),
            runtime=("libmariadb3",),
        ),
    ),
    "python-ldap": (
        SystemNeeds(when="built", build=("libldap-dev", "libsasl2-dev"), runtime=("libldap2",)),
    ),
    "pyodbc": (SystemNeeds(when="installed", runtime=("libodbc2",)),),
    "python-magic": (SystemNeeds(when="installed", runtime=("libmagic1t64",)),),
    "pycairo": (
        SystemNeeds(when="built", build=("libcairo2-dev", "pkg-config"), runtime=("libcairo2",)),
    ),
    "lxml": (
        SystemNeeds(
            when="built", build=("libxml2-dev", "libxslt1-dev"), runtime=("libxml2", "libxslt1.1")
        ),
    ),
    "cffi": (SystemNeeds(when="built", build=("libffi-dev",), runtime=("libffi8",)),),
}
COMPILER = "build-essential"
