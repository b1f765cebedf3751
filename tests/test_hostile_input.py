"""Whatever a client sends, authstatus answers with a well-formed 2xx/400/401 — never a 5xx,
never a 2xx on a protected route without valid credentials, never an unparsable challenge."""

from __future__ import annotations

import base64
from urllib.parse import unquote_to_bytes, urlencode

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.fuzz.requests import (
    B64TOKEN_CHARS,
    authorization_values,
    check,
    hostile_paths,
    hostile_requests,
    send,
    structured_authorization,
)
from tests.http import assert_nqschar, challenges, policy_form_data

pytestmark = pytest.mark.django_db

EXAMPLES = settings(max_examples=200)


def _check_refusal_headers(response) -> None:
    status = response.status_code
    if status == 401:
        assert challenges(response), "a 401 must carry at least one challenge"
    if status == 400:
        bearer_challenges = [c for c in challenges(response) if c.matches_scheme("Bearer")]
        assert len(bearer_challenges) == 1
        (challenge,) = bearer_challenges
        assert challenge.param("error") == "invalid_request"
        assert_nqschar(challenge.param("error_description"))
    if status in (400, 401):
        assert response["Cache-Control"] == "no-store"


@EXAMPLES
@given(authorization=authorization_values)
def test_any_authorization_header_gets_a_well_formed_answer(client, alice, authorization):
    extra = {"HTTP_AUTHORIZATION": authorization}

    profile = client.get("/api/profile/", **extra)
    assert profile.status_code in (400, 401), (authorization, profile.status_code)
    _check_refusal_headers(profile)

    public = client.get("/api/public/", **extra)
    assert public.status_code in (200, 400, 401), (authorization, public.status_code)
    _check_refusal_headers(public)
    if profile.status_code == 400:
        # A malformed bearer request is malformed wherever it is sent.
        assert public.status_code == 400

    members = client.get("/members/", HTTP_ACCEPT="text/html", **extra)
    assert members.status_code == 401, (authorization, members.status_code)
    _check_refusal_headers(members)


@settings(max_examples=100)
@given(token=st.text(alphabet=B64TOKEN_CHARS, min_size=1, max_size=60))
def test_any_wellformed_unknown_token_is_invalid_token(client, db, token):
    response = client.get("/api/public/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert challenges(response)[0].param("error") == "invalid_token"


@settings(max_examples=100)
@given(password=st.text(max_size=30).filter(lambda p: p != "secret"))
def test_any_wrong_password_is_401(client, alice, password):
    raw = f"alice:{password}".encode()
    response = client.get(
        "/api/profile/", HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode()
    )
    assert response.status_code == 401
    _check_refusal_headers(response)


# --- paths -----------------------------------------------------------------------------------


@EXAMPLES
@given(path=hostile_paths(), accept=st.sampled_from([None, "text/html", "*/*"]))
def test_any_path_is_never_a_server_error(client, alice, path, accept):
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    # PATH_INFO as a server builds it from the request line: the test client's own URL
    # parsing rejects some paths a client can send ('//[' is an invalid IPv6 netloc to it).
    extra["PATH_INFO"] = unquote_to_bytes(path).decode("iso-8859-1")
    response = client.get("/", **extra)
    assert response.status_code < 500, (path, response.status_code)
    if response.status_code == 401:
        assert challenges(response)


@settings(max_examples=100)
@given(path=hostile_paths())
def test_any_path_with_credentials_is_never_a_server_error(client, alice, token, path):
    for authorization in ("Bearer no-such-token", f"Bearer {token.token}", "Bearer"):
        response = client.get(path, HTTP_AUTHORIZATION=authorization)
        assert response.status_code < 500, (path, authorization, response.status_code)


form_bodies = st.one_of(
    st.binary(max_size=200),
    st.lists(
        st.tuples(
            st.sampled_from(["access_token", "text", "x", ""]),
            st.text(max_size=20),
        ),
        max_size=6,
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode()),
)
content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/x-www-form-urlencoded; charset=bogus",
        "multipart/form-data; boundary=x",
        "application/json",
        "text/plain",
    ]
)


@settings(max_examples=100)
@given(
    body=form_bodies,
    content_type=content_types,
    path=st.sampled_from(["/api/notes/", "/api/public/", "/t/plain/", "/t/drf/echo/"]),
    authorization=st.one_of(st.none(), structured_authorization()),
)
def test_any_request_body_is_never_a_server_error(
    client, alice, body, content_type, path, authorization
):
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = client.generic("POST", path, body, content_type=content_type, **extra)
    assert response.status_code < 500, (path, body, authorization, response.status_code)
    # 400s here may be Django's (a non-UTF-8 form body) or DRF's (validation), 405 DRF's;
    # whatever authstatus itself refuses with 401 carries parsable challenges.
    if response.status_code == 401:
        assert challenges(response)
        assert response["Cache-Control"] == "no-store"


