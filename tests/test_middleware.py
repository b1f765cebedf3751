"""AuthStatusMiddleware: the same decisions for plain Django views (tests/testapp, /t/plain/).

The middleware authenticates with ``MIDDLEWARE_AUTHENTICATORS`` (the session by default), so a
plain view's 401 challenges the session only, unless more authenticators are configured.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from authstatus.core.decision import Outcome
from authstatus.middleware import AuthStatusMiddleware
from tests.factories import AccessTokenFactory, UserFactory
from tests.http import (
    BASIC,
    BEARER,
    COOKIE,
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    assert_refusal,
    assert_uncacheable,
    basic_auth,
    bearer,
    bearer_auth,
    challenges,
    headers_without_date,
    links,
    media_type,
)

pytestmark = pytest.mark.django_db

SESSION = "authstatus.enforcement.authenticators.SessionAuthenticator"
BEARER_AUTHENTICATOR = "authstatus.contrib.oauth2_provider.BearerAuthenticator"
BASIC_AUTHENTICATOR = "authstatus.enforcement.authenticators.BasicAuthenticator"


def _authstatus(**changes) -> override_settings:
    return override_settings(AUTHSTATUS={**settings.AUTHSTATUS, **changes})


# --- the decision table for plain views ----------------------------------------------------


def test_anonymous_on_plain_view_is_challenged_for_the_session(client):
    response = client.get("/t/plain/")
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=(COOKIE,))


def test_logged_in_user_reaches_plain_view(client, alice):
    client.force_login(alice)
    response = client.get("/t/plain/")
    assert response.status_code == 200
    assert response.content == b"plain alice"


def test_inactive_session_user_is_anonymous(client):
    user = UserFactory(username="gone")
    client.force_login(user)
    user.is_active = False
    user.save()
    response = client.get("/t/plain/")
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=(COOKIE,))


def test_browser_gets_html_with_login_link(client):
    response = client.get("/t/plain/", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 401
    assert media_type(response) == "text/html"
    assert challenges(response) == (COOKIE,)
    assert_uncacheable(response)
    assert links(response) == ["/accounts/login/?next=/t/plain/"]


def test_browser_login_link_keeps_the_query(client):
    response = client.get("/t/plain/?a=1&b=2", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert links(response) == ["/accounts/login/?next=/t/plain/%3Fa%3D1%26b%3D2"]


@pytest.mark.parametrize("name", ["access_token", "access%5Ftoken", "%61ccess_token"])
def test_browser_login_link_never_echoes_a_query_token(client, name):
    """RFC 6750 §5.3: the login link's ``next`` drops an ``access_token`` parameter, however
    its name is encoded (``access%5Ftoken`` is the same parameter once decoded)."""
    response = client.get(f"/t/plain/?a=1&{name}=SECRET", HTTP_ACCEPT="text/html")
    assert response.status_code == 401
    assert links(response) == ["/accounts/login/?next=/t/plain/%3Fa%3D1"]


_QUERY_PARTS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_%=&+;5F61", max_size=30)


@given(st.lists(st.tuples(_QUERY_PARTS, _QUERY_PARTS), max_size=6), st.booleans())
def test_query_may_carry_never_misses_a_parameter(pairs, encode):
    """``query_may_carry`` answers no only when Django's parsed query has no such name."""
    from urllib.parse import quote

    from django.http import QueryDict
    from django.test import RequestFactory

    from authstatus.enforcement.authenticators import query_may_carry

    def part(text: str) -> str:
        return quote(text, safe="") if encode else text

    query = "&".join(f"{part(k)}={part(v)}" for k, v in pairs)
    request = RequestFactory().get("/", QUERY_STRING=query)
    request.META["QUERY_STRING"] = query
    if not query_may_carry(request, "access_token"):
        assert "access_token" not in QueryDict(query)


def test_browser_redirect_when_configured(client):
    with _authstatus(REDIRECT_BROWSERS_TO_LOGIN=True):
        response = client.get("/t/plain/", HTTP_ACCEPT="text/html")
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=/t/plain/"
        # API clients still get the 401.
        assert client.get("/t/plain/").status_code == 401


def test_declared_anonymous_view_is_open(client):
    response = client.get("/t/plain/anonymous/")
    assert response.status_code == 200
    assert response.content == b"plain anonymous"


