"""Where a finished export's file is read from: the API, or the user's FTP/SFTP server.

Every delivery implements ``base.Delivery``, so each file goes through the
same streaming parser. ``remote_delivery`` picks the server protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading

    from tap_emarsys_registrations.clock import Clock
    from tap_emarsys_registrations.delivery.remote import RemoteDelivery
    from tap_emarsys_registrations.poll import PollPolicy
    from tap_emarsys_registrations.settings.remote import RemoteSettings


def remote_delivery(
    remote: RemoteSettings,
    policy: PollPolicy,
    clock: Clock,
    *,
    timeout: float,
    stop: threading.Event | None = None,
) -> RemoteDelivery:
    """The delivery for ``remote.method`` (``ftp`` or ``sftp``); its waits end on ``stop``."""
    # Imported here: paramiko takes as long to import as the SDK, so SFTP is
    # only loaded when configured, and importing any delivery module stays light.
    if remote.method == "sftp":
        from tap_emarsys_registrations.delivery.sftp import SftpDelivery  # noqa: PLC0415

        return SftpDelivery(remote, policy, clock, timeout=timeout, stop=stop)
    from tap_emarsys_registrations.delivery.ftp import FtpDelivery  # noqa: PLC0415

    return FtpDelivery(remote, policy, clock, timeout=timeout, stop=stop)
