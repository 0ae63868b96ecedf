"""Child processes for the benchmark: sandboxes, timed runs, first-record probes.

Every measured program runs as its own child and is reaped with ``os.wait4``,
which returns the resource usage of exactly that child (peak RSS, CPU), so
measurements never mix with each other or with the sandboxes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
# Where the tap and the sandbox are imported from: the checkout, or a snapshot.
SOURCE = {"root": ROOT, "rev": ""}
PYTHON = str(VENV_BIN / "python")
TAP = str(VENV_BIN / "tap-emarsys-registrations")
HERE = Path(__file__).resolve().parent
ROWS_PATTERN = re.compile(r"Run finished: \d+ window\(s\), (\d+) rows")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SandboxProc:
    """A sandbox served by ``python -m sandbox`` in its own process."""

    port: int
    proc: subprocess.Popen[str]
    credentials: dict[str, Any]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def control(self, path: str, *, method: str = "GET") -> list[dict[str, Any]]:
        request = urllib.request.Request(self.base + "/_sandbox" + path, method=method)
        with urllib.request.urlopen(request, timeout=60) as reply:
            entries: list[dict[str, Any]] = json.loads(reply.read())
            return entries

    def status_polls(self) -> int:
        """``GET /api/v3/export/{id}`` requests in the request log (not ``/data``)."""
        pattern = re.compile(r"^/api/v[23]/export/\d+$")
        entries = self.control("/requests")
        return sum(1 for e in entries if e["method"] == "GET" and pattern.match(e["path"]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def use_snapshot(rev: str, dest: Path) -> None:
    """Extract ``git archive rev`` into ``dest``; children then import tap and sandbox from it."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    SOURCE["root"], SOURCE["rev"] = dest, rev


def child_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` plus PYTHONPATH on a snapshot (it wins over the editable install's .pth)."""
    if not SOURCE["rev"]:
        return dict(base)
    return {**base, "PYTHONPATH": str(SOURCE["root"])}


def start_sandbox(
    *, per_day: int, export_delay: float, days: int = 1, file_cache: str | None = None
) -> SandboxProc:
    """Start the sandbox CLI on a free port; return once it printed its credentials.

    With ``file_cache`` the sandbox renders each distinct export once to a file and
    serves it with a Content-Length at disk speed, standing in for Emarsys' stored
    export files; without it, bodies are rendered while streaming (chunked).
    """
    port = free_port()
    args = [PYTHON, "-m", "sandbox", "--port", str(port), "--start", "2024-03-29"]
    args += ["--days", str(days), "--per-day", str(per_day)]
    args += ["--export-delay", str(export_delay)]
    # Every measured run fetches a token; Emarsys' token limits (2 a minute, 10 an hour
    # per client_id, on in the sandbox by default) would fail the runs, not time them.
    args += ["--token-limit-minute", "0", "--token-limit-hour", "0"]
    if file_cache is None:
        args += ["--framing", "chunked"]
    else:
        args += ["--framing", "content-length", "--file-cache", file_cache]
    proc = subprocess.Popen(
        args,
        cwd=SOURCE["root"],
        env=child_env(dict(os.environ)),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        msg = f"sandbox on port {port} did not start (exit {proc.wait()})"
        raise RuntimeError(msg)
    return SandboxProc(port, proc, json.loads(line))


def tap_config(sb: SandboxProc, **settings: object) -> dict[str, Any]:
    """OAuth config for the tap against ``sb``; ``settings`` override the rest."""
    config: dict[str, Any] = {
        "client_id": sb.credentials["client_id"],
        "client_secret": sb.credentials["client_secret"],
        "token_url": sb.credentials["token_url"],
        "api_url": sb.credentials["api_url"],
    }
    config.update(settings)
    return config


@dataclass
class RunResult:
    """Wall time, CPU and peak RSS of one child, and the rows it reported."""

    label: str
    wall_s: float
    cpu_s: float
    maxrss_mib: float
    exit_code: int
    rows: int | None = None
    stderr_tail: list[str] = field(default_factory=list)
    spread: float = 0.0  # of alternated runs: (slowest - fastest) / median wall time

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_timed(
    label: str,
    argv: list[str],
    workdir: Path,
    env: dict[str, str],
) -> RunResult:
    """Run ``argv`` with stdout to /dev/null; time it from spawn to exit."""
    err_path = workdir / f"{label}.stderr"
    with err_path.open("w") as err, open(os.devnull, "wb") as null:  # noqa: PTH123
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, cwd=SOURCE["root"], stdout=null, stderr=err, env=child_env(env)
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = err_path.read_text(errors="replace")
    match = ROWS_PATTERN.search(text)
    rows = int(match.group(1)) if match else _reported_rows(text)
    return RunResult(
        label=label,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        maxrss_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
        exit_code=proc.returncode,
        rows=rows,
        stderr_tail=text.strip().splitlines()[-3:],
    )


def _reported_rows(text: str) -> int | None:
    """``rows=N`` (the floor program), else the SDK's ``record_count`` metric."""
    found = re.findall(r"\brows=(\d+)", text) or re.findall(
        r'"metric":\s*"record_count",\s*"value":\s*(\d+)', text
    )
    return int(found[-1]) if found else None


def first_record_seconds(
    argv: list[str],
    env: dict[str, str],
    timeout: float = 120.0,
) -> float | None:
    """Seconds from spawn until the first RECORD line reaches stdout; then kill the child."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=SOURCE["root"],
        env=child_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    stdout: IO[bytes] | None = proc.stdout
    assert stdout is not None
    seconds: float | None = None
    try:
        for line in stdout:
            if line.startswith(b'{"type":"RECORD"'):
                seconds = time.perf_counter() - started
                break
            if time.perf_counter() - started > timeout:
                break
    finally:
        proc.kill()
        stdout.close()
        proc.wait()
    return seconds


def run_json(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``argv`` and return the JSON object it prints as its last stdout line."""
    done = subprocess.run(
        argv, cwd=SOURCE["root"], env=child_env(env), capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")


def helper(name: str) -> str:
    return str(HERE / name)


def source_state() -> dict[str, str]:
    """Git HEAD, uncommitted tap/sandbox files and a digest of their sources."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    root = SOURCE["root"]
    digest = hashlib.sha256()
    for path in sorted([*root.glob("tap_emarsys_registrations/*.py"), *root.glob("sandbox/*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    if SOURCE["rev"]:
        head, dirty = git("rev-parse", "--short", SOURCE["rev"]), "0"
    else:
        head = git("rev-parse", "--short", "HEAD")
        changes = git("status", "--porcelain", "--", "tap_emarsys_registrations", "sandbox")
        dirty = str(len(changes.splitlines()))
    return {
        "tree": "snapshot" if SOURCE["rev"] else "working tree",
        "head": head or "unknown",
        "dirty_files": dirty,
        "sources_sha256": digest.hexdigest()[:12],
    }


def machine_info() -> dict[str, str]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    from importlib.metadata import version  # noqa: PLC0415 - only needed here

    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "python": platform.python_version(),
        "singer_sdk": version("singer-sdk"),
        "msgspec": version("msgspec"),
        "platform": sys.platform,
    }
