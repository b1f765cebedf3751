"""factory-boy factories for users, groups, policies and django-oauth-toolkit objects."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from authstatus.models import ResourcePolicy


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "secret")
    is_active = True

    @factory.post_generation
    def groups(self, create: bool, extracted: list[Group] | None, **kwargs: object) -> None:
        if create:
            self.save()
            if extracted:
                self.groups.set(extracted)


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"group{n}")


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    name = factory.Sequence(lambda n: f"client{n}")
    client_type = Application.CLIENT_CONFIDENTIAL
    authorization_grant_type = Application.GRANT_PASSWORD


class AccessTokenFactory(factory.django.DjangoModelFactory):
    """A DOT access token; ``token`` is the bearer string clients send."""

    class Meta:
        model = AccessToken

    user = factory.SubFactory(UserFactory)
    application = factory.SubFactory(ApplicationFactory)
    token = factory.Sequence(lambda n: f"token-{n}")
    scope = "read write"
    expires = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))

    class Params:
        expired = factory.Trait(
            expires=factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=1))
        )


class VaultItemFactory(factory.django.DjangoModelFactory):
    """An item of the demo's concealed vault; only its owner may see it."""

    class Meta:
        model = "demo_api.VaultItem"

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"item{n}")
    secret = "s3cret"


class OrderFactory(factory.django.DjangoModelFactory):
    """An order of the demo's router-registered viewset; only its owner may see it."""

    class Meta:
        model = "demo_api.Order"

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"order{n}")
    shipped = False


class ResourcePolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourcePolicy

    path = factory.Sequence(lambda n: f"/api/generated-{n}/")
    access = "authenticated"


def corrupted_policy(row: ResourcePolicy | None = None, **fields: object) -> ResourcePolicy:
    """``row`` (a new valid policy if ``None``) overwritten with ``fields`` the way raw SQL, a
    migration or a restore would: no ``save()`` validation, no signal, no announcement."""
    row = row or ResourcePolicyFactory()
    ResourcePolicy.objects.filter(pk=row.pk).update(**fields)
    row.refresh_from_db()
    return row
