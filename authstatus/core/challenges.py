"""Authentication challenges: value objects, formatting and parsing of ``WWW-Authenticate``.

A :class:`Challenge` is one ``challenge`` of RFC 9110 §11.1::

    challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-scheme = token
    auth-param  = token BWS "=" BWS ( token / quoted-string )
    token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="

:func:`format_challenges` renders challenges into one ``WWW-Authenticate`` field value
(RFC 9110 §11.6.1); :func:`parse_challenges` reads one back. A ``Challenge`` can only hold
values that are representable in a header field, so a formatted challenge can never break
the header or inject another one.

Builders for the schemes authstatus emits: :func:`bearer_challenge` (RFC 6750 §3,
RFC 9728 §5.1) and :func:`basic_challenge` (RFC 7617 §2).

This module uses the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "Challenge",
    "ChallengeSyntaxError",
    "basic_challenge",
    "bearer_challenge",
    "format_challenge",
    "format_challenges",
    "is_b64token",
    "is_scope_token",
    "is_token",
    "parse_challenges",
    "quote",
    "sanitize_nqschar",
]

_DIGIT = "0123456789"
_ALPHA = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# RFC 9110 §5.6.2
_TCHAR = frozenset("!#$%&'*+-.^_`|~" + _DIGIT + _ALPHA)
# RFC 9110 §11.2 token68; RFC 6750 §2.1 b64token (same set), before the "=" padding
_TOKEN68_CHAR = frozenset("-._~+/" + _DIGIT + _ALPHA)
# RFC 6750 §3 / RFC 6749 Appendix A: NQSCHAR = %x20-21 / %x23-5B / %x5D-7E
_NQSCHAR = frozenset(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\')
# RFC 6749 Appendix A: NQCHAR = %x21 / %x23-5B / %x5D-7E
_NQCHAR = _NQSCHAR - {" "}
# RFC 9110 §5.6.4 qdtext, without obs-text (values are ASCII here, see Challenge)
_QDTEXT = frozenset("\t" + "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\'))
# RFC 9110 §5.6.4 quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ), without obs-text
_QUOTED_PAIR_CHAR = frozenset("\t" + "".join(chr(c) for c in range(0x20, 0x7F)))
# Characters an auth-param value may hold: everything a quoted-string can carry (HTAB, SP,
# VCHAR), minus obs-text because header values are ASCII here.
_VALUE_CHAR = _QUOTED_PAIR_CHAR
_OWS = " \t"

_ASCII_LOWER = str.maketrans(_ALPHA[:26], _ALPHA[26:])


def _ascii_lower(s: str) -> str:
    # str.lower() maps some non-ASCII characters to ASCII (e.g. KELVIN SIGN -> "k"), which
    # would let a non-token name match a token case-insensitively.
    return s.translate(_ASCII_LOWER)


def _charset(chars: frozenset[str]) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


# Per request (every Authorization header): a compiled pattern, not a loop per character.
_TOKEN_RE = re.compile(_charset(_TCHAR) + "+")
_B64TOKEN_RE = re.compile(_charset(_TOKEN68_CHAR) + "+=*")


def is_token(s: str) -> bool:
    """Whether ``s`` is an RFC 9110 §5.6.2 ``token`` (``1*tchar``)."""
    return _TOKEN_RE.fullmatch(s) is not None


def is_b64token(s: str) -> bool:
    """Whether ``s`` is an RFC 6750 §2.1 ``b64token`` (equivalently RFC 9110 §11.2 ``token68``).

    ``b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="``
    """
    return _B64TOKEN_RE.fullmatch(s) is not None


def is_scope_token(s: str) -> bool:
    """Whether ``s`` is an RFC 6749 §3.3 ``scope-token`` (``1*NQCHAR``), as RFC 6750 §3 uses."""
    return bool(s) and all(c in _NQCHAR for c in s)


def sanitize_nqschar(s: str) -> str:
    """``s`` with every character outside RFC 6750 §3's NQSCHAR set removed.

    NQSCHAR is ``%x20-21 / %x23-5B / %x5D-7E``: printable ASCII and space, without ``"`` and
    ``\\``. Only removal happens: spaces are not collapsed and nothing is trimmed. The result
    may be empty.
    """
    return "".join(c for c in s if c in _NQSCHAR)


def _check_value(value: str, what: str) -> None:
    for i, c in enumerate(value):
        if c not in _VALUE_CHAR:
            raise ValueError(
                f"{what} contains {c!r} at index {i}: only HTAB and printable ASCII "
                "(0x20-0x7E) can appear in a WWW-Authenticate value"
            )


def quote(value: str) -> str:
    """``value`` as an RFC 9110 §5.6.4 ``quoted-string``.

    ``"`` and ``\\`` are escaped with a backslash (``quoted-pair``); every other character
    is emitted as ``qdtext``. Raises :class:`ValueError` when ``value`` holds a character
    that cannot appear in a header field value here (anything but HTAB and 0x20-0x7E).
    """
    _check_value(value, "value")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ChallengeSyntaxError(ValueError):
    """A ``WWW-Authenticate`` field value does not match RFC 9110 §11.6.1.

    ``position`` is the index in the offending field line where the problem was found, and
    ``line`` the index of that field line (``0`` when a single value was parsed).
    """

    def __init__(self, message: str, *, position: int | None = None, line: int = 0) -> None:
        super().__init__(message)
        self.position = position
        self.line = line


@dataclass(frozen=True, slots=True)
class Challenge:
    """One authentication challenge (RFC 9110 §11.1).

    ``scheme`` must be a ``token``; it is kept as given and compared case-insensitively by
    :meth:`matches_scheme`. A challenge carries either ``params`` (auth-params in order) or
    a ``token68``, never both (RFC 9110 §11.2). Parameter names must be tokens and may occur
    only once per challenge, compared case-insensitively (RFC 9110 §11.2). Parameter values
    may hold HTAB and printable ASCII (0x20-0x7E) only: CR, LF, NUL, other controls, DEL and
    non-ASCII raise :class:`ValueError`, so a challenge always formats into a safe header.
    """

    scheme: str
    params: tuple[tuple[str, str], ...] = ()
    token68: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.scheme, str) or not is_token(self.scheme):
            raise ValueError(f"auth-scheme must be a token (RFC 9110 §11.1): {self.scheme!r}")
        # Accept any iterable of pairs (a list is a common slip) but store a tuple so the
        # value stays hashable and immutable.
        params = tuple(self.params)
        object.__setattr__(self, "params", params)
        seen: set[str] = set()
        for pair in params:
            if not (
                isinstance(pair, tuple)
                and len(pair) == 2
                and isinstance(pair[0], str)
                and isinstance(pair[1], str)
            ):
                raise TypeError(f"auth-param must be a (name, value) pair of str: {pair!r}")
            name, value = pair
            if not is_token(name):
                raise ValueError(f"auth-param name must be a token (RFC 9110 §11.2): {name!r}")
            key = _ascii_lower(name)
            if key in seen:
                raise ValueError(
                    f"auth-param {name!r} occurs more than once (RFC 9110 §11.2 allows one)"
                )
            seen.add(key)
            _check_value(value, f"auth-param {name!r}")
        if self.token68 is not None:
            if params:
                raise ValueError("a challenge carries either token68 or auth-params, not both")
            if not isinstance(self.token68, str) or not is_b64token(self.token68):
                raise ValueError(f"token68 is not valid (RFC 9110 §11.2): {self.token68!r}")

    def param(self, name: str) -> str | None:
        """The value of auth-param ``name``, compared case-insensitively; ``None`` if absent."""
        key = _ascii_lower(name)
        for k, v in self.params:
            if _ascii_lower(k) == key:
                return v
        return None

    def with_params(self, *pairs: tuple[str, str]) -> Challenge:
        """A copy with ``pairs`` added, in order.

        A pair whose name (case-insensitively) is already present replaces that parameter in
        its position, name spelling included; other pairs are appended. Raises
        :class:`ValueError` on a challenge with a ``token68`` or on an invalid pair.
        """
        params = list(self.params)
        for name, value in pairs:
            key = _ascii_lower(name)
            for i, (k, _) in enumerate(params):
                if _ascii_lower(k) == key:
                    params[i] = (name, value)
                    break
            else:
                params.append((name, value))
        return Challenge(self.scheme, tuple(params), self.token68)

    def matches_scheme(self, scheme: str) -> bool:
        """Whether this challenge's scheme is ``scheme``, case-insensitively (RFC 9110 §11.1)."""
        return _ascii_lower(self.scheme) == _ascii_lower(scheme)

    def __str__(self) -> str:
        return format_challenge(self)


