"""A sync closes its HTTP sessions, the worker threads' included: no connection stays open.

Worker threads end with their sessions; unclosed, their sockets stayed open until
the garbage collector found them (and then warned about them).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sandbox import Sandbox, SandboxConfig
from tests.conftest import expected_keys, record_keys, run_tap, tap_config

ESTABLISHED = "01"


def _open_connections_to(port: int) -> int:
    """TCP connections of this machine in ESTABLISHED state whose remote port is ``port``."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            count += remote_port == port and fields[3] == ESTABLISHED
    return count


def test_a_concurrent_sync_leaves_no_connection_open() -> None:
    with Sandbox(SandboxConfig(days=4, per_day=5)) as sb:
        config = sb.config
        run = run_tap(tap_config(sb, window_hours=12, max_concurrent_exports=4))
        assert run.error is None, run.error
        end = config.start + dt.timedelta(days=config.days)
        assert record_keys(run) == expected_keys(sb, config.start, end)
        assert _open_connections_to(sb.port) == 0
