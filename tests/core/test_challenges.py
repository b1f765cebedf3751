"""Tests for authstatus.core.challenges (RFC 9110 §11, RFC 6750 §3, RFC 7617 §2)."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authstatus.core.challenges import (
    Challenge,
    ChallengeSyntaxError,
    basic_challenge,
    bearer_challenge,
    format_challenge,
    format_challenges,
    is_b64token,
    is_scope_token,
    is_token,
    parse_challenges,
    quote,
    sanitize_nqschar,
)

TCHARS = "!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters
PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
NQSCHARS = "".join(c for c in PRINTABLE_ASCII if c not in '"\\')
B64TOKEN_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*")

RFC9110_EXAMPLE = 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"'


# --- formatting -------------------------------------------------------------------------


def test_bearer_challenge_with_error():
    c = bearer_challenge(
        realm="api", error="invalid_token", error_description="The access token expired"
    )
    assert format_challenge(c) == (
        'Bearer realm="api", error="invalid_token", error_description="The access token expired"'
    )
    assert c.params == (
        ("realm", "api"),
        ("error", "invalid_token"),
        ("error_description", "The access token expired"),
    )


def test_bearer_challenge_parameter_order_and_scope():
    c = bearer_challenge(
        extra=[("x-extra", "1")],
        resource_metadata="https://rs.example/.well-known/oauth-protected-resource",
        error_uri="https://rs.example/errors/scope",
        error_description="Needs write",
        error="insufficient_scope",
        scope=["write", "read", "write"],
        realm="api",
    )
    assert format_challenge(c) == (
        'Bearer realm="api", scope="write read", error="insufficient_scope", '
        'error_description="Needs write", error_uri="https://rs.example/errors/scope", '
        'resource_metadata="https://rs.example/.well-known/oauth-protected-resource", '
        'x-extra="1"'
    )


def test_bare_bearer_challenge():
    assert format_challenge(bearer_challenge()) == "Bearer"
    assert bearer_challenge() == Challenge("Bearer")


def test_bearer_empty_scope_is_omitted():
    assert bearer_challenge(scope=[]).params == ()


def test_bearer_error_description_is_sanitised():
    c = bearer_challenge(error="invalid_token", error_description='bad "tok\\en"\r\n\x00é\tx')
    assert c.param("error_description") == "bad tokenx"
    assert format_challenge(c) == 'Bearer error="invalid_token", error_description="bad tokenx"'


def test_bearer_error_description_omitted_when_nothing_remains():
    c = bearer_challenge(error="invalid_token", error_description='"\\\r\n')
    assert format_challenge(c) == 'Bearer error="invalid_token"'


@pytest.mark.parametrize("scope", [["read", "bad scope"], ["read", ""], ['a"b'], ["a\\b"], ["é"]])
def test_bearer_invalid_scope_token_rejected(scope):
    with pytest.raises(ValueError, match="scope token"):
        bearer_challenge(scope=scope)


def test_bearer_scope_as_str_rejected():
    with pytest.raises(TypeError):
        bearer_challenge(scope="read write")


@pytest.mark.parametrize("error", ["", 'invalid"token', "invalid\\token", "bad\r\n", "é"])
def test_bearer_invalid_error_rejected(error):
    with pytest.raises(ValueError, match="NQSCHAR"):
        bearer_challenge(error=error)


@pytest.mark.parametrize("field", ["error_uri", "resource_metadata"])
@pytest.mark.parametrize("uri", ["", "https://x/ y", 'https://x/"', "https://x/\r\n"])
def test_bearer_uri_must_be_nqchar(field, uri):
    with pytest.raises(ValueError, match=field):
        bearer_challenge(**{field: uri})


def test_bearer_extra_cannot_repeat_a_parameter():
    with pytest.raises(ValueError, match="more than once"):
        bearer_challenge(realm="api", extra=[("Realm", "other")])


def test_basic_challenge():
    assert format_challenge(basic_challenge("api")) == 'Basic realm="api", charset="UTF-8"'
    assert format_challenge(basic_challenge("api", charset=None)) == 'Basic realm="api"'
    with pytest.raises(ValueError, match="UTF-8"):
        basic_challenge("api", charset="ISO-8859-1")


def test_escaping_of_quote_and_backslash():
    c = Challenge("Newauth", (("title", 'Login to "apps" \\ now'),))
    assert format_challenge(c) == 'Newauth title="Login to \\"apps\\" \\\\ now"'
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    assert quote("") == '""'
    assert parse_challenges(format_challenge(c)) == (c,)


def test_format_token68_and_multiple():
    cs = [Challenge("Newauth", token68="abc+/=="), Challenge("Basic", (("realm", "x"),))]
    assert format_challenges(cs) == 'Newauth abc+/==, Basic realm="x"'


def test_format_challenges_needs_one():
    with pytest.raises(ValueError, match="at least one"):
        format_challenges([])


def test_str_is_formatted_challenge():
    assert str(basic_challenge("r")) == 'Basic realm="r", charset="UTF-8"'


# --- construction -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["a\rb", "a\nb", "a\r\nSet-Cookie: x=1", "a\x00b", "\x1b", "\x7f", "é", "\u2028", "😀"]
)
def test_unrepresentable_values_rejected(value):
    with pytest.raises(ValueError, match="WWW-Authenticate"):
        Challenge("Bearer", (("realm", value),))
    with pytest.raises(ValueError, match="WWW-Authenticate"):
        bearer_challenge(realm=value)
    with pytest.raises(ValueError, match="WWW-Authenticate"):
        basic_challenge(value)
    with pytest.raises(ValueError, match="WWW-Authenticate"):
        quote(value)


def test_htab_and_space_are_representable():
    c = Challenge("X", (("a", "\t x \t"),))
    assert format_challenge(c) == 'X a="\t x \t"'
    assert parse_challenges(format_challenge(c)) == (c,)


@pytest.mark.parametrize("scheme", ["", "Bear er", "Bearer\r\n", 'B"', "Bé", "a,b", "a=b"])
def test_invalid_scheme_rejected(scheme):
    with pytest.raises(ValueError, match="auth-scheme"):
        Challenge(scheme)


@pytest.mark.parametrize("name", ["", "a b", "a=b", 'a"', "é", "a\r\n"])
def test_invalid_param_name_rejected(name):
    with pytest.raises(ValueError, match="name must be a token"):
        Challenge("X", ((name, "v"),))


@pytest.mark.parametrize("token68", ["", "=", "a b", "a=b", "a,", "é"])
def test_invalid_token68_rejected(token68):
    with pytest.raises(ValueError, match="token68"):
        Challenge("X", token68=token68)


def test_token68_and_params_are_exclusive():
    with pytest.raises(ValueError, match="not both"):
        Challenge("X", (("a", "b"),), token68="abc")


def test_duplicate_param_names_rejected_at_construction():
    with pytest.raises(ValueError, match="more than once"):
        Challenge("X", (("realm", "a"), ("REALM", "b")))


def test_params_list_is_stored_as_tuple():
    c = Challenge("X", [("a", "1")])  # type: ignore[arg-type]
    assert c.params == (("a", "1"),)
    assert hash(c) == hash(Challenge("X", (("a", "1"),)))


def test_param_lookup_is_case_insensitive():
    c = Challenge("Bearer", (("Realm", "api"), ("error", "invalid_token")))
    assert c.param("realm") == "api"
    assert c.param("REALM") == "api"
    assert c.param("ERROR") == "invalid_token"
    assert c.param("scope") is None
    # KELVIN SIGN lower-cases to "k" with str.lower(); it is not a token and must not match.
    assert Challenge("X", (("k", "v"),)).param("\u212a") is None


def test_matches_scheme():
    c = Challenge("Bearer")
    assert c.matches_scheme("bearer")
    assert c.matches_scheme("BEARER")
    assert not c.matches_scheme("Basic")
    assert not c.matches_scheme("Bearer ")


def test_with_params_appends_and_replaces_in_place():
    c = bearer_challenge(realm="api", error="invalid_token")
    c2 = c.with_params(("scope", "read"), ("REALM", "other"))
    assert c2.params == (("REALM", "other"), ("error", "invalid_token"), ("scope", "read"))
    assert c.params == (("realm", "api"), ("error", "invalid_token"))  # unchanged
    assert c.with_params() == c
    with pytest.raises(ValueError, match="not both"):
        Challenge("X", token68="abc").with_params(("a", "b"))
    with pytest.raises(ValueError, match="WWW-Authenticate"):
        c.with_params(("scope", "a\nb"))


# --- parsing ----------------------------------------------------------------------------


def test_parse_rfc9110_example():
    assert parse_challenges(RFC9110_EXAMPLE) == (
        Challenge("Newauth", (("realm", "apps"), ("type", "1"), ("title", 'Login to "apps"'))),
        Challenge("Basic", (("realm", "simple"),)),
    )


def test_parse_bearer_and_basic():
    assert parse_challenges(
        'Bearer realm="api", error="invalid_token", error_description="The access token expired"'
    ) == (
        Challenge(
            "Bearer",
            (
                ("realm", "api"),
                ("error", "invalid_token"),
                ("error_description", "The access token expired"),
            ),
        ),
    )
    assert parse_challenges('Basic realm="api", charset="UTF-8"') == (basic_challenge("api"),)


def test_parse_token68_among_challenges():
    assert parse_challenges('Negotiate YIIB+g==, Bearer, Basic realm="x"') == (
        Challenge("Negotiate", token68="YIIB+g=="),
        Challenge("Bearer"),
        Challenge("Basic", (("realm", "x"),)),
    )
    assert parse_challenges("A abc, B def==") == (
        Challenge("A", token68="abc"),
        Challenge("B", token68="def=="),
    )


def test_parse_several_field_lines():
    lines = ['Bearer realm="api"', "", 'Basic realm="api", charset="UTF-8", Negotiate']
    assert parse_challenges(lines) == (
        Challenge("Bearer", (("realm", "api"),)),
        basic_challenge("api"),
        Challenge("Negotiate"),
    )
    assert parse_challenges(iter(["A", "B"])) == (Challenge("A"), Challenge("B"))


def test_parse_field_lines_do_not_continue_each_other():
    with pytest.raises(ChallengeSyntaxError, match="field line 2") as info:
        parse_challenges(['Newauth realm="x"', "type=1"])
    assert info.value.line == 1
    with pytest.raises(ChallengeSyntaxError, match="unterminated"):
        parse_challenges(['Basic realm="a', 'b"'])


def test_parse_ows_and_empty_elements():
    assert parse_challenges(' , Basic  realm = "a" ,, type=x ,\t, Bearer ,') == (
        Challenge("Basic", (("realm", "a"), ("type", "x"))),
        Challenge("Bearer"),
    )
    # `Scheme 1*SP` then an empty first auth-param element is still that scheme's list.
    assert parse_challenges('Basic , realm="a"') == (Challenge("Basic", (("realm", "a"),)),)


def test_parse_preserves_case_and_unescapes():
    (c,) = parse_challenges('bEaReR ReAlM="a\\\\b\\"c\\d"')
    assert c.scheme == "bEaReR"
    assert c.params == (("ReAlM", 'a\\b"cd'),)
    assert c.param("realm") == 'a\\b"cd'
    assert c.matches_scheme("Bearer")


def test_parse_token_and_empty_values():
    assert parse_challenges('X a=b, c="", d=!#$') == (
        Challenge("X", (("a", "b"), ("c", ""), ("d", "!#$"))),
    )


def test_parse_bearer_realm_equals_is_token68():
    # "realm=" is a valid token68 (RFC 9110 §11.2), not an auth-param without a value.
    assert parse_challenges("Bearer realm=") == (Challenge("Bearer", token68="realm="),)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('Bearer realm="unterminated', "unterminated quoted-string"),
        ('Bearer realm="x\\', "unterminated quoted-string"),
        ("=foo", "expected an auth-scheme"),
        ('Bearer realm="x", scope=', "expected a token or quoted-string"),
        ('Bearer realm="x", scope=, Basic', "expected a token or quoted-string"),
        (", ,", "no challenge"),
        ("", "no challenge"),
        (" \t ", "no challenge"),
        ('realm="x"', "auth-param outside a challenge"),
        ('Basic, realm="x"', "auth-param outside a challenge"),
        ("Basic abc, a=b", "auth-param outside a challenge"),
        ('Bearer realm="a", realm="b"', "repeated"),
        ('Bearer realm="a", REALM="b"', "repeated"),
        ('Bearer a="x"b', "expected ',' or end"),
        ("Bearer a=b c=d", "expected ',' or end"),
        ('Bearer\trealm="x"', "expected ',' or end"),
        ('Bearer realm="a\rb"', "not allowed in a quoted-string"),
        ('Bearer realm="a\nb"', "not allowed in a quoted-string"),
        ('Bearer realm="a\x00b"', "not allowed in a quoted-string"),
        ('Bearer realm="a\\\nb"', "not allowed in a quoted-pair"),
        ('Bearer realm="caf\xe9"', "obs-text"),
        ('Bearer realm="caf\\\xe9"', "obs-text"),
        ("Bearer realm=caf\xe9", "expected ',' or end"),
        ("Bearer é", "expected token68 or auth-param"),
        ('Bearer "x"', "expected token68 or auth-param"),
        ("Bearer, =x", "expected an auth-scheme"),
        ("Bearer\r\n", "expected ',' or end"),
    ],
)
def test_parse_malformed(value, message):
    with pytest.raises(ChallengeSyntaxError, match=message):
        parse_challenges(value)


def test_syntax_error_reports_position():
    with pytest.raises(ChallengeSyntaxError, match="position 13") as info:
        parse_challenges('Bearer realm="unterminated')
    assert info.value.position == 13
    assert isinstance(info.value, ValueError)


def test_parse_rejects_bytes():
    with pytest.raises(TypeError, match="latin-1"):
        parse_challenges(b"Basic")  # type: ignore[arg-type]


# --- predicates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "expected"),
    [("Bearer", True), ("a!#$%&'*+-.^_`|~9", True), ("", False), ("a b", False), ("é", False)],
)
def test_is_token(s, expected):
    assert is_token(s) is expected


@pytest.mark.parametrize(
    ("s", "expected"),
    [("read", True), ("urn:x:read/all!", True), ("", False), ("a b", False), ('a"', False)],
)
def test_is_scope_token(s, expected):
    assert is_scope_token(s) is expected


def test_sanitize_nqschar_examples():
    assert sanitize_nqschar('a  "b"\\\tc\r\nd\x7fé') == "a  bcd"
    assert sanitize_nqschar(NQSCHARS) == NQSCHARS


# --- properties -------------------------------------------------------------------------

tokens = st.text(alphabet=TCHARS, min_size=1, max_size=12)
values = st.text(alphabet=PRINTABLE_ASCII + "\t", max_size=20)
token68s = st.builds(
    lambda body, padding: body + "=" * padding,
    st.text(alphabet=string.ascii_letters + string.digits + "-._~+/", min_size=1, max_size=12),
    st.integers(min_value=0, max_value=3),
)


@st.composite
def challenges(draw: st.DrawFn) -> Challenge:
    scheme = draw(tokens)
    if draw(st.booleans()):
        return Challenge(scheme, token68=draw(token68s))
    params = draw(st.lists(st.tuples(tokens, values), max_size=5, unique_by=lambda p: p[0].lower()))
    return Challenge(scheme, tuple(params))


@given(st.lists(challenges(), min_size=1, max_size=5))
def test_round_trip(cs):
    assert parse_challenges(format_challenges(cs)) == tuple(cs)


@given(st.lists(st.lists(challenges(), min_size=1, max_size=3), min_size=1, max_size=3))
def test_round_trip_field_lines(groups):
    lines = [format_challenges(g) for g in groups]
    assert parse_challenges(lines) == tuple(c for g in groups for c in g)


def _parses_or_syntax_error(value: str | list[str]) -> None:
    try:
        result = parse_challenges(value)
    except ChallengeSyntaxError:
        return
    assert isinstance(result, tuple)
    assert result
    assert all(isinstance(c, Challenge) for c in result)
    # Whatever parses is a valid challenge list and formats into a value that parses back.
    assert parse_challenges(format_challenges(result)) == result


@given(st.text())
def test_parser_never_crashes_on_text(value):
    _parses_or_syntax_error(value)


@given(st.binary())
def test_parser_never_crashes_on_latin1_bytes(raw):
    _parses_or_syntax_error(raw.decode("latin-1"))


@given(st.lists(st.text(alphabet=TCHARS + ' ,="\\\t'), max_size=4))
def test_parser_never_crashes_on_grammar_like_text(lines):
    _parses_or_syntax_error(lines)
    _parses_or_syntax_error(", ".join(lines))


@given(st.text())
def test_sanitize_nqschar_output_only_has_nqschar(s):
    out = sanitize_nqschar(s)
    assert all(c in NQSCHARS for c in out)
    assert out == "".join(c for c in s if c in NQSCHARS)


@given(st.one_of(st.text(), st.text(alphabet="AZaz09-._~+/= é\n", max_size=10), token68s))
def test_is_b64token_matches_regex(s):
    assert is_b64token(s) is (B64TOKEN_RE.fullmatch(s) is not None)


@given(st.text())
def test_bearer_description_never_emits_forbidden_chars(description):
    c = bearer_challenge(error="invalid_request", error_description=description)
    emitted = c.param("error_description")
    if emitted is None:
        assert sanitize_nqschar(description) == ""
    else:
        assert emitted == sanitize_nqschar(description)
    assert parse_challenges(format_challenge(c)) == (c,)
