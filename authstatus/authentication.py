"""The framework-neutral authenticators under their first public path, the one
``MIDDLEWARE_AUTHENTICATORS`` and ``FIRST_PARTY_AUTHENTICATION`` have named: both paths name
the same classes, defined in :mod:`authstatus.enforcement.authenticators`."""

from authstatus.enforcement.authenticators import (
    URI_TOKEN_ATTRIBUTE,
    Authenticator,
    BasicAuthenticator,
    LazyChallenges,
    Result,
    SessionAuthenticator,
    authorization_header,
    combine,
    in_query,
    is_first_party,
    query_may_carry,
)

__all__ = [
    "URI_TOKEN_ATTRIBUTE",
    "Authenticator",
    "BasicAuthenticator",
    "LazyChallenges",
    "Result",
    "SessionAuthenticator",
    "authorization_header",
    "combine",
    "in_query",
    "is_first_party",
    "query_may_carry",
]
