"""Emarsys' published contract for the operations the tap uses, as JSON Schemas (2020-12).

The schemas are the project's own, written from the facts of Emarsys' API
descriptions (names, types, enums, limits, required), not copied from them:

- ``SPEC``: repository api-evangelist/emarsys, path
  openapi/emarsys-contact-and-email-data-openapi.yml, commit
  ce3261ffa920a3d43080c25ffb105175ead55db9 (Swagger 2.0, harvested from dev.emarsys.com):
  ``POST /v2/contact/getregistrations``, ``GET /v2/export/{exportId}``,
  ``GET /v2/export/{exportId}/data``.
- ``FIELDS_SPEC``: repository api-evangelist/emarsys, path
  openapi/_original/emarsys-fields-openapi.yml, commit
  d268fb04b32ee5e10a04c32050588601c29acdc3 (Swagger 2.0): ``GET /v2/field/translate/{id}``.
- ``POSTMAN``: repository emartech/Emarsys-postman-collection, path
  Emarsys_postman_collection.json, commit fbb21d3d011fb38e3fd9c247b4da2906bcda6bca
  (the official v3 collection): the OAuth token request.

Where the spec is loose, the schemas are tighter (an anchored ``time_range``
format; 1-20 distinct integer ``contact_fields``). Where it contradicts itself
or the older docs, each documented reading is allowed, and a comment says so.
``scripts/contract_check.py`` compares these schemas with a fetched copy of
the spec and names what changed. Only the sandbox and the tests use this
module; the tap package never imports it.
"""

from __future__ import annotations

import copy
from typing import Any, Final

SPEC: Final = (
    "api-evangelist/emarsys",
    "openapi/emarsys-contact-and-email-data-openapi.yml",
    "ce3261ffa920a3d43080c25ffb105175ead55db9",
)
FIELDS_SPEC: Final = (
    "api-evangelist/emarsys",
    "openapi/_original/emarsys-fields-openapi.yml",
    "d268fb04b32ee5e10a04c32050588601c29acdc3",
)
POSTMAN: Final = (
    "emartech/Emarsys-postman-collection",
    "Emarsys_postman_collection.json",
    "fbb21d3d011fb38e3fd9c247b4da2906bcda6bca",
)
DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"

# SPEC getregistrations ``time_range.items.pattern`` is ``^[0-9]{4}-[0-9]{2}-[0-9]{2}``,
# unanchored at the end; the prose accepts YYYY-MM-DD, YYYY-MM-DD HH:MM and
# YYYY-MM-DD HH:MM:SS. Anchored here to exactly those three.
TIME_BOUND_PATTERN: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$"
# SPEC: contact_fields minItems 1, maxItems 20, items integer. Distinct added here.
MAX_CONTACT_FIELDS: Final = 20
DIGITS: Final = r"^[0-9]+$"
# The two names of sftp's server settings (the current spec's first).
SETTINGS_KEYS: Final = ("sftp_settings", "ftp_settings")

# SPEC getregistrations ``sftp_settings``: host, port, username, password, folder, all
# strings. Contradiction: the older docs (and the spec's own example, under the name
# ftp_settings) give the port as an integer; both readings are allowed.
REMOTE_SETTINGS: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "host": {"type": "string", "minLength": 1},
        "port": {
            "anyOf": [
                {"type": "string", "pattern": DIGITS},  # SPEC: string, example '1234'
                {"type": "integer", "minimum": 1, "maximum": 65535},  # the older docs
            ]
        },
        "username": {"type": "string"},
        "password": {"type": "string"},
        "folder": {"type": "string"},
    },
}

