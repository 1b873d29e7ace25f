"""The database engines the tests run on: SQLite always, PostgreSQL when a server is reachable.

SAMTAL_TEST_DATABASE names a PostgreSQL server (postgresql://127.0.0.1:5432/, trust authentication; its
`postgres` database must exist). With it set, the server and client tests run their servers on PostgreSQL;
the storage contract tests (tests/test_storage.py and tests/test_storage_contract.py) run on both engines
always, on that server or by default on postgresql://postgres@127.0.0.1:5432/.

Each test run makes one database of its own (samtal_test_<pid>_<random>) and drops it at the end; each store
or server inside it gets a schema of its own (search_path in the address), so tests never see each other's
rows. When the server cannot be reached, the PostgreSQL tests are skipped with a message that says so, except
under CI=true, where that is a failure."""
from __future__ import annotations

import atexit
import itertools
import os
import secrets
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/"
SERVER = os.environ.get("SAMTAL_TEST_DATABASE", "")
ON_POSTGRES = SERVER.startswith(("postgresql://", "postgres://"))  # the whole suite's servers on PostgreSQL
_counter = itertools.count(1)
_state: dict[str, str] = {}


def _with_database(url: str, name: str, query: str = "") -> str:
    parts = urlsplit(url)
    if not parts.username:  # trust authentication as the postgres role unless the address names one
        parts = parts._replace(netloc=f"postgres@{parts.netloc}")
    return urlunsplit(parts._replace(path=f"/{name}", query=query))


def _run_database() -> str:
    """The address of this run's database, made on first use (or a skip/failure saying why not)."""
    if "url" in _state:
        return _state["url"]
    if "error" in _state:
        _unreachable(_state["error"])
    import psycopg

    server = SERVER or DEFAULT_SERVER
    name = f"samtal_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        with psycopg.connect(_with_database(server, "postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        _state["error"] = f"PostgreSQL at {urlsplit(server).netloc} is not reachable ({type(error).__name__}:" \
                          f" {str(error).strip().splitlines()[0] if str(error).strip() else ''})"
        _unreachable(_state["error"])
    _state["url"] = _with_database(server, name)
    atexit.register(_drop, server, name)
    return _state["url"]


def _drop(server: str, name: str) -> None:
    import psycopg

    try:
        with psycopg.connect(_with_database(server, "postgres"), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass


def _unreachable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI=true: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(message + "; the PostgreSQL tests are skipped")


def postgres_url() -> str:
    """A fresh, empty schema in this run's database, as a database address."""
    import psycopg

    base = _run_database()
    schema = f"t{os.getpid()}_{next(_counter)}_{secrets.token_hex(2)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{base}?options={quote(f'-csearch_path={schema}')}"


ENGINES = ["sqlite", "postgres"]
# Every table of the database (a test's look at what is stored), by engine.
TABLES = {"sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
          "postgres": "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"}


def engine_of(database: object) -> str:
    return "postgres" if isinstance(database, str) and database.startswith(("postgresql://", "postgres://")) \
        else "sqlite"


class _PgTestDb:
    """A psycopg connection that takes sqlite3's `?` placeholders, for tests that look into a server's database."""

    def __init__(self, url: str) -> None:
        import psycopg

        from chat.storage.postgres.engine import PgDb

        self._conn = psycopg.connect(url, autocommit=True)
        self._db = PgDb(self._conn)

    def execute(self, sql: str, params: tuple = ()):  # type: ignore[no-untyped-def, type-arg]
        return self._db.execute(sql, params)

    def commit(self) -> None:
        pass

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> _PgTestDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(database):  # type: ignore[no-untyped-def]
    """A connection to a server's database on either engine, used as sqlite3's (`with connect(...) as db`)."""
    import contextlib
    import sqlite3

    if isinstance(database, str) and database.startswith("postgresql://"):
        return _PgTestDb(database)
    return contextlib.closing(sqlite3.connect(database, isolation_level=None))


def database_errors() -> tuple[type[Exception], ...]:
    """What a refused statement raises on either engine (a trigger, a constraint)."""
    import sqlite3

    import psycopg

    return (sqlite3.DatabaseError, psycopg.Error)


def stored_bytes(database) -> bytes:  # type: ignore[no-untyped-def]
    """Everything the database holds, as bytes: the SQLite files, or every row of every table as text."""
    from pathlib import Path

    if isinstance(database, Path):
        return b"".join(p.read_bytes() for p in sorted(database.parent.glob(database.name + "*")))
    with connect(database) as db:
        tables = [t for (t,) in db.execute("SELECT table_name FROM information_schema.tables WHERE table_schema ="
                                           " current_schema()").fetchall()]
        return b"".join(str(row).encode() for t in tables for row in db.execute(f'SELECT * FROM "{t}"').fetchall())
