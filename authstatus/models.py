"""``ResourcePolicy``: the admin-editable per-resource policy.

Validation is one function (:func:`authstatus.policies.specs.rule_from_spec`) for settings and
database alike; :meth:`ResourcePolicy.clean` calls it, so the admin form rejects anything
that could not be enforced, field by field, and :meth:`ResourcePolicy.save` compiles the row
before writing it, so nothing half-valid is saved through the model.
Rows written around ``save()`` (raw SQL, ``QuerySet.update``, a restore) may still not
validate: :meth:`ResourcePolicy.problem` says why, and the registry enforces such a row in a
way that is never more open (:class:`authstatus.policies.DatabaseSource`).

Groups, permissions and requirements are stored by *name*, not as foreign keys: deleting a
group must not silently drop the requirement from a policy (which would widen access). A
policy naming a group that no longer exists is satisfied by nobody — it fails closed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from authstatus.contrib.oauth2_provider.authtime import TokenAuthentication
from authstatus.core.decision import Access, Policy
from authstatus.core.matching import Rule
from authstatus.policies.specs import DATABASE, PolicyError, rule_from_spec

__all__ = ["ResourcePolicy", "TokenAuthentication"]


class ResourcePolicy(models.Model):
    path = models.CharField(
        _("path pattern"),
        max_length=500,
        help_text=_(
            "Pattern over the request path: '*' is one segment, '**' any number of segments; "
            "e.g. /api/notes/*/. A trailing slash is significant."
        ),
    )
    methods = models.CharField(
        _("methods"),
        max_length=200,
        blank=True,
        help_text=_("HTTP methods, space-separated (GET implies HEAD). Blank: all methods."),
    )
    access = models.CharField(
        _("access"),
        max_length=20,
        choices=[
            (Access.ANONYMOUS.value, _("anonymous-allowed")),
            (Access.AUTHENTICATED.value, _("authenticated-only")),
            (Access.NOBODY.value, _("closed to everyone")),
        ],
        default=Access.AUTHENTICATED.value,
    )
    conceal = models.BooleanField(
        _("conceal"),
        default=False,
        help_text=_("Answer every refusal as if the resource did not exist (404)."),
    )
    required_scopes = models.CharField(
        _("required scopes"),
        max_length=500,
        blank=True,
        help_text=_("OAuth scopes a bearer token must carry, space-separated."),
    )
    required_groups = models.JSONField(
        _("required groups"),
        default=list,
        blank=True,
        help_text=_("Django groups the user must belong to (all of them)."),
    )
    required_permissions = models.JSONField(
        _("required permissions"),
        default=list,
        blank=True,
        help_text=_("Permissions the user must hold, as app_label.codename (all of them)."),
    )
    requirements = models.JSONField(
        _("requirements"),
        default=list,
        blank=True,
        help_text=_("Named requirement predicates declared in AUTHSTATUS['REQUIREMENTS']."),
    )
    max_age = models.PositiveIntegerField(
        _("max age"),
        null=True,
        blank=True,
        help_text=_(
            "Seconds since the user last authenticated, at most (RFC 9470). Older logins and "
            "tokens, and those whose authentication time is unknown, must authenticate again. "
            "Blank: no limit."
        ),
    )
    acr_values = models.CharField(
        _("authentication context classes"),
        max_length=500,
        blank=True,
        help_text=_(
            "Authentication context class references (acr), space-separated, in order of "
            "preference: the user must have authenticated with one of them. Blank: any."
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    priority = models.IntegerField(
        _("priority"),
        default=0,
        help_text=_("Tie-break between equally specific policies: higher wins."),
    )
    description = models.TextField(_("description"), blank=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("resource policy")
        verbose_name_plural = _("resource policies")
        ordering = ["path", "methods", "-priority"]

    def __str__(self) -> str:
        return f"{self.methods or '*'} {self.path} → {self.access}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Refuse (``ValidationError``) a row that could not be enforced: what the registry
        loads after the commit is known to compile. The row is compiled alone
        (:func:`rule_from_spec` does): a rule compiles or fails by its own pattern, never
        because of another rule, so compiling it with every other row, which reads and
        validates the whole table (seconds at 100,000 rows), would find nothing more."""
        spec = self.spec()
        spec["enabled"] = True  # disabled policies too: enabling must not break
        try:
            rule_from_spec(spec, source=DATABASE, rank=1)
        except PolicyError as exc:
            raise ValidationError({exc.field or "__all__": exc.translated()}) from exc
        super().save(*args, **kwargs)

    def spec(self) -> dict[str, Any]:
        """The policy as the dict that settings policies use."""
        return {
            "path": self.path,
            "methods": self.methods,
            "access": self.access,
            "conceal": self.conceal,
            "required_scopes": self.required_scopes,
            "required_groups": list(self.required_groups or []),
            "required_permissions": list(self.required_permissions or []),
            "requirements": list(self.requirements or []),
            "max_age": self.max_age,
            "acr_values": self.acr_values,
            "enabled": self.enabled,
            "priority": self.priority,
            "description": self.description or f"policy #{self.pk}",
        }

    def rule(self) -> Rule[Policy] | None:
        """The compiled rule (``None`` when disabled); raises PolicyError if invalid."""
        return rule_from_spec(self.spec(), source=DATABASE, rank=1)

    def problem(self, *, translated: bool = False) -> str | None:
        """Why this row cannot be enforced as written (``None``: it can). Values of the wrong
        type, which JSON fields hold when written around :meth:`clean`, are problems too.
        English (for logs) unless ``translated``: then in the active language (the admin,
        the system checks)."""
        try:
            self.rule()
        except PolicyError as exc:
            return exc.translated() if translated else str(exc)
        except Exception as exc:
            return str(exc) or type(exc).__name__
        return None

    def clean(self) -> None:
        super().clean()
        spec = self.spec()
        spec["enabled"] = True  # validate disabled policies too: enabling must not break
        try:
            rule_from_spec(spec, source=DATABASE, rank=1)
        except PolicyError as exc:
            raise ValidationError({exc.field or "__all__": exc.translated()}) from exc
        self._check_names_exist()

    def _check_names_exist(self) -> None:
        from django.contrib.auth.models import Group, Permission

        groups = set(self.required_groups or [])
        known = set(Group.objects.filter(name__in=groups).values_list("name", flat=True))
        if groups - known:
            missing = ", ".join(sorted(groups - known))
            raise ValidationError({"required_groups": _("No such group: %s.") % missing})
        permissions = set(self.required_permissions or [])
        found = {
            f"{app_label}.{codename}"
            for app_label, codename in Permission.objects.filter(
                codename__in={p.partition(".")[2] for p in permissions}
            ).values_list("content_type__app_label", "codename")
        }
        if permissions - found:
            missing = ", ".join(sorted(permissions - found))
            raise ValidationError({"required_permissions": _("No such permission: %s.") % missing})
