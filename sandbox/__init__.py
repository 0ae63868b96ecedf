"""A local simulator of the Emarsys export API ("the sandbox").

Standard library only, apart from ``jsonschema``, which holds requests and replies to
Emarsys' published contract (``sandbox.contract``), and paramiko for SFTP uploads.

Typical use::

    from sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(export_delay_seconds=1)) as sb:
        ...  # point the tap at sb.api_url / sb.token_url

Run ``python -m sandbox --help`` to serve it from the command line.
"""

from __future__ import annotations

from sandbox.config import Faults, SandboxConfig
from sandbox.dataset import Dataset, Registration, TruthRow
from sandbox.exports import ExportJobInfo
from sandbox.fields import Field
from sandbox.requestlog import RequestLogEntry
from sandbox.server import Sandbox
from sandbox.values import Value, render_value

__all__ = [
    "Dataset",
    "ExportJobInfo",
    "Faults",
    "Field",
    "Registration",
    "RequestLogEntry",
    "Sandbox",
    "SandboxConfig",
    "TruthRow",
    "Value",
    "render_value",
]
