"""Translation of the texts a :class:`~authstatus.core.decision.Decision` carries.

A decision's ``description`` is English and stays English where a machine reads it: it is the
``error_description`` of the ``Bearer`` challenge, which RFC 6750 §3 limits to ASCII
(``%x20-21 / %x23-5B / %x5D-7E``), and the core that writes most of them imports no Django.
:func:`describe` translates it where a human reads it — the problem details ``detail`` and the
HTML pages — by looking the English text up in the active language's catalog: the English texts
are the msgids. Every text an authenticator or the core puts in a decision is marked with
``gettext_noop`` where it is written (the core's here), so ``makemessages`` extracts it.

Not translated, by design: ``WWW-Authenticate``, problem ``type`` URIs, JSON member names and
values such as ``resolution``, and log messages (operators read logs in one language).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext, gettext_noop

from authstatus.core.decision import STEP_UP_TOO_OLD, STEP_UP_WEAKER, step_up_params

if TYPE_CHECKING:
    from authstatus.core.decision import Decision

__all__ = ["CORE_TEXTS", "describe"]

CORE_TEXTS = (
    # authstatus.core.decision.DESCRIPTIONS
    gettext_noop("The request is malformed."),
    gettext_noop("Authentication credentials were not provided."),
    gettext_noop("The credentials provided are not valid."),
    gettext_noop("This resource is not available to anyone."),
    gettext_noop("You do not have permission to perform this action."),
    gettext_noop("The access token does not carry the scope this request needs."),
    gettext_noop("A more recent or stronger authentication is required: confirm who you are."),
    gettext_noop("Not found."),
    gettext_noop("The access token cannot be checked now. Try again later."),
    # authstatus.core.decision.SCOPES_NOT_CARRIED
    gettext_noop("These credentials cannot carry the OAuth scopes this request needs."),
    # authstatus.core.decision.STEP_UP_*
    gettext_noop("The time of your last authentication is not known: authenticate again."),
    gettext_noop(
        "Your last authentication is too old: at most %(max_age)s seconds are allowed. "
        "Authenticate again."
    ),
    gettext_noop("This request needs a stronger authentication: %(acr_values)s."),
    # authstatus.core.matching.PatternError, as policies.PolicyError carries it to the admin
    gettext_noop("A path pattern must start with '/'."),
    gettext_noop("A path pattern cannot contain whitespace or control characters."),
    gettext_noop("A path pattern matches the path only; remove the '?' or '#' part."),
)
"""The core's English texts, for ``makemessages`` (the core cannot mark them: it imports no
Django). ``tests/test_i18n.py`` checks that every one of the core's texts is listed here."""

_TEMPLATES = (STEP_UP_TOO_OLD, STEP_UP_WEAKER)


def describe(decision: Decision) -> str:
    """``decision.description`` in the active language, or as it is when the catalog has no
    translation for it (a third-party permission's own message, say)."""
    text = decision.description
    if not text:
        return text
    translated = gettext(text)
    if translated != text:
        return translated
    params = step_up_params(decision.policy)
    for template in _TEMPLATES:
        if template % params == text:
            localized = gettext(template)
            if localized == template:
                return text
            # A list of acr values reads "a or b" in English; a translation names them as a list.
            return localized % {**params, "acr_values": ", ".join(decision.policy.acr_values)}
    return text
