"""``manage.py authstatus_explain METHOD PATH``: the decision and the exact response headers."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from authstatus.explain import explain


class Command(BaseCommand):
    # Lazy, so --help is in the language active when it is printed (django-stubs types help as
    # str; Django formats it with str()).
    help = gettext_lazy(  # type: ignore[assignment]
        "Explain what authstatus answers to METHOD PATH for a client (nothing is sent)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("method")
        parser.add_argument("path")
        parser.add_argument("--user", help=_("Username of the client (session login)."))
        parser.add_argument(
            "--scopes",
            help=_(
                'Client sends a bearer token with these scopes, e.g. "read write" '
                "(of --user if given)."
            ),
        )
        parser.add_argument("--accept", default="application/json", help=_("Accept header."))
        parser.add_argument(
            "--object",
            dest="obj",
            metavar="ID",
            help=_(
                "Also decide this object of a DRF detail route (its object requirements): "
                "the view's get_object() looks it up by the route's lookup parameter."
            ),
        )
        parser.add_argument(
            "--host",
            help=_(
                "Host of the request (default: the first literal entry of ALLOWED_HOSTS, "
                "else localhost)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            model = get_user_model()
            try:
                user = model._default_manager.get_by_natural_key(options["user"])
            except model.DoesNotExist as exc:
                raise CommandError(_("No user '%(name)s'.") % {"name": options["user"]}) from exc
        scopes = options["scopes"].split() if options["scopes"] is not None else None
        explanation = explain(
            options["method"],
            options["path"],
            user=user,
            scopes=scopes,
            accept=options["accept"],
            host=options["host"],
            obj=options["obj"],
        )
        for line in explanation.lines():
            self.stdout.write(line)