# --- whole hostile requests, every invariant (the fuzz target's, fewer examples) ---------------


@pytest.fixture
def fuzz_session(db):
    from tests.factories import AccessTokenFactory, UserFactory, VaultItemFactory
    from tests.fuzz.requests import VALID_TOKEN

    user = UserFactory(username="fuzz")
    VaultItemFactory(owner=user)
    AccessTokenFactory(user=user, token=VALID_TOKEN, scope="read write")
    login = APIClient()
    login.force_login(user)
    return login.cookies[django_settings.SESSION_COOKIE_NAME].value


@EXAMPLES
@given(hostile=hostile_requests())
def test_any_request_meets_every_invariant(fuzz_session, hostile):
    """``tests.fuzz.requests.check``: no 5xx, no CR/LF in a header, every challenge parses,
    a 401 offers only accepted schemes, no 2xx on a protected route without valid
    credentials, no credential echoed, every 404 varies alike. ``make fuzz`` runs 100,000."""
    check(hostile, send(APIClient(), hostile, fuzz_session))


@EXAMPLES
@given(hostile=hostile_requests())
def test_any_request_meets_every_invariant_with_every_token_place(fuzz_session, hostile):
    everything = {
        "MIDDLEWARE_AUTHENTICATORS": [SESSION, BEARER_AUTHENTICATOR, BASIC_AUTHENTICATOR],
        "BEARER_METHODS": ["header", "body", "query"],
    }
    with _authstatus(**everything):
        check(hostile, send(APIClient(), hostile, fuzz_session))


# --- nothing an admin or a client types can break a header --------------------------------------

SESSION = "authstatus.enforcement.authenticators.SessionAuthenticator"
BEARER_AUTHENTICATOR = "authstatus.contrib.oauth2_provider.BearerAuthenticator"
BASIC_AUTHENTICATOR = "authstatus.enforcement.authenticators.BasicAuthenticator"
QUOTED_REALM = 'my "api" \\ realm'


def _authstatus(**changes):
    return override_settings(AUTHSTATUS={**django_settings.AUTHSTATUS, **changes})


@pytest.mark.parametrize(
    ("path", "accept"),
    [("/api/profile/", None), ("/t/plain/", None), ("/t/plain/", "text/html")],
)
def test_a_realm_with_quotes_and_backslashes_is_escaped_in_real_responses(client, db, path, accept):
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    with _authstatus(
        REALM=QUOTED_REALM,
        MIDDLEWARE_AUTHENTICATORS=[SESSION, BEARER_AUTHENTICATOR, BASIC_AUTHENTICATOR],
    ):
        response = client.get(path, **extra)
    assert response.status_code == 401
    raw = response["WWW-Authenticate"]
    assert 'realm="my \\"api\\" \\\\ realm"' in raw  # quoted-pairs, RFC 9110 §5.6.4
    parsed = challenges(response)
    # A browser navigation is not offered Basic (BROWSER_HIDDEN_SCHEMES): no password dialog.
    hidden = {"Basic"} if accept == "text/html" else set()
    assert {c.scheme for c in parsed} == {"Bearer", "Cookie", "Basic"} - hidden
    assert all(c.param("realm") == QUOTED_REALM for c in parsed)


@pytest.mark.parametrize("realm", ["api\r\nSet-Cookie: x=1", "api\n", "caf\u00e9", "tab\x00"])
def test_a_realm_that_cannot_be_sent_stops_the_project_at_startup(realm):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    with _authstatus(REALM=realm), pytest.raises(SystemCheckError, match=r"authstatus\.E005"):
        call_command("check")


@pytest.mark.parametrize(
    ("login_url", "form_action"),
    [
        ("/connexion/\u00e9t\u00e9/", "/connexion/%C3%A9t%C3%A9/"),
        ('/log in/"x"/', "/log%20in/%22x%22/"),
        ("/a\\b/", "/a%5Cb/"),
        ("/x\r\ny/", "/x%0D%0Ay/"),
    ],
)
def test_a_login_url_is_percent_encoded_in_the_cookie_challenge(client, db, login_url, form_action):
    """The session challenge's ``form-action`` is a URI (RFC 3986): a LOGIN_URL with
    non-ASCII, spaces, quotes or a line break is encoded, never sent raw (or a 500)."""
    with override_settings(LOGIN_URL=login_url):
        response = client.get("/t/plain/")
    assert response.status_code == 401
    (cookie,) = challenges(response)
    assert cookie.param("form-action") == form_action


