"""Switching this process's local zone for a test (``TZ`` and ``time.tzset``)."""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextlib.contextmanager
def local_zone(name: str) -> Iterator[None]:
    """Make ``name`` this process's local zone, then restore the one before.

    The tap and the sandbox of a fast-tier test run in this process, so both see it.
    """
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
