"""A hanging test ends the run with every thread's stack instead of hanging it."""

from __future__ import annotations

import pytest

HANGS = """
import threading


def test_hangs_in_a_worker_thread():
    blocked = threading.Thread(target=threading.Event().wait, name="stuck-worker")
    blocked.start()
    blocked.join()
"""


def test_every_test_has_a_timeout_by_the_thread_method(request: pytest.FixtureRequest) -> None:
    assert request.config.pluginmanager.hasplugin("timeout")
    assert float(request.config.getini("timeout")) == 60
    assert request.config.getini("timeout_method") == "thread"


@pytest.mark.slow  # runs pytest in a subprocess
@pytest.mark.timeout(120)
def test_a_hang_in_a_worker_thread_is_ended_with_its_stack(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_hangs=HANGS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", "timeout=2", "-o", "timeout_method=thread"
    )
    assert result.ret != 0
    output = result.stdout.str() + result.stderr.str()
    assert "Timeout" in output
    assert "stuck-worker" in output, "the stuck thread's stack is shown"
