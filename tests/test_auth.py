"""WSSE signing: the documented known answer, and a fresh nonce on every request."""

from __future__ import annotations

import datetime as dt

import requests

from tap_emarsys_registrations.emarsys.auth import WsseAuthenticator, wsse_digest, wsse_header
from tap_emarsys_registrations.clock import Clock


def test_wsse_digest_known_answer() -> None:
    digest = wsse_digest("a87ff679a2f3e71d9181a67b7542122c", "2016-07-20T12:34:56+00:00", "secret")
    assert digest == "NzVhOTg3Yjg2NTcyZmE1OWMwYzIxNWQ5ZDgyMzgxZWExOGI3NGFjZQ=="


def test_wsse_header_layout() -> None:
    header = wsse_header(
        "customer001", "secret", "a87ff679a2f3e71d9181a67b7542122c", "2016-07-20T12:34:56+00:00"
    )
    assert header == (
        'UsernameToken Username="customer001", '
        'PasswordDigest="NzVhOTg3Yjg2NTcyZmE1OWMwYzIxNWQ5ZDgyMzgxZWExOGI3NGFjZQ==", '
        'Nonce="a87ff679a2f3e71d9181a67b7542122c", Created="2016-07-20T12:34:56+00:00"'
    )


def test_each_signed_request_gets_a_new_nonce_and_current_created() -> None:
    moments = iter([1469018096.0, 1469018097.5])
    clock = Clock(time=lambda: next(moments))
    auth = WsseAuthenticator(username="u", secret="s", clock=clock)
    headers = []
    for _ in range(2):
        prepared = requests.Request("GET", "http://127.0.0.1/api/v2/field").prepare()
        headers.append(auth(prepared).headers["X-WSSE"])
    nonces = [h.split('Nonce="')[1].split('"')[0] for h in headers]
    assert nonces[0] != nonces[1]
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in nonces)
    assert 'Created="2016-07-20T12:34:56+00:00"' in headers[0]
    assert 'Created="2016-07-20T12:34:57+00:00"' in headers[1]
    assert dt.datetime.fromisoformat("2016-07-20T12:34:56+00:00").timestamp() == 1469018096.0
