"""authstatus.client: what a client should do about a response (no Django needed)."""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from authstatus.client import Action, Advice, header_values, interpret
from authstatus.core.challenges import format_challenges
from tests.http import (
    AUTHORIZATION_ENDPOINT,
    BASIC,
    BEARER,
    COOKIE,
    RESOURCE_METADATA,
    TOKEN_ENDPOINT,
    bearer,
    oauth2,
)

EXPIRED = bearer(("error", "invalid_token"), ("error_description", "The access token expired."))
INVALID = bearer(("error", "invalid_token"), ("error_description", "The access token is invalid."))
SCOPED = bearer(("scope", "write"), ("error", "insufficient_scope"))
BAD_REQUEST = bearer(("error", "invalid_request"), ("error_description", "Bare Bearer."))


def www(*challenges) -> dict[str, str]:
    return {"WWW-Authenticate": format_challenges(challenges)}


def test_importing_the_client_does_not_import_django():
    code = (
        "import sys; import authstatus.client; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'oauth2_provider'}); print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


# --- the rules ------------------------------------------------------------------------------

CASES = [
    # (id, status, headers, body, action)
    ("200", 200, {}, None, Action.PROCEED),
    ("204", 204, {}, None, Action.PROCEED),
    ("302 login redirect", 302, {"Location": "/accounts/login/"}, None, Action.PROCEED),
    ("401 no error: send credentials", 401, www(BEARER, COOKIE, BASIC), None,
     Action.SEND_CREDENTIALS),
    ("401 only the session scheme: log in", 401, www(COOKIE), None, Action.LOG_IN),
    ("401 expired, flows say refresh", 401,
     www(EXPIRED, oauth2("refresh_token authorization_code")), None, Action.REFRESH_TOKEN),
    ("401 flows win over the description", 401, www(EXPIRED, oauth2("authorization_code")), None,
     Action.LOG_IN),
    ("401 expired, body says refresh", 401, www(INVALID), {"resolution": "refresh_token"},
     Action.REFRESH_TOKEN),
    ("401 body wins over the description", 401, www(EXPIRED), {"resolution": "reauthenticate"},
     Action.LOG_IN),
    ("401 expired, description only", 401, www(EXPIRED), None, Action.REFRESH_TOKEN),
    ("401 invalid token", 401, www(INVALID, COOKIE, BASIC), None, Action.LOG_IN),
    ("401 invalid token, flows", 401, www(INVALID, oauth2("authorization_code")), None,
     Action.LOG_IN),
    ("401 client credentials token expired, flows", 401,
     www(EXPIRED, oauth2("client_credentials")), None, Action.REQUEST_CLIENT_TOKEN),
    ("401 client credentials token, body only", 401, www(EXPIRED),
     {"resolution": "client_credentials"}, Action.REQUEST_CLIENT_TOKEN),
    ("401 client credentials token unknown here, flows", 401,
     www(INVALID, oauth2("client_credentials")), None, Action.REQUEST_CLIENT_TOKEN),
    ("401 wrong password (body)", 401, www(BEARER, COOKIE, BASIC),
     {"resolution": "reauthenticate"}, Action.LOG_IN),
    ("401 no challenge at all", 401, {}, None, Action.SEND_CREDENTIALS),
    ("403 insufficient scope", 403, www(SCOPED), None, Action.REAUTHORIZE),
    ("403 request_scope in the body only", 403, {}, {"resolution": "request_scope",
     "required_scopes": ["write"]}, Action.REAUTHORIZE),
    ("403 forbidden", 403, {}, {"resolution": "not_permitted"}, Action.GIVE_UP),
    ("403 closed", 403, {}, None, Action.GIVE_UP),
    ("400 invalid_request", 400, www(BAD_REQUEST), None, Action.FIX_REQUEST),
    ("400 anything", 400, {}, None, Action.FIX_REQUEST),
    ("404", 404, {}, None, Action.NOT_FOUND),
    ("410", 410, {}, None, Action.NOT_FOUND),
    ("503", 503, {"Retry-After": "5"}, None, Action.RETRY_LATER),
    ("429", 429, {"Retry-After": "1"}, None, Action.RETRY_LATER),
    ("500", 500, {}, None, Action.GIVE_UP),
    ("405", 405, {"Allow": "GET"}, None, Action.GIVE_UP),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "headers", "body", "action"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_actions(status, headers, body, action):
    assert interpret(status, headers, body).action is action


def test_advice_for_an_expired_token_with_the_flow_challenge():
    flow = oauth2("refresh_token authorization_code")
    advice = interpret(401, www(EXPIRED, flow, COOKIE, BASIC))
    assert advice == Advice(
        status=401,
        action=Action.REFRESH_TOKEN,
        challenges=(EXPIRED, flow, COOKIE, BASIC),
        schemes=("Bearer", "Cookie", "Basic"),
        error="invalid_token",
        error_description="The access token expired.",
        resource_metadata=RESOURCE_METADATA,
        flows=("refresh_token", "authorization_code"),
        authorization_endpoint=AUTHORIZATION_ENDPOINT,
        token_endpoint=TOKEN_ENDPOINT,
    )
    assert not advice.ok


def test_advice_for_insufficient_scope():
    advice = interpret(403, www(SCOPED, oauth2("authorization_code", scope="write")))
    assert (advice.action, advice.scopes, advice.error, advice.schemes) == (
        Action.REAUTHORIZE,
        ("write",),
        "insufficient_scope",
        ("Bearer",),
    )


def test_scopes_from_the_body_when_the_challenge_has_none():
    advice = interpret(403, {}, {"resolution": "request_scope", "required_scopes": ["a", "b"]})
    assert advice.scopes == ("a", "b")


def test_body_as_bytes_str_or_dict():
    body = {"type": "x", "status": 401, "resolution": "refresh_token"}
    for form in (json.dumps(body).encode(), json.dumps(body), body):
        advice = interpret(401, www(INVALID), form)
        assert (advice.action, advice.resolution) == (Action.REFRESH_TOKEN, "refresh_token")


@pytest.mark.parametrize("body", [b"\xff\xfe", "not json", "[1, 2]", b"", 42, {"resolution": 7}])
def test_unusable_bodies_are_ignored(body):
    advice = interpret(401, www(INVALID), body)
    assert (advice.action, advice.resolution) == (Action.LOG_IN, None)


def test_retry_after_seconds_and_http_date():
    assert interpret(503, {"Retry-After": "120"}).retry_after == 120
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 85 <= interpret(503, {"Retry-After": later}).retry_after <= 91
    past = format_datetime(datetime.now(UTC) - timedelta(days=1), usegmt=True)
    assert interpret(503, {"Retry-After": past}).retry_after == 0
    assert interpret(503, {"Retry-After": "soon"}).retry_after is None
    assert interpret(503, {}).retry_after is None


# --- header shapes ------------------------------------------------------------------------

LINES = [
    format_challenges([EXPIRED]),
    format_challenges([oauth2("refresh_token")]),
    "Basic realm=x",
]


def _http_message() -> http.client.HTTPMessage:
    raw = "".join(f"WWW-Authenticate: {line}\r\n" for line in LINES) + "Retry-After: 3\r\n\r\n"
    return http.client.parse_headers(io.BytesIO(raw.encode("latin-1")))


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("www-authenticate", line) for line in LINES], id="list of pairs"),
        pytest.param([(b"WWW-Authenticate", line.encode()) for line in LINES], id="bytes pairs"),
        pytest.param(httpx.Headers([("WWW-Authenticate", line) for line in LINES]), id="httpx"),
        pytest.param(_http_message(), id="urllib HTTPMessage"),
        # requests folds repeated fields into one value joined by ", " (a valid list).
        pytest.param(CaseInsensitiveDict({"www-authenticate": ", ".join(LINES)}), id="requests"),
        pytest.param({"WWW-Authenticate": list(LINES)}, id="dict of lists"),
    ],
)
def test_every_field_line_of_every_header_shape(headers):
    advice = interpret(401, headers)
    assert [c.scheme for c in advice.challenges] == ["Bearer", "OAuth2", "Basic"]
    assert advice.action is Action.REFRESH_TOKEN


