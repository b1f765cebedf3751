"""Create the demo's users, group, OAuth2 client, tokens and data. Safe to run repeatedly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from authstatus.models import ResourcePolicy, TokenAuthentication
from demo_project.api.models import Order, VaultItem
from demo_project.api.policies import DEMO_POLICIES
from demo_project.api.tour import EXPIRED_TOKEN, READ_TOKEN, READ_WRITE_TOKEN

CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-secret"


class Command(BaseCommand):
    help = "Seed the demo: alice/alice, bob/bob, admin/admin, group staff-api, client demo-client."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        alice = self._user("alice")
        bob = self._user("bob")
        admin = self._user("admin", superuser=True)
        staff, _ = Group.objects.get_or_create(name="staff-api")
        staff.user_set.set([admin])

        application, _ = Application.objects.get_or_create(
            client_id=CLIENT_ID,
            defaults={
                "name": "demo-client",
                "client_type": Application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": Application.GRANT_PASSWORD,
            },
        )
        application.name = "demo-client"
        application.client_type = Application.CLIENT_CONFIDENTIAL
        application.authorization_grant_type = Application.GRANT_PASSWORD
        application.client_secret = CLIENT_SECRET  # hashed on save
        application.save()

        later = timezone.now() + timedelta(days=365)
        earlier = timezone.now() - timedelta(hours=1)
        for token, scope, expires in (
            (READ_TOKEN, "read", later),
            (READ_WRITE_TOKEN, "read write", later),
            (EXPIRED_TOKEN, "read", earlier),
        ):
            AccessToken.objects.filter(token=token).delete()
            issued = AccessToken.objects.create(
                user=alice, application=application, token=token, scope=scope, expires=expires
            )
            # RFC 9470: alice authenticated for these tokens a day ago (the tour's step-up row).
            TokenAuthentication.objects.create(
                access_token=issued, auth_time=timezone.now() - timedelta(days=1)
            )

        for spec in DEMO_POLICIES:
            ResourcePolicy.objects.update_or_create(
                path=spec["path"],
                methods=spec.get("methods", ""),
                defaults={
                    "access": spec.get("access", "authenticated"),
                    "conceal": spec.get("conceal", False),
                    "required_scopes": spec.get("required_scopes", ""),
                    "required_groups": spec.get("required_groups", []),
                    "required_permissions": [],
                    "requirements": spec.get("requirements", []),
                    "max_age": spec.get("max_age"),
                    "acr_values": spec.get("acr_values", ""),
                    "enabled": True,
                    "priority": 0,
                    "description": spec["description"],
                },
            )

        VaultItem.objects.update_or_create(
            pk=1, defaults={"owner": alice, "name": "Alice's diary", "secret": "dear diary"}
        )
        VaultItem.objects.update_or_create(
            pk=2, defaults={"owner": bob, "name": "Bob's recipes", "secret": "add salt"}
        )
        # Orders 1 and 4 are alice's, 2 and 3 bob's (the docs' examples use these ids).
        for pk, owner, title in (
            (1, alice, "Alice's teapot"),
            (2, bob, "Bob's bicycle bell"),
            (3, bob, "Bob's lamp"),
            (4, alice, "Alice's umbrella"),
        ):
            Order.objects.update_or_create(
                pk=pk, defaults={"owner": owner, "title": title, "shipped": False}
            )
        # Rows saved with explicit ids leave PostgreSQL's sequences behind: a later insert
        # (POST /api/orders/) would take id 1 again.
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [VaultItem, Order]):
                cursor.execute(sql)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded users alice, bob, admin ({staff.name}: admin), client {CLIENT_ID}, "
                f"{len((READ_TOKEN, READ_WRITE_TOKEN, EXPIRED_TOKEN))} tour tokens, "
                f"{len(DEMO_POLICIES)} resource policies, 2 vault items, 4 orders."
            )
        )

    @staticmethod
    def _user(name: str, *, superuser: bool = False) -> User:
        user, _ = User.objects.get_or_create(username=name)
        user.is_active = True
        user.is_staff = superuser
        user.is_superuser = superuser
        user.set_password(name)
        user.save()
        return user
