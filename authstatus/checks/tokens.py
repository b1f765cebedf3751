"""Checks of ``TOKEN_BACKENDS``: each backend builds; with ``--deploy``, each JWT issuer's keys can
be fetched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.translation import gettext as _

from authstatus.checks.codes import Codes
from authstatus.conf import DEFAULTS, SETTING_NAME
from authstatus.tokens import BackendConfigurationError, build
from authstatus.tokens.jwt import JWTBackend


@register(Tags.security)
def check_token_backends(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every ``TOKEN_BACKENDS`` entry builds (E035; a JWT backend without a JWKS E036, an
    empty or unsafe algorithm list E037; an introspection backend without endpoint or
    client E039) and agrees with this resource's identifier (E038)."""

    raw = getattr(settings, SETTING_NAME, {})
    if not isinstance(raw, Mapping):
        return []  # authstatus.E001
    entries = raw.get("TOKEN_BACKENDS", DEFAULTS["TOKEN_BACKENDS"])
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence) or not entries:
        return [
            Error(
                _("TOKEN_BACKENDS must be a non-empty list of backend dicts."),
                id=Codes.BAD_TOKEN_BACKEND,
            )
        ]
    errors: list[CheckMessage] = []
    for index, entry in enumerate(entries):
        try:
            backend = build(entry)
        except BackendConfigurationError as exc:
            errors.append(Error(f"TOKEN_BACKENDS[{index}]: {exc}", id=exc.code))
            continue
        except Exception as exc:
            errors.append(
                Error(
                    _("TOKEN_BACKENDS[%(index)s] cannot be built: %(error)s")
                    % {"index": index, "error": exc},
                    id=Codes.BAD_TOKEN_BACKEND,
                )
            )
            continue
        errors.extend(
            Error(f"TOKEN_BACKENDS[{index}]: {message}", id=code)
            for code, message in backend.problems()
        )
    return errors


@register(Tags.security, deploy=True)
def check_token_backends_reachable(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """``check --deploy`` only: each JWT backend's JWK Set can be fetched now and holds a key
    for an allowed algorithm (W035). A network call, hence not on every ``check``."""

    raw = getattr(settings, SETTING_NAME, {})
    entries = raw.get("TOKEN_BACKENDS", []) if isinstance(raw, Mapping) else []
    warnings: list[CheckMessage] = []
    for index, entry in enumerate(entries if isinstance(entries, list | tuple) else []):
        try:
            backend = build(entry)
        except Exception:  # noqa: S112 - reported by check_token_backends
            continue
        if isinstance(backend, JWTBackend):
            problem = backend.reachable_keys()
            if problem is not None:
                warnings.append(
                    Warning(
                        f"TOKEN_BACKENDS[{index}]: {problem}.",
                        hint=_("Until it can, every JWT of this issuer is answered 503."),
                        id=Codes.JWKS_UNUSABLE,
                    )
                )
    return warnings