def test_header_values_is_case_insensitive_and_keeps_order():
    pairs = [("X", "0"), ("www-AUTHENTICATE", "A"), ("Other", "1"), ("WWW-Authenticate", "B")]
    assert header_values(pairs, "WWW-Authenticate") == ["A", "B"]
    assert header_values(httpx.Headers(pairs), "www-authenticate") == ["A", "B"]


@pytest.mark.parametrize(
    "headers",
    [
        {"WWW-Authenticate": 'Bearer realm="unterminated'},
        {"WWW-Authenticate": "=oops"},
        {"WWW-Authenticate": ""},
        {"WWW-Authenticate": 'Bearer error="é"'},
        {"WWW-Authenticate": 'Bearer a="1", a="2"'},
        {"WWW-Authenticate": None},
        {"WWW-Authenticate": 42},
        [("WWW-Authenticate",)],
        [None],
        "WWW-Authenticate: Bearer",
        b"raw",
        42,
        None,
        object(),
    ],
)
@pytest.mark.parametrize("status", [401, 403, 400, 200])
def test_malformed_headers_never_raise(headers, status):
    advice = interpret(status, headers)
    assert advice.challenges == ()
    assert (
        advice.action
        is {
            401: Action.SEND_CREDENTIALS,
            403: Action.GIVE_UP,
            400: Action.FIX_REQUEST,
            200: Action.PROCEED,
        }[status]
    )


def test_one_malformed_line_does_not_hide_the_others():
    headers = [("WWW-Authenticate", 'Broken realm="x'), ("WWW-Authenticate", str(SCOPED))]
    advice = interpret(403, headers)
    assert (advice.challenges, advice.action) == ((SCOPED,), Action.REAUTHORIZE)


@given(
    st.integers(min_value=100, max_value=599),
    st.text(max_size=80),
    st.one_of(st.none(), st.text(max_size=40), st.binary(max_size=40)),
)
def test_anything_the_server_sends_is_advice(status, value, body):
    advice = interpret(status, {"WWW-Authenticate": value, "Retry-After": value}, body)
    assert isinstance(advice.action, Action)


def test_schemes_are_unique_and_exclude_the_flow_challenge():
    advice = interpret(401, www(BEARER, oauth2("authorization_code"), COOKIE, BASIC))
    assert advice.schemes == ("Bearer", "Cookie", "Basic")
    assert advice.flows == ("authorization_code",)