@pytest.mark.parametrize("logged_in", [False, True])
def test_view_closed_to_everyone_is_forbidden_without_challenge(client, alice, logged_in):
    if logged_in:
        client.force_login(alice)
    response = client.get("/t/plain/nobody/")
    assert_refusal(response, 403, "closed", "not_available")
    assert not response.has_header("WWW-Authenticate")


def test_concealed_view_is_indistinguishable_from_a_missing_url(client):
    concealed = client.get("/t/plain/concealed/")
    missing = client.get("/t/plain/does-not-exist/")
    assert concealed.status_code == missing.status_code == 404
    assert concealed.content == missing.content
    assert headers_without_date(concealed) == headers_without_date(missing)


def test_concealed_view_is_indistinguishable_for_browsers_too(client):
    concealed = client.get("/t/plain/concealed/", HTTP_ACCEPT="text/html")
    missing = client.get("/t/plain/does-not-exist/", HTTP_ACCEPT="text/html")
    assert concealed.status_code == missing.status_code == 404
    assert concealed.content == missing.content
    assert headers_without_date(concealed) == headers_without_date(missing)


def test_concealed_view_opens_for_its_audience(client, alice):
    client.force_login(alice)
    response = client.get("/t/plain/concealed/")
    assert response.status_code == 200
    assert response.content == b"concealed"


def test_exempt_view_is_left_alone(client):
    response = client.get("/t/plain/exempt/")
    assert response.status_code == 200
    assert response.content == b"exempt"


def test_class_based_view_gets_default_access(client, alice):
    response = client.get("/t/plain/class/")
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=(COOKIE,))
    client.force_login(alice)
    assert client.get("/t/plain/class/").status_code == 200


def test_class_based_view_declared_anonymous(client):
    response = client.get("/t/plain/class-anonymous/")
    assert response.status_code == 200
    assert response.content == b"class anonymous"


def test_basic_credentials_are_ignored_by_default(client, alice):
    # Only the session authenticates plain views by default: Basic is not understood.
    response = client.get("/t/plain/", HTTP_AUTHORIZATION=basic_auth("alice", "secret"))
    assert_refusal(response, 401, "authentication-required", "authenticate", challenge=(COOKIE,))


# --- settings policies apply to plain views --------------------------------------------------


def _policies(*specs: dict) -> override_settings:
    return _authstatus(POLICIES=[*settings.AUTHSTATUS["POLICIES"], *specs])


def test_settings_policy_beats_view_declaration(client):
    with _policies({"path": "/t/plain/nobody/", "access": "anonymous"}):
        assert client.get("/t/plain/nobody/").status_code == 200
    with _policies({"path": "/t/plain/anonymous/", "access": "nobody"}):
        assert_refusal(client.get("/t/plain/anonymous/"), 403, "closed", "not_available")


def test_settings_policy_with_wildcard(client):
    with _policies({"path": "/t/plain/**", "access": "anonymous"}):
        assert client.get("/t/plain/").status_code == 200
        assert client.get("/t/plain/class/").status_code == 200
        # More specific declarations in code lose to any matching policy.
        assert client.get("/t/plain/nobody/").status_code == 200


def test_settings_policy_with_group(client, alice, staff_user):
    with _policies({"path": "/t/plain/", "required_groups": "staff-api"}):
        client.force_login(alice)
        assert_refusal(client.get("/t/plain/"), 403, "forbidden", "not_permitted")
        client.force_login(staff_user)
        assert client.get("/t/plain/").status_code == 200


def test_exempt_namespaces_and_login_url_are_never_enforced(client):
    with _policies({"path": "/**", "access": "nobody"}):
        assert client.get("/accounts/login/").status_code == 200
        assert client.get("/admin/login/").status_code == 200
        assert client.get("/t/plain/exempt/").status_code == 200
        assert client.get("/t/plain/").status_code == 403


# --- more authenticators for plain views ------------------------------------------------------


@pytest.fixture
def with_bearer():
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=[SESSION, BEARER_AUTHENTICATOR]):
        yield


def test_valid_bearer_token_reaches_plain_view(client, token, with_bearer):
    response = client.get("/t/plain/", HTTP_AUTHORIZATION=bearer_auth(token.token))
    assert response.status_code == 200
    assert response.content == b"plain alice"  # the view sees the token's user


