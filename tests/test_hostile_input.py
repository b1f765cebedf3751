"""Whatever a client sends, authstatus answers with a well-formed 2xx/400/401 — never a 5xx,
never a 2xx on a protected route without valid credentials, never an unparsable challenge."""

from __future__ import annotations

import base64
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.http import assert_nqschar, challenges

pytestmark = pytest.mark.django_db

EXAMPLES = settings(max_examples=200)

TCHARS = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
B64TOKEN_CHARS = string.ascii_letters + string.digits + "-._~+/"

# What a WSGI server can hand over: header values are ISO-8859-1 decoded, without CR/LF.
latin1_text = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0xFF, exclude_characters="\r\n"),
    max_size=80,
)
printable_text = st.text(alphabet=string.printable.replace("\r", "").replace("\n", ""))
schemes = st.one_of(
    st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "basic", "Token", "Cookie"]),
    st.text(alphabet=TCHARS, min_size=1, max_size=12),
)
b64tokenish = st.text(alphabet=B64TOKEN_CHARS + '= ,"\\\t', max_size=60)
separators = st.sampled_from([" ", "  ", "\t", "", " \t "])


@st.composite
def structured_authorization(draw) -> str:
    return draw(schemes) + draw(separators) + draw(b64tokenish) + draw(st.sampled_from(["", " "]))


@st.composite
def basic_authorization(draw) -> str:
    """``Basic`` + base64 of random bytes: NUL, non-UTF-8, missing ``:``, huge, …"""
    raw = draw(
        st.one_of(
            st.binary(max_size=64),
            st.builds(
                lambda user, password: user + b":" + password,
                st.binary(max_size=24),
                st.binary(max_size=24),
            ),
            st.builds(
                lambda user, password: f"{user}:{password}".encode(),
                st.text(max_size=16),
                st.text(max_size=16),
            ),
        )
    )
    encoded = base64.b64encode(raw).decode("ascii")
    if draw(st.booleans()):
        encoded = encoded.rstrip("=")
    return draw(st.sampled_from(["Basic ", "basic ", "Basic  "])) + encoded


authorization_values = st.one_of(
    latin1_text, printable_text, structured_authorization(), basic_authorization()
)


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

segment = st.one_of(
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "%2e%2e",
            "%2F",
            "%00",
            "%ff",
            "%c3%a9",
            "%",
            "%zz",
            "vault",
            "1",
            "999999999999999999999999",
            "public",
            "profile",
            "closed",
            "notes",
            "plain",
            "drf",
            "echo",
            "concealed",
            "anonymous",
            "nobody",
            "exempt",
            "é",
            "☃",
            "\U0001f512",
            "?access_token=x",
            "#frag",
            ";param",
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=10),
)


@st.composite
def hostile_paths(draw) -> str:
    prefix = draw(st.sampled_from(["/api/", "/t/", "/t/plain/", "/t/drf/", "/api/vault/"]))
    parts = draw(st.lists(segment, max_size=5))
    trailing = draw(st.sampled_from(["", "/", "//"]))
    return prefix + "/".join(parts) + trailing


@EXAMPLES
@given(path=hostile_paths(), accept=st.sampled_from([None, "text/html", "*/*"]))
def test_any_path_is_never_a_server_error(client, alice, path, accept):
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    response = client.get(path, **extra)
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
