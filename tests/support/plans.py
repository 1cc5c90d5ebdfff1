"""Query plans on SQLite (EXPLAIN QUERY PLAN) and PostgreSQL (EXPLAIN), as lines of text."""

from __future__ import annotations

import re

from sqlalchemy import Connection, Executable, text

#: Tables whose full scan would make a list or a sweep cost the whole store.
BIG_TABLES = ("orders", "order_domains", "watchers", "reminders", "delivered_files", "deliveries")


def plan(connection: Connection, stmt: Executable) -> list[str]:
    """The plan the database would run ``stmt`` with, one step per line."""
    sql = str(stmt.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        return [str(row[-1]) for row in connection.execute(text("EXPLAIN QUERY PLAN " + sql))]
    return [str(row[0]) for row in connection.execute(text("EXPLAIN " + sql))]


#: Tables of a row per workspace: reading one whole is reading a handful of rows.
SMALL_TABLES = ("workspaces",)


def full_scans(lines: list[str]) -> list[str]:
    """Steps that read a big table from end to end (in a table or in a whole index); on
    PostgreSQL any sequential scan but of a SMALL_TABLES one."""
    tables = "|".join(BIG_TABLES)
    sqlite = re.compile(rf"^\s*SCAN ({tables})\b")
    postgres = re.compile(rf"Index (Only )?Scan.* on ({tables})\b")
    small = re.compile(rf"Seq Scan on ({'|'.join(SMALL_TABLES)})\b")
    found = [
        line
        for line in lines
        if sqlite.search(line) or ("Seq Scan on" in line and not small.search(line))
    ]
    # A PostgreSQL index scan with no Index Cond on the next line walks the whole index.
    for i, line in enumerate(lines):
        if postgres.search(line):
            following = lines[i + 1] if i + 1 < len(lines) else ""
            if "Index Cond" not in following:
                found.append(line)
    return found


def indexes_used(lines: list[str]) -> set[str]:
    """Names of the indexes the plan reads."""
    names = set()
    for line in lines:
        names.update(re.findall(r"(?:INDEX|using|Index Scan on) (ix_\w+|pk_\w+)", line))
    return names