def format_challenge(challenge: Challenge) -> str:
    """``challenge`` as RFC 9110 §11.1 text.

    ``Scheme``, ``Scheme token68``, or ``Scheme name="value", name="value"``: every value is a
    quoted-string (:func:`quote`), parameters are separated by ``", "``.
    """
    if challenge.token68 is not None:
        return f"{challenge.scheme} {challenge.token68}"
    if not challenge.params:
        return challenge.scheme
    params = ", ".join(f"{name}={quote(value)}" for name, value in challenge.params)
    return f"{challenge.scheme} {params}"


def format_challenges(challenges: Iterable[Challenge]) -> str:
    """``challenges`` as one ``WWW-Authenticate`` field value (RFC 9110 §11.6.1).

    Challenges are joined with ``", "`` in the order given. Raises :class:`ValueError` when
    there are none: a ``WWW-Authenticate`` field must carry at least one challenge (RFC 9110
    §11.6.1), so the caller should send no field instead.
    """
    formatted = [format_challenge(c) for c in challenges]
    if not formatted:
        raise ValueError("WWW-Authenticate needs at least one challenge (RFC 9110 §11.6.1)")
    return ", ".join(formatted)


class _Parser:
    """Recursive-descent parser for one field line of ``#challenge`` (RFC 9110 §11.6.1)."""

    def __init__(self, text: str, line: int, multi: bool) -> None:
        self.text = text
        self.pos = 0
        self.line = line
        self.multi = multi

    def error(self, what: str, position: int | None = None) -> ChallengeSyntaxError:
        at = self.pos if position is None else position
        where = f"field line {self.line + 1}, " if self.multi else ""
        snippet = self.text[at : at + 20]
        found = f"found {snippet!r}" if snippet else "found end of value"
        return ChallengeSyntaxError(
            f"{where}position {at}: {what}; {found}", position=at, line=self.line
        )

    def peek(self, at: int | None = None) -> str:
        i = self.pos if at is None else at
        return self.text[i] if i < len(self.text) else ""

    def skip_ows(self, at: int | None = None) -> int:
        i = self.pos if at is None else at
        while i < len(self.text) and self.text[i] in _OWS:
            i += 1
        if at is None:
            self.pos = i
        return i

    def token_end(self, at: int) -> int:
        i = at
        while i < len(self.text) and self.text[i] in _TCHAR:
            i += 1
        return i

    def at_list_boundary(self, at: int) -> bool:
        """Whether only OWS separates ``at`` from a list comma or the end of the value."""
        return self.peek(self.skip_ows(at)) in ("", ",")

    def auth_param_starts(self, at: int) -> bool:
        """Whether ``token BWS "="`` starts at ``at`` (RFC 9110 §11.6.1 disambiguation)."""
        end = self.token_end(at)
        return end > at and self.peek(self.skip_ows(end)) == "="

    def parse_list(self) -> list[Challenge]:
        # RFC 9110 §5.6.1: a recipient accepts empty list elements.
        challenges: list[Challenge] = []
        self.skip_ows()
        while self.pos < len(self.text):
            if self.peek() == ",":
                self.pos += 1
                self.skip_ows()
                continue
            challenges.append(self.parse_challenge())
            self.skip_ows()
            if self.pos < len(self.text) and self.peek() != ",":
                raise self.error("expected ',' or end of value after a challenge")
        return challenges

    def parse_challenge(self) -> Challenge:
        start = self.pos
        end = self.token_end(start)
        if end == start:
            raise self.error("expected an auth-scheme token")
        if self.peek(self.skip_ows(end)) == "=":
            raise self.error("auth-param outside a challenge (expected an auth-scheme first)")
        scheme = self.text[start:end]
        self.pos = end
        if self.peek() != " ":
            # No 1*SP: a bare scheme, which must be followed by the list separator.
            return self.build(scheme, [], None, start)
        while self.peek() == " ":
            self.pos += 1
        token68 = self.try_token68()
        if token68 is not None:
            return self.build(scheme, [], token68, start)
        return self.build(scheme, self.parse_params(), None, start)

    def try_token68(self) -> str | None:
        i = self.pos
        while i < len(self.text) and self.text[i] in _TOKEN68_CHAR:
            i += 1
        if i == self.pos:
            return None
        while self.peek(i) == "=":
            i += 1
        if not self.at_list_boundary(i):
            return None
        token68 = self.text[self.pos : i]
        self.pos = i
        return token68

    def parse_params(self) -> list[tuple[str, str]]:
        """``#auth-param`` after ``auth-scheme 1*SP``; stops before a comma that ends it."""
        params: list[tuple[str, str]] = []
        seen: dict[str, int] = {}
        if not self.auth_param_starts(self.pos):
            # `Scheme 1*SP` may be followed by an empty first element: `Scheme , a=b` gives
            # a=b to Scheme, `Scheme , Other` is a bare Scheme.
            self.skip_ows()
            if self.peek() not in ("", ","):
                raise self.error("expected token68 or auth-param after the auth-scheme")
        while True:
            if self.auth_param_starts(self.pos):
                name_at = self.pos
                name, value = self.parse_param()
                key = _ascii_lower(name)
                if key in seen:
                    raise self.error(
                        f"auth-param {name!r} repeated in one challenge (RFC 9110 §11.2)",
                        name_at,
                    )
                seen[key] = name_at
                params.append((name, value))
            # After a comma, `token BWS "="` continues this challenge; anything else (a bare
            # token, a token followed by SP) begins the next challenge.
            i = self.skip_ows(self.pos)
            if self.peek(i) != ",":
                return params
            while self.peek(i) == ",":
                i = self.skip_ows(i + 1)
            if not self.auth_param_starts(i):
                return params
            self.pos = i

    def parse_param(self) -> tuple[str, str]:
        end = self.token_end(self.pos)
        name = self.text[self.pos : end]
        self.pos = self.skip_ows(end)
        self.pos += 1  # "=", guaranteed by auth_param_starts
        self.skip_ows()
        if self.peek() == '"':
            return name, self.parse_quoted_string()
        value_end = self.token_end(self.pos)
        if value_end == self.pos:
            raise self.error(f"expected a token or quoted-string as the value of {name!r}")
        value = self.text[self.pos : value_end]
        self.pos = value_end
        return name, value

    def parse_quoted_string(self) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated quoted-string", start)
            c = self.text[self.pos]
            if c == '"':
                self.pos += 1
                return "".join(out)
            if c == "\\":
                escaped = self.peek(self.pos + 1)
                if escaped == "":
                    raise self.error("unterminated quoted-string", start)
                if escaped not in _QUOTED_PAIR_CHAR:
                    raise self.error(self.bad_char_message("quoted-pair", escaped), self.pos + 1)
                out.append(escaped)
                self.pos += 2
                continue
            if c not in _QDTEXT:
                raise self.error(self.bad_char_message("quoted-string", c))
            out.append(c)
            self.pos += 1

    @staticmethod
    def bad_char_message(where: str, c: str) -> str:
        if "\x80" <= c <= "\xff":
            return f"obs-text {c!r} in {where} is not supported (values must be ASCII)"
        return f"character {c!r} is not allowed in a {where}"

    def build(
        self, scheme: str, params: list[tuple[str, str]], token68: str | None, start: int
    ) -> Challenge:
        try:
            return Challenge(scheme, tuple(params), token68)
        except ValueError as exc:
            # The grammar checks above should make this unreachable; keep the contract that
            # malformed input only ever raises ChallengeSyntaxError.
            raise self.error(f"invalid challenge: {exc}", start) from exc


