"""Test support for uvdock: local package index, git server, fixture registry.

Everything here is standard library only and runs on Python >= 3.11, so the
servers can also be started as scripts from the repository root, e.g.
``python -m tests.support.servers``.
"""
