"""Command line: ``python -m sandbox --port 8765 ...`` serves until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sandbox.config import (
    BOUNDS,
    EXPORT_ID_FORMS,
    EXPORT_SCOPES,
    FRAMINGS,
    IN_PROGRESS_SPELLINGS,
    PAGING_FORMS,
    PORT_TYPES,
    SFTP_KEYS,
    SandboxConfig,
)
from sandbox.profile import Burst
from sandbox.server import Sandbox

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import FrameType


def _start(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _burst(text: str) -> Burst:
    try:
        return Burst.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """Return the CLI argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve a local Emarsys API simulator on 127.0.0.1.",
    )
    add = parser.add_argument
    add("--port", type=int, default=8765, help="port to bind (0 = any free port)")
    add(
        "--start",
        type=_start,
        default=SandboxConfig().start,
        help="dataset start, ISO date/datetime (UTC if no offset)",
    )
    add("--days", type=int, default=4, help="number of days of registrations")
    add("--per-day", type=int, default=40, help="random registrations per UTC day")
    add(
        "--burst",
        type=_burst,
        action="append",
        default=[],
        metavar="YYYY-MM-DD:DAYS:PER_DAY",
        help="a campaign: PER_DAY registrations a day for DAYS days (repeatable)",
    )
    add("--seed", type=int, default=42, help="dataset and fault RNG seed")
    add(
        "--export-delay",
        type=float,
        default=0.0,
        help="fixed seconds every export takes (its overhead)",
    )
    add(
        "--export-seconds-per-1000-rows",
        type=float,
        default=0.0,
        help="seconds an export takes per 1,000 rows it selects, on top of --export-delay",
    )
    add("--expiry", type=float, default=None, help="seconds after done until /data is gone")
    add(
        "--bounds",
        choices=BOUNDS,
        default="[]",
        metavar="BOUNDS",
        help="time_range bound inclusivity: one of [] [) (] () (default [])",
    )
    add(
        "--in-progress-spelling",
        choices=IN_PROGRESS_SPELLINGS,
        default="in progress",
        help="how export status replies spell a running export (default 'in progress')",
    )
    add("--bom", action="store_true", help="prefix CSV downloads with a UTF-8 BOM")
    add("--lf", action="store_true", help="end CSV lines with \\n instead of \\r\\n")
    add("--framing", choices=FRAMINGS, default="content-length", help="CSV body framing")
    add("--chunk-size", type=int, default=65536, help="bytes per socket write of CSV bodies")
    add("--download-pause", type=float, default=0.0, help="seconds after each CSV chunk")
    add("--row-cap", type=int, default=None, help="data rows per /data answer (default: no cap)")
    add(
        "--paging",
        choices=PAGING_FORMS,
        default="both",
        help="offset/limit forms /data honours: query (?offset=), path (/offset=), both, none",
    )
    add("--header-once", action="store_true", help="later /data pages carry no header row")
    add("--rate-limit", type=int, default=None, help="requests per window (default off)")
    add("--rate-window", type=float, default=60.0, help="rate-limit window in seconds")
    add("--token-ttl", type=float, default=3600.0, help="OAuth token lifetime in seconds")
    add(
        "--token-limit-minute",
        type=int,
        default=2,
        help="token requests a minute per client_id (0 = no limit; default 2, as documented)",
    )
    add(
        "--token-limit-hour",
        type=int,
        default=10,
        help="token requests an hour per client_id (0 = no limit; default 10, as documented)",
    )
    add(
        "--token-retry-after",
        action="store_true",
        help="send Retry-After with the token endpoint's 429 (the docs do not say)",
    )
    add(
        "--export-scope",
        choices=EXPORT_SCOPES,
        default="account",
        help="who may poll an export: any credential of the account, or only the one that "
        "started it (the docs do not say)",
    )
    add(
        "--wsse-retired",
        action="store_true",
        help="refuse every WSSE (v2) request with 401/1, as after Emarsys retires WSSE",
    )
    add("--clock-offset", type=float, default=0.0, help="server clock offset in seconds")
    add(
        "--permissions",
        default=None,
        help="comma-separated permissions of the API user (default: all)",
    )
    _add_contract_options(add)
    add(
        "--file-cache",
        default=None,
        metavar="DIR",
        help="render each distinct export body once into DIR and serve the file (benchmarks)",
    )
    return parser


