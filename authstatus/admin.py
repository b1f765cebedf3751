"""The ResourcePolicy admin: list, filters, search, matched routes, "try a request".

Thin: the form validates through the model (:meth:`ResourcePolicy.clean`), the matched routes come
from :mod:`authstatus.policies.resolution`, the "try a request" page from
:func:`authstatus.explain`. Every change is recorded in Django's admin log (the object's History
page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from authstatus.conf import app_settings
from authstatus.explain import explain
from authstatus.models import ResourcePolicy
from authstatus.policies.resolution import endpoints_matching
from authstatus.policies.specs import POLICY_FIELDS

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse
    from django.urls import URLPattern


def _group_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in Group.objects.order_by("name").values_list("name", flat=True)]


def _permission_choices() -> list[tuple[str, str]]:
    rows = Permission.objects.select_related("content_type").order_by(
        "content_type__app_label", "codename"
    )
    return [
        (f"{p.content_type.app_label}.{p.codename}", f"{p.content_type.app_label}.{p.codename}")
        for p in rows
    ]


def _requirement_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(app_settings.REQUIREMENTS)]


class ResourcePolicyForm(forms.ModelForm):  # type: ignore[type-arg]
    required_groups = forms.MultipleChoiceField(
        label=_("required groups"), required=False, widget=forms.CheckboxSelectMultiple
    )
    required_permissions = forms.MultipleChoiceField(
        label=_("required permissions"), required=False
    )
    requirements = forms.MultipleChoiceField(
        label=_("requirements"), required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ResourcePolicy
        fields = list(POLICY_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["required_groups"].choices = _group_choices()  # type: ignore[attr-defined]
        self.fields["required_permissions"].choices = _permission_choices()  # type: ignore[attr-defined]
        self.fields["requirements"].choices = _requirement_choices()  # type: ignore[attr-defined]


class TryRequestForm(forms.Form):
    method = forms.ChoiceField(
        label=_("method"),
        choices=[(m, m) for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")],
    )
    path = forms.CharField(label=_("path"), initial="/api/", max_length=2000)
    username = forms.CharField(
        label=_("username"),
        required=False,
        help_text=_("Blank: an anonymous client. Otherwise a session login."),
    )
    scopes = forms.CharField(
        label=_("scopes"),
        required=False,
        help_text=_(
            "If set (space-separated, or '-' for none), the client sends a bearer token with "
            "these scopes instead (of the user above, if any)."
        ),
    )

    obj = forms.CharField(
        label=_("object id"),
        required=False,
        max_length=200,
        help_text=_(
            "Optional, for a DRF detail route: the view looks this object up and its "
            "object-level requirements are decided too."
        ),
    )

    def clean_path(self) -> str:
        value: str = self.cleaned_data["path"]
        if not value.startswith("/"):
            raise forms.ValidationError(_("A path starts with '/'."))
        return value

    def clean_username(self) -> Any:
        name = self.cleaned_data["username"].strip()
        if not name:
            return None
        model = get_user_model()
        try:
            return model._default_manager.get_by_natural_key(name)
        except model.DoesNotExist as exc:
            raise forms.ValidationError(_("No such user.")) from exc


@admin.register(ResourcePolicy)
class ResourcePolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ResourcePolicyForm
    list_display = (
        "path",
        "methods_display",
        "access",
        "conceal",
        "required_scopes",
        "enabled",
        "problem",
    )
    list_filter = ("access", "conceal", "enabled")
    search_fields = ("path", "description", "required_scopes")
    readonly_fields = ("matched_routes", "updated")
    change_list_template = "admin/authstatus/resourcepolicy/change_list.html"
    fieldsets = (
        (None, {"fields": ("path", "methods", "access", "conceal", "matched_routes")}),
        (
            _("Requirements (authenticated access only)"),
            {
                "fields": (
                    "required_scopes",
                    "required_groups",
                    "required_permissions",
                    "requirements",
                )
            },
        ),
        (
            _("Step-up authentication (RFC 9470; authenticated access only)"),
            {"fields": ("max_age", "acr_values")},
        ),
        (None, {"fields": ("enabled", "priority", "description", "updated")}),
    )

    @admin.display(description=_("methods"))
    def methods_display(self, obj: ResourcePolicy) -> str:
        return obj.methods or str(_("all"))

    @admin.display(description=_("problem"))
    def problem(self, obj: ResourcePolicy) -> str:
        error = obj.problem(translated=True)
        if error is None:
            return ""
        return format_html('<strong class="errornote">{}</strong>', error)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Rows written around the model's validation (raw SQL, a migration, a restore).
        broken = [row for row in ResourcePolicy.objects.order_by("pk") if row.problem()]
        if broken:
            messages.error(
                request,
                ngettext(
                    "%(count)d resource policy does not validate and is not enforced as "
                    "written (%(rows)s): until it is fixed it is enforced as its last valid "
                    "version, or closed to everyone.",
                    "%(count)d resource policies do not validate and are not enforced as "
                    "written (%(rows)s): until they are fixed they are enforced as their last "
                    "valid version, or closed to everyone.",
                    len(broken),
                )
                % {"count": len(broken), "rows": ", ".join(f"#{r.pk} {r.path}" for r in broken)},
            )
        extra_context = {
            **(extra_context or {}),
            "may_try_requests": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("matches these routes"))
    def matched_routes(self, obj: ResourcePolicy) -> str:
        if not obj.path:
            return "-"
        try:
            routes = endpoints_matching(obj.path, obj.methods)
        except ValueError:
            return "-"
        if not routes:
            return str(_("No URL route of this project."))
        return format_html_join(
            "",
            "<div><code>{}</code> {}</div>",
            ((r.written, " ".join(r.methods)) for r in routes),
        )

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "try/",
                self.admin_site.admin_view(self.try_request_view),
                name="authstatus_resourcepolicy_try",
            )
        ]
        return extra + super().get_urls()

    def try_request_view(self, request: HttpRequest) -> HttpResponse:
        """The "try a request" page. Explaining reads the policies and decides as any user
        the form names, so it takes the change permission on policies (``admin_view()``
        only checks for staff). The inputs come by ``POST``, which ``admin_view()`` protects
        from cross-site requests (CSRF); a ``GET`` shows the form, filled from its query
        string, and explains nothing. Explaining itself announces and writes nothing
        (:func:`authstatus.explain.explain`)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        explanation = None
        if request.method == "POST":
            form = TryRequestForm(request.POST)
            if form.is_valid():
                raw_scopes = form.cleaned_data["scopes"].strip()
                scopes = None if not raw_scopes else [s for s in raw_scopes.split() if s != "-"]
                explanation = explain(
                    form.cleaned_data["method"],
                    form.cleaned_data["path"],
                    user=form.cleaned_data["username"],
                    scopes=scopes,
                    host=request.get_host(),
                    obj=form.cleaned_data["obj"].strip() or None,
                )
        else:
            form = TryRequestForm(initial=request.GET.dict())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Try a request"),
            "form": form,
            "explanation": explanation,
        }
        return TemplateResponse(request, "admin/authstatus/resourcepolicy/try.html", context)