REGISTRATIONS_REQUEST: Final[dict[str, Any]] = {
    "$schema": DRAFT,
    "title": "POST contact/getregistrations body (SPEC)",
    "type": "object",
    "required": ["distribution_method", "time_range", "contact_fields"],
    "properties": {
        # Contradiction: SPEC enum is local | sftp; its prose and example use ftp (with
        # ftp_settings), as do the 2015 docs (ftp | local). Each reading is allowed; a
        # sandbox switch refuses ftp.
        "distribution_method": {"type": "string", "enum": ["local", "sftp", "ftp"]},
        # SPEC: integer; its example sends a string of digits. Both allowed.
        "contactlist": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": DIGITS}]},
        "time_range": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {"type": "string", "pattern": TIME_BOUND_PATTERN},
        },
        "with_timestamp": {"type": "integer", "enum": [0, 1]},
        "contact_fields": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_CONTACT_FIELDS,
            "uniqueItems": True,
            "items": {"type": "integer"},
        },
        "delimiter": {"type": "string", "enum": [",", ";"]},
        "add_field_names_header": {"type": "integer", "enum": [0, 1]},
        # SPEC: pattern ^[a-z]{2} with minLength 2 and maxLength 2, i.e. anchored.
        "language": {"type": "string", "pattern": "^[a-z]{2}$"},
        # Contradiction: SPEC names sftp_settings; its prose, its example and the older
        # docs name ftp_settings. Either key is allowed, never both at once.
        "sftp_settings": REMOTE_SETTINGS,
        "ftp_settings": REMOTE_SETTINGS,
        "notification_url": {"type": "string"},
    },
    "not": {"required": ["sftp_settings", "ftp_settings"]},
}

# SPEC: the start reply's ``data.id`` is an integer; the status reply's ``data.id`` a
# string. Contradiction: both readings are allowed in both replies.
EXPORT_ID: Final[dict[str, Any]] = {
    "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": DIGITS}]
}


def _envelope(data: dict[str, Any], title: str) -> dict[str, Any]:
    """SPEC 200 replies: ``additionalProperties: false`` around replyCode, replyText, data."""
    return {
        "$schema": DRAFT,
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "required": ["replyCode", "replyText", "data"],
        "properties": {
            "replyCode": {"type": "integer", "const": 0},
            "replyText": {"type": "string"},
            "data": data,
        },
    }


START_REPLY: Final = _envelope(
    {"type": "object", "required": ["id"], "properties": {"id": EXPORT_ID}},
    "POST contact/getregistrations 200 reply (SPEC)",
)

STATUS_REPLY: Final = _envelope(
    {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": EXPORT_ID,
            # SPEC: a Vienna wall-clock time without offset.
            "created": {"type": "string"},
            # SPEC enum; one public client sees in_progress, which is allowed too.
            "status": {
                "type": "string",
                "enum": ["scheduled", "in progress", "in_progress", "ready", "done", "error"],
            },
            # SPEC enum Responses | Registrations misses most export kinds (changes,
            # contact list, segment) and the 2015 docs write it lowercase: any string.
            "type": {"type": "string"},
            # SPEC: typed string, described as null until done: both allowed.
            "file_name": {"type": ["string", "null"]},
            "ftp_host": {"type": "string"},
            "ftp_dir": {"type": "string"},
        },
    },
    "GET export/{exportId} 200 reply (SPEC)",
)

FIELD_LIST_REPLY: Final = _envelope(
    {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["id", "name"],
            "properties": {
                # FIELDS_SPEC: typed string, but its example is the number 14: both allowed.
                "id": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": DIGITS}]},
                "name": {"type": "string"},
                "application_type": {"type": "string"},
                "string_id": {"type": ["string", "null"]},
            },
        },
    },
    "GET field/translate/{languageId} 200 reply (FIELDS_SPEC)",
)

# POSTMAN: the collection's OAuth 2.0 block, grant_type client_credentials, client id and
# secret sent as HTTP Basic credentials, token URL .../oauth2/token; no scope.
TOKEN_REQUEST_FORM: Final[dict[str, Any]] = {
    "$schema": DRAFT,
    "title": "POST oauth2/token form body (POSTMAN)",
    "type": "object",
    "required": ["grant_type"],
    "properties": {"grant_type": {"const": "client_credentials"}},
    "additionalProperties": False,
}
TOKEN_REQUEST_AUTHORIZATION: Final[dict[str, Any]] = {
    "$schema": DRAFT,
    "title": "POST oauth2/token Authorization header (POSTMAN)",
    "type": "string",
    "pattern": r"^Basic [A-Za-z0-9+/]+={0,2}$",
}

REPLY_SCHEMAS: Final = {
    "export.start": START_REPLY,
    "export.status": STATUS_REPLY,
    "field.list": FIELD_LIST_REPLY,
}


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every object closed: parameters outside it are refused."""
    closed = copy.deepcopy(schema)
    _close(closed)
    return closed


def _close(node: object) -> None:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _close(value)
    elif isinstance(node, list):
        for item in node:
            _close(item)
