"""The shared token store's two tables, their format version and its migrations.

The tokens table's comment carries the format version, as STATE carries its
own. The tap creates missing tables itself; a DBA may create them up front
with :data:`CREATE_SQL` (README "The shared token store") and grant the tap
only SELECT, INSERT, UPDATE and DELETE. A later format adds its statements to
:data:`MIGRATIONS`; the tap applies them when it may, and otherwise names them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import psycopg

TOKENS: Final = "tap_emarsys_registrations_tokens"
REQUESTS: Final = "tap_emarsys_registrations_token_requests"
FORMAT_VERSION: Final = 1
FORMAT_COMMENT: Final = "tap-emarsys-registrations token store, format {version}"

CREATE_SQL: Final = f"""\
CREATE TABLE IF NOT EXISTS {TOKENS} (
    token_key text PRIMARY KEY,
    sealed_token bytea NOT NULL,
    expires_at double precision NOT NULL,
    lifetime double precision NOT NULL,
    format_version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS {REQUESTS} (
    ledger_key text NOT NULL,
    requested_at double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS {REQUESTS}_key ON {REQUESTS} (ledger_key, requested_at);
COMMENT ON TABLE {TOKENS} IS '{FORMAT_COMMENT.format(version=FORMAT_VERSION)}';
"""

# Format N -> the statements that turn format N-1 into N (none yet: format 1 is the first).
MIGRATIONS: Final[dict[int, tuple[str, ...]]] = {}


class StoreFormatError(Exception):
    """The tables are of a format this tap cannot use, or cannot be brought up to date."""


def _format_of(comment: str | None) -> int:
    if comment is None:  # created by hand without the comment: the first format
        return 1
    found = re.search(r"format (\d+)", comment)
    return int(found.group(1)) if found else 1


def prepare(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Create missing tables, migrate older ones; in one transaction of ``conn``.

    Raises:
        StoreFormatError: tables of a newer format, or a migration this user may not run.
        psycopg.Error: the store failed otherwise.
    """
    row = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL, "
        "obj_description(to_regclass(%s), 'pg_class')",
        (TOKENS, REQUESTS, TOKENS),
    ).fetchone()
    assert row is not None  # a SELECT without FROM returns one row
    tokens_exist, requests_exist, comment = row
    if not (tokens_exist and requests_exist):
        # Several first runs at once: one creates, the others wait and find the tables.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        for statement in _statements(CREATE_SQL):
            conn.execute(statement.encode())
        return
    found = _format_of(comment if isinstance(comment, str) else None)
    if found > FORMAT_VERSION:
        msg = (
            f"its tables are of format {found}, written by a newer release of the tap; "
            f"this one reads format {FORMAT_VERSION}: upgrade the tap"
        )
        raise StoreFormatError(msg)
    pending = [s for v in range(found + 1, FORMAT_VERSION + 1) for s in MIGRATIONS.get(v, ())]
    if pending:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        for statement in pending:
            conn.execute(statement.encode())
        comment_sql = f"COMMENT ON TABLE {TOKENS} IS '{FORMAT_COMMENT}'"
        conn.execute(comment_sql.format(version=FORMAT_VERSION).encode())


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]


# A fixed advisory lock id for creating and migrating the tables.
_SCHEMA_LOCK: Final = 0x7461_7065_6D72_0001
