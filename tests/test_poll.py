"""Every "until X, the deadline or stop" wait goes through one Poll, on the injected clock.

The clock here is fake: sleeping moves it on at once, so nothing sleeps in real
time and no test looks at the wall clock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from tap_emarsys_registrations.clock import Clock
from tap_emarsys_registrations.delivery import remote_delivery
from tap_emarsys_registrations.errors import ExportTimeoutError
from tap_emarsys_registrations.poll import SLEEP_SLICE_SECONDS, CancelledError, Poll, PollPolicy
from tap_emarsys_registrations.settings.host_key import parse_host_key
from tap_emarsys_registrations.settings.remote import RemoteSettings
from tests.remote_servers import HOST, PASSWORD, USER, FtpServer, SftpServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tap_emarsys_registrations.delivery.remote import RemoteDelivery


class FakeClock:
    """A monotonic clock moved on only by sleeping; it can request a stop after some sleeps."""

    def __init__(self, stop: threading.Event | None = None, stop_after: int = 0) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._stop, self._stop_after = stop, stop_after

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self._stop is not None and len(self.sleeps) == self._stop_after:
            self._stop.set()  # as another thread stopping the run would

    @property
    def clock(self) -> Clock:
        return Clock(time=lambda: self.now, monotonic=lambda: self.now, sleep=self.sleep)


def test_intervals_grow_by_half_up_to_the_cap() -> None:
    intervals = PollPolicy(2.0, 5.0, 100.0).intervals()
    assert [next(intervals) for _ in range(6)] == [2.0, 3.0, 4.5, 5.0, 5.0, 5.0]


def test_a_wait_sleeps_its_interval_in_short_slices() -> None:
    fake = FakeClock()
    poll = Poll(PollPolicy(1.0, 10.0, 100.0), fake.clock, threading.Event())
    assert poll.wait() is True
    assert poll.elapsed() == pytest.approx(1.0)
    assert all(s <= SLEEP_SLICE_SECONDS for s in fake.sleeps)
    assert sum(fake.sleeps) == pytest.approx(1.0)
    assert poll.wait() is True
    assert poll.elapsed() == pytest.approx(2.5), "the second wait is 1.5x the first"


def test_no_wait_runs_past_the_deadline() -> None:
    fake = FakeClock()
    poll = Poll(PollPolicy(1.0, 1.0, 2.5), fake.clock, None)
    assert [poll.wait(), poll.wait()] == [True, True]
    slept = len(fake.sleeps)
    assert poll.wait() is False, "a third second would end after the 2.5 s deadline"
    assert len(fake.sleeps) == slept, "giving up does not sleep"
    assert poll.next_wait() is None
    assert poll.elapsed() == pytest.approx(2.0)


def test_a_stop_ends_a_wait_at_the_next_slice() -> None:
    stop = threading.Event()
    fake = FakeClock(stop, stop_after=3)
    poll = Poll(PollPolicy(60.0, 60.0, 3600.0), fake.clock, stop)
    with pytest.raises(CancelledError):
        poll.wait()
    assert fake.sleeps == [SLEEP_SLICE_SECONDS] * 3, "no slice is slept after the stop"
    stop_before = threading.Event()
    stop_before.set()
    idle = FakeClock()
    with pytest.raises(CancelledError):
        Poll(PollPolicy(60.0, 60.0, 3600.0), idle.clock, stop_before).sleep(5.0)
    assert idle.sleeps == []


# FTP: waiting for a file that is not on the server (yet), against a real FTP server.


@pytest.fixture(params=["ftp", "sftp"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FtpServer | SftpServer]:
    (tmp_path / "exports").mkdir()
    with FtpServer(tmp_path) if request.param == "ftp" else SftpServer(tmp_path) as running:
        yield running


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FtpServer]:
    (tmp_path / "exports").mkdir()
    with FtpServer(tmp_path) as running:
        yield running


def _delivery(
    server: FtpServer | SftpServer,
    fake: FakeClock,
    stop: threading.Event,
    timeout: float = 3600.0,
) -> RemoteDelivery:
    remote = RemoteSettings(
        method="ftp" if isinstance(server, FtpServer) else "sftp",
        host=HOST,
        port=server.port,
        username=USER,
        password=PASSWORD,
        folder="exports",
        tls=False,
        delete_after=True,
        host_key=parse_host_key(server.fingerprint) if isinstance(server, SftpServer) else None,
    )
    policy = PollPolicy(5.0, 60.0, timeout)
    return remote_delivery(remote, policy, fake.clock, timeout=10, stop=stop)


STATUS = {"status": "done", "file_name": "export_7.csv"}


def test_a_stop_ends_the_wait_for_a_missing_remote_file_and_loses_nothing(
    server: FtpServer | SftpServer,
) -> None:
    stop = threading.Event()
    fake = FakeClock(stop, stop_after=2)
    delivery = _delivery(server, fake, stop)
    with pytest.raises(CancelledError):
        delivery.open(7, STATUS, "window 1")
    assert sum(fake.sleeps) == pytest.approx(2 * SLEEP_SLICE_SECONDS), "it ended promptly"
    if isinstance(server, FtpServer):
        assert server.commands["SIZE"] == 1, "one look for the file, none after the stop"
    # The file arrives; the next run reads all of it, and only then deletes it.
    content = b"user_id;registered_at\n1;2024-01-01 00:00:00\n"
    (server.root / "exports" / "export_7.csv").write_bytes(content)
    again = _delivery(server, FakeClock(), threading.Event())
    body = again.open(7, STATUS, "window 1")
    try:
        assert b"".join(body.chunks) == content
        assert body.expected_length == len(content)
    finally:
        body.close()
    again.window_done(7, STATUS)
    assert server.files("exports") == []


def test_a_missing_remote_file_is_waited_for_until_the_deadline_on_the_clock(
    ftp: FtpServer,
) -> None:
    fake = FakeClock()
    delivery = _delivery(ftp, fake, threading.Event(), timeout=20.0)
    with pytest.raises(ExportTimeoutError, match=r"export_7\.csv' is still missing"):
        delivery.open(7, STATUS, "window 1")
    # Waits of 5 and 7.5 s fit in 20 s; the next (11.25 s) would not.
    assert sum(fake.sleeps) == pytest.approx(12.5)
    assert ftp.commands["SIZE"] == 3
