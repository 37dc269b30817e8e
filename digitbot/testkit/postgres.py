"""A throwaway PostgreSQL database for tests and benches, on the server ``DIGITBOT_TEST_POSTGRES`` names.

``DIGITBOT_TEST_POSTGRES`` is the URL of a role that may create databases (``.ci/run`` starts the
machine's PostgreSQL and sets it). Each ``TestDatabase`` is a database of its own, with a random name,
dropped at the end; ``reset`` empties it between tests. Where the variable is unset or the server does
not answer, ``unavailable()`` says why, and the tests that need it skip with that reason.
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

ENV = "DIGITBOT_TEST_POSTGRES"


def server_url() -> str | None:
    return os.environ.get(ENV) or None


def unavailable() -> str | None:
    """Why no PostgreSQL can be used for tests, or None when one can."""
    url = server_url()
    if url is None:
        return (f"{ENV} is not set: no PostgreSQL server for these tests (`bash .ci/run` starts the machine's "
                "and sets it; or point it at a role that may create databases)")
    try:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(url, connect_timeout=5):
            return None
    except Exception as error:  # any reason the server cannot be used is a reason to skip, said as such
        return f"PostgreSQL at {ENV} cannot be reached: {type(error).__name__}: {str(error).strip()[:200]}"


class TestDatabase:
    """A database made for one test session (or one bench run) and dropped after it."""

    __test__ = False  # not a test class, for pytest

    def __init__(self, server: str | None = None) -> None:
        import psycopg  # noqa: PLC0415

        self._psycopg = psycopg
        self.server = server or server_url() or ""
        self.name = f"digitbot_test_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        parts = urlsplit(self.server)
        self.url = urlunsplit(parts._replace(path="/" + self.name))

    def reset(self) -> None:
        """Every table gone: the next Storage starts from schema 0."""
        with self._psycopg.connect(self.url, autocommit=True) as db:
            db.execute("DROP SCHEMA public CASCADE")
            db.execute("CREATE SCHEMA public")

    def drop(self) -> None:
        with self._psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
