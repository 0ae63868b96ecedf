"""Dump a loaded table as JSON lines with typed values; runs in a target's own venv.

    <venv>/bin/python tests/target_reader.py duckdb <file> <schema>
    <venv>/bin/python tests/target_reader.py postgres <port> <schema>

The first line maps each column to its stored type; every further line is one row,
with values tagged by the Python type the database driver returned.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from typing import Any

COLUMN_TYPES = (
    "select column_name, data_type from information_schema.columns "
    "where table_schema = '{schema}' and table_name = 'registrations'"
)


def tag(value: Any) -> Any:
    """A JSON value that keeps the driver's type."""
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    return value


def main(kind: str, where: str, schema: str) -> None:
    if kind == "duckdb":
        import duckdb

        connection: Any = duckdb.connect(where, read_only=True)
    else:
        import psycopg

        connection = psycopg.connect(
            host="127.0.0.1", port=int(where), user="postgres", dbname="postgres"
        )
    cursor = connection.cursor()
    cursor.execute(COLUMN_TYPES.format(schema=schema))
    print(json.dumps(dict(cursor.fetchall())))
    cursor.execute(f'select * from "{schema}".registrations')
    names = [column[0] for column in cursor.description]
    for row in cursor.fetchall():
        print(json.dumps({name: tag(value) for name, value in zip(names, row, strict=True)}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
