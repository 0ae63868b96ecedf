"""Rendered export files kept on disk, so benchmarks download at disk speed.

Each distinct export body (request and rendering) is rendered once into the
folder and served from there afterwards.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.csvrender import FileBody

if TYPE_CHECKING:
    from sandbox.csvrender import CsvBody


class FileCache:
    """A folder of rendered export files, keyed by a digest of what they contain."""

    def __init__(self, folder: str) -> None:
        self._folder = Path(folder)
        self._lock = threading.Lock()

    def body(self, rendered: CsvBody, request_body: dict[str, Any]) -> FileBody:
        """The file of an identical earlier export, or a newly rendered one."""
        canonical = json.dumps(request_body, sort_keys=True) + repr(rendered.spec)
        path = self._folder / (hashlib.sha256(canonical.encode()).hexdigest()[:24] + ".csv")
        with self._lock:
            self._folder.mkdir(parents=True, exist_ok=True)
            if path.exists():
                return FileBody(str(path))
            return FileBody.render(rendered, str(path))