def parse_challenges(value: str | Iterable[str]) -> tuple[Challenge, ...]:
    """Parse ``WWW-Authenticate`` into challenges, in order (RFC 9110 §11.6.1).

    ``value`` is one field value, or an iterable of field line values of the same field,
    whose challenges are combined into one list as RFC 9110 §5.3 allows; each line must
    itself be a valid list of challenges (a challenge cannot continue on the next line).
    Empty list elements and OWS are tolerated (RFC 9110 §5.6.1). Parameter values may be
    tokens or quoted-strings; quoted-pairs are unescaped. Scheme and parameter names keep
    their case.

    Raises :class:`ChallengeSyntaxError` for anything that does not match the grammar, for
    a parameter name repeated in one challenge (RFC 9110 §11.2), for non-ASCII (obs-text)
    values, and when the value holds no challenge at all (a ``WWW-Authenticate`` field needs
    at least one, RFC 9110 §11.6.1).
    """
    if isinstance(value, str):
        lines: list[str] = [value]
        multi = False
    elif isinstance(value, bytes | bytearray):
        raise TypeError("parse_challenges takes str; decode header bytes as latin-1 first")
    else:
        lines = list(value)
        multi = True
    challenges: list[Challenge] = []
    for index, line in enumerate(lines):
        if not isinstance(line, str):
            raise TypeError(f"field line {index + 1} is not a str: {line!r}")
        challenges.extend(_Parser(line, index, multi).parse_list())
    if not challenges:
        raise ChallengeSyntaxError(
            "WWW-Authenticate holds no challenge; at least one is required (RFC 9110 §11.6.1)"
        )
    return tuple(challenges)


