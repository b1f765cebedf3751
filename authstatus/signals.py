"""Observe-only signals for audit logging. Receivers cannot change a decision.

``access_denied`` is sent once for every refused request, after the decision and before the
response is rendered, with ``sender`` the adapter class and keyword arguments ``request``
(the Django ``HttpRequest``), ``decision`` (:class:`authstatus.core.decision.Decision`) and
``credentials`` (:class:`authstatus.core.decision.Credentials`; never the secret itself) and
``user`` (the principal the credentials identified, or ``None`` when none did — e.g. the token
was invalid; it may differ from ``request.user`` when a bearer token was refused).
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["access_denied"]

access_denied = Signal()