def _add_contract_options(add: Callable[..., object]) -> None:
    """The contract (sandbox/contract.py) and a switch for each of its contradictions."""
    add(
        "--lenient-contract",
        action="store_true",
        help="accept getregistrations parameters the contract does not name (default: refuse)",
    )
    add(
        "--sftp-settings-key",
        choices=SFTP_KEYS,
        default="either",
        help="the key sftp's server settings must come in (sftp_settings_strict: only "
        "sftp_settings, and ftp_settings refused as unknown; default either)",
    )
    add(
        "--sftp-port-type",
        choices=PORT_TYPES,
        default="either",
        help="the type sftp's port must have (default either)",
    )
    add("--refuse-ftp", action="store_true", help='refuse distribution_method "ftp"')
    add(
        "--limit-answers-json",
        action="store_true",
        help="answer /data requests that carry limit with JSON, as the current spec says",
    )
    add(
        "--limit-json-as-csv",
        action="store_true",
        help="label those JSON answers text/csv, as the spec declares for /data",
    )
    add(
        "--data-answers-json",
        action="store_true",
        help="answer every /data request with JSON, limit or not",
    )
    add(
        "--export-id-form",
        choices=EXPORT_ID_FORMS,
        default="spec",
        help="the export id in replies: spec (integer when started, string in the status), "
        "integer or string",
    )
    add("--status-type", default="Registrations", help='the status reply\'s "type"')


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    """Translate parsed CLI arguments into a ``SandboxConfig``."""
    permissions = None
    if args.permissions is not None:
        permissions = frozenset(p.strip() for p in args.permissions.split(",") if p.strip())
    return SandboxConfig(
        port=args.port,
        seed=args.seed,
        start=args.start,
        days=args.days,
        per_day=args.per_day,
        bursts=tuple(args.burst),
        token_ttl_seconds=args.token_ttl,
        token_limit_per_minute=args.token_limit_minute or None,
        token_limit_per_hour=args.token_limit_hour or None,
        token_retry_after=args.token_retry_after,
        export_delay_seconds=args.export_delay,
        export_seconds_per_thousand_rows=args.export_seconds_per_1000_rows,
        export_expiry_seconds=args.expiry,
        bounds=args.bounds,
        in_progress_spelling=args.in_progress_spelling,
        export_scope=args.export_scope,
        bom=args.bom,
        crlf=not args.lf,
        framing=args.framing,
        chunk_size=args.chunk_size,
        download_pause_seconds=args.download_pause,
        download_row_cap=args.row_cap,
        paging_forms=args.paging,
        header_on_every_page=not args.header_once,
        rate_limit_per_minute=args.rate_limit,
        rate_limit_window_seconds=args.rate_window,
        permissions=permissions,
        file_cache_dir=args.file_cache,
        clock_offset_seconds=args.clock_offset,
        strict_contract=not args.lenient_contract,
        sftp_settings_key=args.sftp_settings_key,
        sftp_port_type=args.sftp_port_type,
        refuse_ftp=args.refuse_ftp,
        limit_answers_json=args.limit_answers_json,
        limit_json_labelled_csv=args.limit_json_as_csv,
        data_answers_json=args.data_answers_json,
        export_id_form=args.export_id_form,
        status_type=args.status_type,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGTERM or SIGINT; return the exit status."""
    args = build_parser().parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with Sandbox(config_from_args(args)) as sandbox:
        sandbox.faults.wsse_retired = args.wsse_retired
        print(json.dumps(sandbox.credentials()), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