def test_anonymous_plain_view_challenges_each_configured_scheme(client, with_bearer):
    response = client.get("/t/plain/")
    assert_refusal(
        response,
        401,
        "authentication-required",
        "authenticate",
        challenge=(COOKIE, BEARER),
    )


def test_invalid_bearer_token_on_plain_view(client, with_bearer):
    response = client.get("/t/plain/", HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "reauthenticate",
        challenge=(
            COOKIE,
            bearer(("error", "invalid_token"), ("error_description", INVALID_TOKEN)),
        ),
        detail=INVALID_TOKEN,
    )


def test_expired_bearer_token_on_plain_view(client, expired_token, with_bearer):
    response = client.get("/t/plain/", HTTP_AUTHORIZATION=bearer_auth(expired_token.token))
    assert_refusal(
        response,
        401,
        "invalid-credentials",
        "refresh_token",
        challenge=(
            COOKIE,
            bearer(("error", "invalid_token"), ("error_description", EXPIRED_TOKEN)),
        ),
        detail=EXPIRED_TOKEN,
    )


def test_invalid_bearer_token_on_anonymous_plain_view(client, with_bearer):
    response = client.get("/t/plain/anonymous/", HTTP_AUTHORIZATION="Bearer no-such-token")
    assert response.status_code == 401


def test_bad_token_beats_a_valid_session_on_plain_view(client, alice, with_bearer):
    client.force_login(alice)
    response = client.get("/t/plain/", HTTP_AUTHORIZATION=bearer_auth("no-such-token"))
    assert response.status_code == 401
    assert challenges(response)[1].param("error") == "invalid_token"


def test_malformed_bearer_on_plain_view(client, with_bearer):
    response = client.get("/t/plain/", HTTP_AUTHORIZATION="Bearer a b")
    assert response.status_code == 400
    (challenge,) = challenges(response)
    assert challenge.scheme == "Bearer"
    assert challenge.param("error") == "invalid_request"


def test_scoped_policy_on_plain_view(client, read_token, token, with_bearer):
    with _policies({"path": "/t/plain/", "required_scopes": "write"}):
        response = client.get("/t/plain/", HTTP_AUTHORIZATION=bearer_auth(read_token.token))
        assert_refusal(
            response,
            403,
            "insufficient-scope",
            "request_scope",
            challenge=(bearer(("scope", "write"), ("error", "insufficient_scope")),),
            required_scopes=["write"],
        )
        response = client.get("/t/plain/", HTTP_AUTHORIZATION=bearer_auth(token.token))
        assert response.status_code == 200


def test_concealed_plain_view_with_bad_token_is_a_plain_404(client, with_bearer):
    authorization = bearer_auth("no-such-token")
    concealed = client.get("/t/plain/concealed/", HTTP_AUTHORIZATION=authorization)
    missing = client.get("/t/plain/does-not-exist/", HTTP_AUTHORIZATION=authorization)
    assert concealed.status_code == missing.status_code == 404
    assert concealed.content == missing.content
    assert headers_without_date(concealed) == headers_without_date(missing)


def test_basic_authenticator_for_plain_views(client, alice):
    with _authstatus(MIDDLEWARE_AUTHENTICATORS=[BASIC_AUTHENTICATOR, SESSION]):
        response = client.get("/t/plain/")
        assert challenges(response) == (BASIC, COOKIE)
        response = client.get("/t/plain/", HTTP_AUTHORIZATION=basic_auth("alice", "secret"))
        assert response.status_code == 200
        assert response.content == b"plain alice"
        response = client.get("/t/plain/", HTTP_AUTHORIZATION=basic_auth("alice", "nope"))
        assert response.status_code == 401
        assert challenges(response) == (BASIC, COOKIE)


def test_bearer_token_of_client_credentials_grant(client, with_bearer):
    token = AccessTokenFactory(user=None)
    response = client.get("/t/plain/", HTTP_AUTHORIZATION=bearer_auth(token.token))
    assert response.status_code == 200
    assert response.content == b"plain "


# --- the access_denied signal from the middleware -------------------------------------------


