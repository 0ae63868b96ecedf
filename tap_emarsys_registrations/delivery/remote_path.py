"""Which remote file an export names: only a plain file name inside ``ftp_settings.folder``.

The export status reply carries ``file_name`` and ``ftp_dir``. A buggy or
tampered reply must not make the tap read or delete anything else on the
user's server, so the path is always built from the configuration:
``folder/file_name``, relative to the login folder. The reply only has to
agree with it: ``file_name`` must be a plain file name, and ``ftp_dir``, when
present, must be the configured folder (``exports``, ``exports/``,
``./exports``, or the login folder plus ``exports`` as an absolute path).
Everything here is pure; the caller turns :class:`UnsafeReplyValue` into the
error the operator sees.
"""

from __future__ import annotations

import posixpath
import unicodedata
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

# Characters some FTP servers expand in a path (globs, the home folder).
_EXPANDED: Final = frozenset("*?[]{}")
_SHOWN_CHARACTERS: Final = 120


class UnsafeReplyValue(Exception):  # noqa: N818 - a value, not an error the operator sees
    """A reply field that would point outside the configured folder."""

    def __init__(self, field: str, value: object, problem: str) -> None:
        super().__init__(f"{field} {shown(value)} {problem}")
        self.field = field
        self.value = value
        self.problem = problem


def shown(value: object) -> str:
    """A reply value as it appears in a message: quoted, escaped, one line, not too long."""
    text = repr(value)
    if len(text) > _SHOWN_CHARACTERS:
        return text[: _SHOWN_CHARACTERS - 3] + "..."
    return text


def file_name_problem(value: object) -> str | None:
    """Why ``value`` is not a plain file name, or None when it is one."""
    if not isinstance(value, str) or not value:
        return "is not a file name"
    forms = (value, unicodedata.normalize("NFKC", value))
    checks = (
        (any("/" in form or "\\" in form for form in forms), "contains a folder separator"),
        (any(form in {".", ".."} for form in forms), "names a folder"),
        (
            any(unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} for char in value),
            "contains a control character",
        ),
        (value != value.strip(), "starts or ends with a space"),
        (
            value.startswith("~") or bool(_EXPANDED.intersection(value)),
            "contains a character FTP servers may expand (~ * ? [ ] { })",
        ),
    )
    return next((problem for failed, problem in checks if failed), None)


def _normal(path: str) -> str:
    """``path`` without ``.``/``..`` steps, repeated or trailing slashes; ``.`` for empty."""
    normal = posixpath.normpath(path) if path else "."
    return "/" + normal.lstrip("/") if normal.startswith("/") else normal


def folder_problem(ftp_dir: str, folder: str | None, login_folder: Callable[[], str]) -> str | None:
    """Why ``ftp_dir`` is not the configured ``folder``, or None when it is.

    ``login_folder`` returns the absolute folder the server puts the login in;
    it is called only when ``ftp_dir`` is absolute and ``folder`` is not.
    """
    if any(unicodedata.category(char) in {"Cc", "Cf"} for char in ftp_dir) or "\\" in ftp_dir:
        return "contains a control character or a backslash"
    expected = _normal(folder or "")
    if ftp_dir.startswith("/") and not expected.startswith("/"):
        expected = _normal(posixpath.join(_normal(login_folder()), expected))
    if _normal(ftp_dir) != expected:
        where = f"'{folder}'" if folder else "the login folder"
        return f"is not ftp_settings.folder ({where})"
    return None


def checked_file_name(status: dict[str, Any]) -> str:
    """The reply's ``file_name`` when it is a plain file name.

    Raises:
        UnsafeReplyValue: it is not.
    """
    name = status.get("file_name")
    problem = file_name_problem(name)
    if problem is not None or not isinstance(name, str):
        raise UnsafeReplyValue("file_name", name, problem or "is not a file name")
    return name


def confined_path(
    status: dict[str, Any], folder: str | None, login_folder: Callable[[], str]
) -> str:
    """``folder/file_name`` from the configuration, once the reply agrees with it.

    ``file_name`` is checked first; ``login_folder`` is asked only for an
    absolute ``ftp_dir``.

    Raises:
        UnsafeReplyValue: ``file_name`` is not a plain file name, or ``ftp_dir``
            is not the configured folder.
    """
    name = checked_file_name(status)
    ftp_dir = status.get("ftp_dir")
    if ftp_dir is not None and ftp_dir != "":
        if not isinstance(ftp_dir, str):
            raise UnsafeReplyValue("ftp_dir", ftp_dir, "is not a folder name")
        problem = folder_problem(ftp_dir, folder, login_folder)
        if problem is not None:
            raise UnsafeReplyValue("ftp_dir", ftp_dir, problem)
    return posixpath.join(folder, name) if folder else name
