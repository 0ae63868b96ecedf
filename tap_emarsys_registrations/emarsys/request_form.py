"""The form of an sftp export request that Emarsys takes, learned once per run.

Emarsys' published contract contradicts itself twice for ``distribution_method
sftp`` (README "Export parameters"):

- the key of the server settings: ``sftp_settings`` (the current spec) or
  ``ftp_settings`` (the spec's own example and the older docs);
- the type of ``port``: a string (the current spec) or an integer (the older docs).

The tap sends the current spec's form first. When Emarsys refuses it with a
400 that names the key or the port, that one part switches to the other
reading, once per run, and the request is sent again. The form that worked is
kept for the rest of the run and shared by every worker thread. Until a form
has worked, one thread at a time sends, so each contradiction costs at most one
refused request per run. Both keys are never sent together.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterator

LOGGER: Final = logging.getLogger(__name__)
SPEC_KEY: Final = "sftp_settings"
OLDER_KEY: Final = "ftp_settings"
# A refusal of the settings key itself (not of one of its entries).
_KEY_REFUSED: Final = re.compile(r"\bs?ftp_settings\b(?!\.)")
# A refusal of the port's type.
_PORT_REFUSED: Final = re.compile(r"\bs?ftp_settings\.port\b|\bport\b.*\b(string|integer|type)\b")


@dataclass(frozen=True, slots=True)
class RequestForm:
    """How the server settings of an sftp export are sent."""

    settings_key: str = SPEC_KEY
    port_as_string: bool = True

    def render(self, settings: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The key and the settings object to send (the port in this form's type)."""
        sent = dict(settings)
        if "port" in sent:
            sent["port"] = str(sent["port"]) if self.port_as_string else int(sent["port"])
        return self.settings_key, sent

    def describe(self) -> str:
        """``sftp_settings with the port as a string``, for the log."""
        port = "a string" if self.port_as_string else "an integer"
        return f"{self.settings_key} with the port as {port}"


class RequestForms:
    """The run's current form, its switches so far, and whether a form has worked."""

    def __init__(self, first: RequestForm | None = None) -> None:
        self._form = first or RequestForm()
        self._switched: set[str] = set()
        self._settled = False
        self._lock = threading.Lock()
        self._sending = threading.Lock()

    @property
    def current(self) -> RequestForm:
        """The form the next request is sent in."""
        with self._lock:
            return self._form

    @contextlib.contextmanager
    def sending(self) -> Iterator[RequestForm]:
        """The form to send in; one sender at a time until a form has worked."""
        if self._settled:
            yield self.current
            return
        with self._sending:
            yield self.current

    def worked(self, form: RequestForm) -> None:
        """Emarsys took ``form``: keep it for the rest of the run."""
        with self._lock:
            if self._settled:
                return
            self._settled = True
        if self._switched:
            LOGGER.info("Emarsys takes the sftp settings as %s; using it", form.describe())

    def learn(self, sent: RequestForm, reply_text: str) -> bool:
        """Switch the part of the form that ``reply_text`` refuses; False when none is left.

        The key and the port each switch at most once per run. A thread that was
        refused in a form another thread already switched away from sends again.
        """
        lowered = reply_text.lower()
        part = None
        if _PORT_REFUSED.search(lowered):
            part = "port"
        elif _KEY_REFUSED.search(lowered):
            part = "key"
        if part is None:
            return False
        with self._lock:
            if self._form != sent:
                return True
            if part in self._switched or self._settled:
                return False
            self._switched.add(part)
            if part == "port":
                self._form = replace(sent, port_as_string=not sent.port_as_string)
            else:
                other = OLDER_KEY if sent.settings_key == SPEC_KEY else SPEC_KEY
                self._form = replace(sent, settings_key=other)
            form = self._form
        LOGGER.info(
            "Emarsys refused the sftp settings as %s; sending them as %s",
            sent.describe(),
            form.describe(),
        )
        return True
