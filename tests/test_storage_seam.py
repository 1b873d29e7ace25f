"""All SQL stays behind the storage interfaces (issue #11): outside chat/storage/sql/ (the SQL both engines
run), chat/storage/sqlite/ and chat/storage/postgres/ (the engines), no module of the product imports a
database driver or the SQLite writer, reaches a store's `writer`, or holds SQL text.

How SQL text is found (a heuristic, kept simple on purpose): every string literal, f-strings' literal parts
included, is matched against the statements' openings written the way this code base writes SQL, in capitals:
`SELECT ... FROM`, `INSERT INTO`, `INSERT OR ...`, `UPDATE <table> SET`, `DELETE FROM`, `CREATE TABLE|INDEX|
TRIGGER`, `PRAGMA`, `BEGIN IMMEDIATE`. Prose in docstrings ("select a time", "update the page") is in lower
case and does not match; a docstring that quotes SQL in capitals would, and is better rephrased."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("chat", "web", "crypto")
ALLOWED = ("chat/storage/sql/", "chat/storage/sqlite/", "chat/storage/postgres/")
# The one module that picks an engine for an address may import the implementations (but holds no SQL).
PICKS_ENGINE = "chat/storage/engines.py"
DRIVERS = {"sqlite3", "aiosqlite", "psycopg", "psycopg_pool", "asyncpg"}
SQL = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+(INTO|OR)\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
                 r"|\bCREATE\s+(TABLE|INDEX|UNIQUE|TRIGGER)\b|\bPRAGMA\b|\bBEGIN\s+IMMEDIATE\b")


def product_modules() -> list[tuple[str, ast.Module]]:
    found = []
    for top in PRODUCT:
        for path in sorted((ROOT / top).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if not name.startswith(ALLOWED):
                found.append((name, ast.parse(path.read_text(encoding="utf-8"), name)))
    return found


def violations(name: str, tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{name}:{node.lineno} imports {a.name}" for a in node.names
                      if a.name.split(".")[0] in DRIVERS]
        elif isinstance(node, ast.ImportFrom) and node.module:
            implementation = node.module.startswith(("chat.storage.sqlite", "chat.storage.postgres",
                                                     "chat.storage.sql"))
            if node.module.split(".")[0] in DRIVERS or (implementation and name != PICKS_ENGINE):
                found.append(f"{name}:{node.lineno} imports from {node.module}")
        elif isinstance(node, ast.Attribute) and node.attr == "writer" and (
                getattr(node.value, "id", None) in {"store", "storage"}
                or getattr(node.value, "attr", None) in {"store", "storage"}):
            found.append(f"{name}:{node.lineno} reaches the store's writer")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"{name}:{node.lineno} holds SQL: {node.value[:60]!r}")
    return found


def test_no_sql_or_driver_outside_the_storage_implementations() -> None:
    found = [v for name, tree in product_modules() for v in violations(name, tree)]
    assert found == []


def test_the_check_finds_what_it_looks_for() -> None:
    """The heuristic itself: each kind of breach is found, prose is not."""
    source = '''
import sqlite3
from psycopg import sql
from chat.storage.sqlite.writer import SqliteWriter
rows = store.writer.transaction(lambda db: db.execute(f"SELECT id FROM {table} WHERE x = ?"))
db.execute("UPDATE cases SET assigned_to = ? WHERE id = ?")
doc = "Select a time from the list, then update the page and delete from your calendar."
'''
    found = violations("example.py", ast.parse(source))
    assert sorted(v.split(" ", 1)[1].split(":")[0] for v in found) == sorted([
        "imports sqlite3", "imports from psycopg", "imports from chat.storage.sqlite.writer",
        "reaches the store's writer", "holds SQL", "holds SQL"])
