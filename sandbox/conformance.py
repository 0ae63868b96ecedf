"""Holding requests and replies to the contract in ``sandbox.contract``.

A request body that breaks the schema is answered as Emarsys answers bad
input: HTTP 400, replyCode 10001, a text that names the parameter. A reply the
sandbox is about to send is checked against the reply schemas, so a sandbox
that drifts from the spec fails its own tests.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from sandbox.contract import (
    REGISTRATIONS_REQUEST,
    REPLY_SCHEMAS,
    TOKEN_REQUEST_AUTHORIZATION,
    TOKEN_REQUEST_FORM,
    strict,
)
from sandbox.replies import ApiError

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

VALIDATION_CODE = 10001
_TYPE_NAMES = {"integer": "Integer", "string": "String", "array": "Array", "object": "Object"}


@cache
def _validator(kind: str, *, closed: bool) -> Draft202012Validator:
    schemas = {
        "request": REGISTRATIONS_REQUEST,
        "token.form": TOKEN_REQUEST_FORM,
        "token.authorization": TOKEN_REQUEST_AUTHORIZATION,
    }
    schema = schemas.get(kind) or REPLY_SCHEMAS[kind]
    return Draft202012Validator(strict(schema) if closed else schema)


def parameter(path: list[str | int]) -> str:
    """``sftp_settings.port`` for the path ``['sftp_settings', 'port']``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _show(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _is(instance: object, kind: object) -> bool:
    """Whether ``instance`` has the JSON type ``kind`` (``integer`` or ``string``)."""
    if kind == "integer":
        return isinstance(instance, int) and not isinstance(instance, bool)
    return kind == "string" and isinstance(instance, str)


def _message(error: ValidationError) -> str:
    """Emarsys-style text for one schema violation, naming the parameter."""
    path = list(error.absolute_path)
    name = parameter(path)
    value: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    if error.validator == "required":
        missing = next(n for n in value if n not in instance)
        return f"Missing parameter: {parameter([*path, missing])}"
    if error.validator == "additionalProperties":
        known = schema.get("properties", {})
        unknown = sorted(str(key) for key in instance if key not in known)
        return f"Unknown parameter: {parameter([*path, unknown[0]])}"
    if error.validator == "not" and path == []:
        return "Invalid parameter: sftp_settings and ftp_settings are both given; send one"
    if error.validator == "type":
        wanted = value if isinstance(value, str) else value[0]
        return f"Invalid data format for {name}. {_TYPE_NAMES.get(wanted, wanted)} expected"
    if error.validator == "anyOf" and any(_is(instance, b.get("type")) for b in value):
        return f"Invalid value for {name}: {_show(instance)}"  # right type, wrong value
    if error.validator == "anyOf":
        types = sorted({str(branch.get("type")) for branch in value})
        names = " or ".join(_TYPE_NAMES.get(t, t) for t in types)
        return f"Invalid data format for {name}. {names} expected"
    if error.validator in ("minItems", "maxItems") and name == "contact_fields":
        return "Invalid number of fields"
    if error.validator in ("minItems", "maxItems"):
        return f"Invalid data format for {name}. Array size must be {value}"
    if error.validator == "uniqueItems":
        return f"Invalid value for {name}: the items must be distinct"
    if name == "distribution_method":
        return f"Invalid distribution method: {_show(instance)}"
    return f"Invalid value for {name}: {_show(instance)}"


def check_request(body: object, *, closed: bool) -> None:
    """Raise 400/10001 naming the first parameter that breaks the getregistrations schema.

    ``closed`` (strict mode) also refuses parameters the schema does not name.
    """
    errors = sorted(
        _validator("request", closed=closed).iter_errors(body),
        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
    )
    if errors:
        raise ApiError(400, VALIDATION_CODE, _message(errors[0]))


def reply_problems(kind: str, payload: object) -> list[str]:
    """Every way ``payload`` breaks the reply schema of ``kind`` (``export.status``...)."""
    validator = _validator(kind, closed=False)
    return [
        f"{kind} reply, {parameter(list(e.absolute_path)) or 'envelope'}: {e.message}"
        for e in validator.iter_errors(payload)
    ]


def token_request_problems(form: object, authorization: str | None) -> list[str]:
    """Every way a token request breaks the Postman collection's form (body and Basic)."""
    problems = [
        f"form body, {parameter(list(e.absolute_path)) or 'body'}: {e.message}"
        for e in _validator("token.form", closed=False).iter_errors(form)
    ]
    if not _validator("token.authorization", closed=False).is_valid(authorization):
        problems.append("Authorization: HTTP Basic credentials expected")
    return problems
