"""The benchmark database: migrated, in WAL mode, with a user, a client and access tokens."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

FILLER_TOKENS = 20_000  # so the token lookup is an index lookup in a table of realistic size


@dataclass(frozen=True)
class Tokens:
    """Bearer strings of the seeded tokens (all alice's, application "bench")."""

    valid: str  # scopes "read write", expires in a day
    read_only: str  # scope "read" (lacks "admin" and "write")
    expired: str  # expired a minute ago
    unknown: str  # never issued
    # Token backend rows (benchmarks/external.py); empty when those servers are not started.
    jwt: str = ""  # RFC 9068, client token (no user), scope "read write"
    jwt_user: str = ""  # the same with sub "alice" (USER_FIELD username)
    introspected: str = ""  # an access token of the DOT process, asked by introspection


def prepare() -> Tokens:
    """Migrate the (new, empty) benchmark database and seed it. Django must be set up."""
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application

    with connection.cursor() as cursor:
        # Readers (gunicorn's workers) never wait for the process that edits a policy.
        cursor.execute("PRAGMA journal_mode=WAL")
    call_command("migrate", verbosity=0, interactive=False)

    rng = random.Random(6)

    def token() -> str:
        return f"{rng.getrandbits(128):032x}"

    alice = User.objects.create_user("alice", password="unused")
    app = Application.objects.create(
        name="bench",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    now = timezone.now()
    day = now + timedelta(days=1)
    AccessToken.objects.bulk_create(
        AccessToken(user=alice, application=app, token=token(), scope="read", expires=day)
        for _ in range(FILLER_TOKENS)
    )
    tokens = Tokens(valid=token(), read_only=token(), expired=token(), unknown=token())
    for value, scope, expires in (
        (tokens.valid, "read write", day),
        (tokens.read_only, "read", day),
        (tokens.expired, "read write", now - timedelta(minutes=1)),
    ):
        AccessToken.objects.create(
            user=alice, application=app, token=value, scope=scope, expires=expires
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return tokens