def test_access_denied_sent_by_the_middleware(client, denials):
    client.get("/t/plain/")
    (sent,) = denials
    assert sent["sender"] is AuthStatusMiddleware
    assert sent["decision"].outcome is Outcome.AUTHENTICATION_REQUIRED
    assert sent["request"].path == "/t/plain/"


def test_access_denied_not_sent_for_allowed_or_exempt(client, denials):
    client.get("/t/plain/anonymous/")
    client.get("/t/plain/exempt/")
    client.get("/accounts/login/")
    assert denials == []


def test_access_denied_sent_for_concealed_refusal(client, denials):
    client.get("/t/plain/concealed/")
    assert [d["decision"].outcome for d in denials] == [Outcome.NOT_FOUND]


@pytest.mark.parametrize("login_url", ["login", "/accounts/login/"])
def test_login_page_is_exempt_under_a_script_prefix(client, db, login_url):
    """Deployed under a sub-path: LOGIN_URL as a URL name reverses with the prefix, as a
    literal path it is usually written without; the login page stays open either way."""
    from django.urls import set_script_prefix

    try:
        set_script_prefix("/app/")
        # No policy opens /accounts/**: only the LOGIN_URL exemption can let this through.
        with override_settings(
            LOGIN_URL=login_url, AUTHSTATUS={**settings.AUTHSTATUS, "POLICIES": []}
        ):
            response = client.get("/accounts/login/", SCRIPT_NAME="/app")
            refused = client.get("/members/", SCRIPT_NAME="/app")
    finally:
        set_script_prefix("/")
    assert response.status_code == 200
    assert refused.status_code == 401


# --- the LOGIN_URL exemption cannot be steered by the client -------------------------------


@pytest.fixture
def login_suffix_urls():
    with override_settings(
        ROOT_URLCONF="tests.urls_login_suffix",
        LOGIN_URL="/accounts/login/",
        AUTHSTATUS={**settings.AUTHSTATUS, "POLICIES": []},  # nothing opens /accounts/**
    ):
        yield


@pytest.mark.parametrize("script_name", ["/accounts", "/accounts/", "/app/accounts"])
def test_a_client_supplied_script_name_does_not_exempt_a_protected_view(
    client, db, login_suffix_urls, script_name
):
    """gunicorn takes SCRIPT_NAME from a trusted forwarder's header, so the client chooses
    it: with "/accounts", request.path of the protected /login/ is "/accounts/login/", which
    is LOGIN_URL. The view LOGIN_URL resolves to is exempt; this one is not."""
    response = client.get("/login/", SCRIPT_NAME=script_name)
    assert response.status_code == 401
    assert {c.scheme for c in challenges(response)} == {"Cookie"}
    assert client.get("/login/").status_code == 401


@pytest.mark.parametrize("script_name", ["", "/accounts", "/app"])
def test_the_login_page_stays_exempt_under_any_script_name(
    client, db, login_suffix_urls, script_name
):
    assert client.get("/accounts/login/", SCRIPT_NAME=script_name).status_code == 200


def test_the_login_view_is_resolved_once_not_from_the_first_request(client, db, login_suffix_urls):
    """Whichever request asks first (here one with a spoofed prefix), the login view is the
    one LOGIN_URL names, and changing LOGIN_URL is seen at once."""
    from authstatus.middleware import login_view

    client.get("/login/", SCRIPT_NAME="/accounts")
    assert login_view().view_class.__name__ == "LoginView"
    with override_settings(LOGIN_URL="/login/"):  # now /login/ *is* the login page
        assert client.get("/login/", SCRIPT_NAME="/accounts").status_code == 200
    assert client.get("/login/", SCRIPT_NAME="/accounts").status_code == 401


@pytest.mark.parametrize(
    ("login_url", "exempt"),
    [
        ("login", True),  # a URL name
        ("/accounts/login/", True),
        ("/prefix/accounts/login/", True),  # FORCE_SCRIPT_NAME is taken off
        ("https://sso.example.com/accounts/login/", False),  # no local view
        ("/no/such/page/", False),
    ],
)
def test_login_url_kinds(client, db, login_url, exempt):
    from authstatus.middleware import login_path, login_view

    with override_settings(LOGIN_URL=login_url, FORCE_SCRIPT_NAME="/prefix"):
        view = login_view()
        assert (view is not None) is exempt
        if exempt:
            assert login_path() == "/accounts/login/"
