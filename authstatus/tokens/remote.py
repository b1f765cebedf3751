"""HTTP to an authorization server: JSON documents, metadata discovery, form posts.

Every failure — connection refused, timeout, a non-2xx status, a body that is not the JSON
object expected — is one exception, :class:`Unreachable`, so backends can fail closed
(``503``) on all of them alike. Connections are kept alive per thread (``requests.Session``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus, urlsplit, urlunsplit

import requests

__all__ = ["Metadata", "Unreachable", "discover", "get_json", "metadata_urls", "post_form"]

_local = threading.local()


class Unreachable(Exception):
    """The authorization server did not give a usable answer."""


def _session() -> requests.Session:
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        # The issuer's answers are about tokens: never read credentials from ~/.netrc or
        # proxies from the environment's idea of this host.
        session.trust_env = False
        _local.session = session
    return session


def _json_object(response: requests.Response) -> dict[str, Any]:
    if not 200 <= response.status_code < 300:
        raise Unreachable(f"{response.url} answered {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise Unreachable(f"{response.url} did not answer JSON") from exc
    if not isinstance(body, dict):
        raise Unreachable(f"{response.url} did not answer a JSON object")
    return body


def get_json(url: str, timeout: float) -> dict[str, Any]:
    try:
        response = _session().get(url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise Unreachable(f"{url}: {exc}") from exc
    return _json_object(response)


def post_form(
    url: str, data: Mapping[str, str], auth: tuple[str, str], timeout: float
) -> dict[str, Any]:
    """POST ``data`` form-encoded, authenticated with HTTP Basic as the client ``auth``: both
    parts form-urlencoded first (RFC 6749 §2.3.1), as RFC 7662 §2.1 allows."""
    auth = (quote_plus(auth[0]), quote_plus(auth[1]))
    try:
        response = _session().post(
            url,
            data=dict(data),
            auth=auth,
            timeout=timeout,
            headers={"Accept": "application/json"},
        )
    except requests.RequestException as exc:
        raise Unreachable(f"{url}: {exc}") from exc
    return _json_object(response)


def metadata_urls(issuer: str) -> list[str]:
    """Where the issuer's metadata is, in the order to try: RFC 8414 §3.1 (the well-known
    suffix inserted between host and path), OpenID Connect Discovery 1.0 §4 (appended), and
    the appended RFC 8414 form some servers use instead (RFC 8414 §5)."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    rfc8414 = urlunsplit(
        (parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + path, "", "")
    )
    base = issuer.rstrip("/")
    urls = [rfc8414, base + "/.well-known/openid-configuration"]
    if path:
        urls.append(base + "/.well-known/oauth-authorization-server")
    return urls


def discover(issuer: str, timeout: float) -> dict[str, Any]:
    """The issuer's authorization server metadata. Its ``issuer`` must be ``issuer`` exactly
    (RFC 8414 §3.3, OpenID Connect Discovery §4.3), or the document is not used."""
    failures: list[str] = []
    for url in metadata_urls(issuer):
        try:
            document = get_json(url, timeout)
        except Unreachable as exc:
            failures.append(str(exc))
            continue
        if document.get("issuer") != issuer:
            failures.append(f"{url} names issuer {document.get('issuer')!r}, not {issuer!r}")
            continue
        return document
    raise Unreachable("; ".join(failures))


class Metadata:
    """One member of an issuer's metadata, discovered once; after a failure, not asked
    again for ``min_interval`` seconds (requests in between fail at once), so an issuer
    whose metadata is down is not asked on every request."""

    def __init__(self, issuer: str, member: str, timeout: float, min_interval: float) -> None:
        self.issuer = issuer
        self.member = member
        self.timeout = timeout
        self.min_interval = min_interval
        self._value: str | None = None
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        if self._value is not None:
            return self._value
        with self._lock:
            now = time.monotonic()
            if self._value is None:
                if self._failed_at is not None and now - self._failed_at < self.min_interval:
                    raise Unreachable(f"{self.issuer}'s metadata failed recently")
                try:
                    value = discover(self.issuer, self.timeout).get(self.member)
                    if not isinstance(value, str):
                        raise Unreachable(f"{self.issuer}'s metadata has no {self.member}")
                except Unreachable:
                    self._failed_at = now
                    raise
                self._value = value
            return self._value