CRLF_TOKENS = ["abc\r\nX-Injected: 1", "abc\nSet-Cookie: x=1", "abc\r", "\r\n\r\nHTTP/1.1 200 OK"]


@pytest.mark.parametrize("token", CRLF_TOKENS)
@pytest.mark.parametrize("place", ["header", "query", "body"])
def test_a_token_with_cr_or_lf_never_reaches_a_header(client, db, token, place):
    extra = {}
    query, body = "", ""
    if place == "header":
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    elif place == "query":
        query = "?" + urlencode({"access_token": token})
    else:
        body = urlencode({"access_token": token, "text": "x"})
    with _authstatus(BEARER_METHODS=["header", "query", "body"]):
        response = client.generic(
            "POST",
            "/api/notes/" + query,
            body,
            content_type="application/x-www-form-urlencoded",
            **extra,
        )
    assert response.status_code == 400  # not a b64token: RFC 6750 §3.1 invalid_request
    for name, value in response.headers.items():
        assert "\r" not in value, name
        assert "\n" not in value, name
        assert "Injected" not in value
    assert not response.has_header("X-Injected")
    assert "x" not in response.cookies
    (challenge,) = challenges(response)
    assert challenge.param("error") == "invalid_request"
    assert_nqschar(challenge.param("error_description"))
    assert b"Injected" not in response.content


# --- policy input the model rejects, through the real admin form --------------------------------
# tests/test_policy_model.py covers the rest (wildcards, query/fragment, comma-separated
# methods, quotes/backslashes/non-ASCII in scopes, names that do not exist, contradictions,
# priorities). Here: control characters and header-breaking input in the free-text fields.

ADMIN_REJECTS = {
    "CR/LF in the path": ({"path": "/api/\r\nx/"}, "path"),
    "NUL in the path": ({"path": "/api/\x00/"}, "path"),
    "DEL in the path": ({"path": "/api/\x7f/"}, "path"),
    "a header in the methods": ({"methods": "GET\r\nX-Injected: 1"}, "methods"),
    "non-ASCII method": ({"methods": "G\u00c9T"}, "methods"),
    "NUL in a method": ({"methods": "GET\x00"}, "methods"),
    "NUL in a scope": ({"required_scopes": "read\x00write"}, "required_scopes"),
    "DEL in a scope": ({"required_scopes": "re\x7fad"}, "required_scopes"),
    "a quoted header in a scope": ({"required_scopes": 'read"\r\nX: "y'}, "required_scopes"),
    "a comma-separated scope list with a quote": (
        {"required_scopes": 'read,"write"'},
        "required_scopes",
    ),
}


def _form(**overrides):
    return policy_form_data(**{"_save": "Save", **overrides})


@pytest.fixture
def admin_client(db):
    from tests.factories import UserFactory

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = APIClient()
    client.force_login(admin)
    return client


@pytest.mark.parametrize(("values", "field"), list(ADMIN_REJECTS.values()), ids=list(ADMIN_REJECTS))
def test_the_admin_form_rejects_header_breaking_input(admin_client, values, field):
    from authstatus.models import ResourcePolicy

    response = admin_client.post(reverse("admin:authstatus_resourcepolicy_add"), _form(**values))
    assert response.status_code == 200  # the form again, with errors
    form = response.context["adminform"].form
    assert field in form.errors, form.errors.as_data()
    assert ResourcePolicy.objects.count() == 0


def test_scopes_split_on_any_whitespace_so_a_line_break_cannot_reach_a_challenge(admin_client):
    """``read\\r\\nwrite`` is two scopes, ``read`` and ``write``: the challenge says
    ``scope="read write"``. A description is free text and never goes into a header."""
    response = admin_client.post(
        reverse("admin:authstatus_resourcepolicy_add"),
        _form(
            path="/api/profile/",
            required_scopes="read\r\nwrite",
            description='line one\r\nX-Injected: "two" \\ \u00e9',
        ),
    )
    assert response.status_code == 302
    refused = APIClient().get("/api/profile/")
    assert refused.status_code == 401
    bearer = next(c for c in challenges(refused) if c.scheme == "Bearer")
    assert bearer.param("scope") == "read write"
    assert "Injected" not in refused["WWW-Authenticate"]