def bearer_challenge(
    *,
    realm: str | None = None,
    scope: Iterable[str] | None = None,
    error: str | None = None,
    error_description: str | None = None,
    error_uri: str | None = None,
    resource_metadata: str | None = None,
    extra: Iterable[tuple[str, str]] = (),
) -> Challenge:
    """A ``Bearer`` challenge (RFC 6750 §3), optionally pointing at RFC 9728 metadata.

    Parameters appear in the order realm, scope, error, error_description, error_uri,
    resource_metadata, then ``extra``; ``None`` ones are left out, and with none at all the
    challenge is a bare ``Bearer``.

    - ``scope``: scope tokens (RFC 6749 §3.3 ``1*NQCHAR``), de-duplicated keeping the first
      occurrence and joined by single spaces; left out when empty. A ``str`` is rejected
      with :class:`TypeError` (pass ``value.split()``), an invalid token with ValueError.
    - ``error``: a non-empty NQSCHAR string (RFC 6750 §3), e.g. ``invalid_token``;
      ValueError otherwise.
    - ``error_description``: passed through :func:`sanitize_nqschar`; left out when nothing
      remains.
    - ``error_uri`` and ``resource_metadata`` (RFC 9728 §5.1): absolute URIs, which must be
      NQCHAR-only (ValueError otherwise).
    - ``extra``: more parameters; a name repeating an earlier one raises ValueError.
    """
    params: list[tuple[str, str]] = []
    if realm is not None:
        params.append(("realm", realm))
    if scope is not None:
        if isinstance(scope, str):
            raise TypeError("scope must be an iterable of scope tokens, not a str")
        tokens: dict[str, None] = {}
        for token in scope:
            if not is_scope_token(token):
                raise ValueError(f"invalid scope token (RFC 6749 §3.3): {token!r}")
            tokens[token] = None
        if tokens:
            params.append(("scope", " ".join(tokens)))
    if error is not None:
        if not error or any(c not in _NQSCHAR for c in error):
            raise ValueError(f"error must be a non-empty NQSCHAR string (RFC 6750 §3): {error!r}")
        params.append(("error", error))
    if error_description is not None:
        description = sanitize_nqschar(error_description)
        if description:
            params.append(("error_description", description))
    for name, uri in (("error_uri", error_uri), ("resource_metadata", resource_metadata)):
        if uri is not None:
            if not is_scope_token(uri):
                raise ValueError(f"{name} must be a non-empty NQCHAR string: {uri!r}")
            params.append((name, uri))
    params.extend(extra)
    return Challenge("Bearer", tuple(params))


def basic_challenge(realm: str, charset: str | None = "UTF-8") -> Challenge:
    """A ``Basic`` challenge: ``Basic realm="…", charset="UTF-8"`` (RFC 7617 §2).

    ``charset`` is left out when ``None``; otherwise it must be ``UTF-8``, matched
    case-insensitively, the only value RFC 7617 §2.1 allows (ValueError otherwise).
    """
    params = [("realm", realm)]
    if charset is not None:
        if _ascii_lower(charset) != "utf-8":
            raise ValueError(f"charset must be 'UTF-8' (RFC 7617 §2.1): {charset!r}")
        params.append(("charset", charset))
    return Challenge("Basic", tuple(params))
