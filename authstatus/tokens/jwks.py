"""The issuer's signing keys (RFC 7517 JWK Set), cached, refetched at a bounded rate.

* Keys are fetched on first use and kept for the life of the process.
* A ``kid`` that is not in the cached set triggers a refetch (the issuer rotated its keys),
  but at most one fetch per ``min_interval`` seconds, whatever the requests carry: a flood
  of made-up ``kid`` values costs the issuer one request per interval.
* A set older than ``max_age`` is refetched on the next lookup (so keys the issuer withdrew
  stop working); if that fails, the keys held keep working.
* When the endpoint is down, known keys keep working; a ``kid`` that is not known cannot be
  checked and is reported as :class:`~authstatus.tokens.remote.Unreachable` (fail closed:
  ``503``), never as "unknown key".

Only public signature keys are kept: entries with ``use`` other than ``sig``, symmetric
(``oct``) keys and keys jwcrypto cannot import are dropped, so no HMAC key can ever be made
from what the issuer publishes (RFC 8725 §2.1, §3.1).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jwcrypto import jwk

from authstatus.tokens.remote import Unreachable, get_json

__all__ = ["ALGORITHM_KEYS", "Key", "KeyLookup", "KeySet", "parse"]

# JWS "alg" (RFC 7518 §3.1, RFC 8037 §3.1) -> (kty, allowed crv or None).
ALGORITHM_KEYS: dict[str, tuple[str, frozenset[str] | None]] = {
    **{f"RS{n}": ("RSA", None) for n in (256, 384, 512)},
    **{f"PS{n}": ("RSA", None) for n in (256, 384, 512)},
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
}


@dataclass(frozen=True, slots=True)
class Key:
    kid: str | None
    kty: str
    crv: str | None
    alg: str | None
    jwk: Any

    def fits(self, alg: str) -> bool:
        """Whether this key may verify a signature made with ``alg`` (RFC 7517 §4.4: a key
        that names its ``alg`` is used with that one only)."""
        kty, curves = ALGORITHM_KEYS[alg]
        if self.kty != kty or (self.alg is not None and self.alg != alg):
            return False
        return curves is None or self.crv in curves


@dataclass(frozen=True, slots=True)
class KeyLookup:
    """What :meth:`KeySet.find` found: ``keys`` to try (maybe none), and ``fresh`` — whether
    the set was fetched after ``since`` (so a ``kid`` missing from it is really unknown)."""

    keys: tuple[Key, ...]
    fresh: bool
    retry_after: int


def parse(document: dict[str, Any]) -> tuple[Key, ...]:
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise Unreachable("the JWK Set has no 'keys' array")
    out: list[Key] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") not in ("RSA", "EC", "OKP") or "d" in entry:
            continue
        try:
            key = jwk.JWK(**entry)
        except Exception:  # noqa: S112 - one bad entry must not hide the others
            continue
        kid = entry.get("kid")
        out.append(
            Key(
                kid if isinstance(kid, str) else None,
                entry["kty"],
                entry.get("crv"),
                entry.get("alg") if isinstance(entry.get("alg"), str) else None,
                key,
            )
        )
    return tuple(out)


class KeySet:
    """The cached JWK Set at ``uri()`` (see the module docstring)."""

    def __init__(
        self,
        uri: Callable[[], str],
        *,
        timeout: float,
        min_interval: float,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._uri = uri
        self.timeout = timeout
        self.min_interval = min_interval
        self.max_age = max_age
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._keys: tuple[Key, ...] | None = None
        self._fetched_at = 0.0  # monotonic time of the last successful fetch
        self._fetched_wall = 0.0  # wall-clock time of the same, to compare with "iat"
        self._attempted_at: float | None = None
        self._failed = False
        self.fetches = 0
        """Number of fetch attempts (successful or not) — for tests and benchmarks."""

    def _matching(self, kid: str | None, alg: str) -> tuple[Key, ...]:
        keys = self._keys or ()
        return tuple(k for k in keys if (kid is None or k.kid == kid) and k.fits(alg))

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_interval

    def _fetch(self, now: float) -> None:
        self._attempted_at = now
        self.fetches += 1
        try:
            keys = parse(get_json(self._uri(), self.timeout))
        except Unreachable:
            self._failed = True
            return
        self._keys = keys
        self._failed = False
        self._fetched_at = now
        self._fetched_wall = self._wall_clock()

    def find(self, kid: str | None, alg: str, issued_at: float | None) -> KeyLookup:
        """The keys that may have signed a token with ``kid`` and ``alg``.

        Raises :class:`Unreachable` when there are none and the set could not be fetched
        (or never was). ``issued_at`` is the latest time the token may have been issued, on
        this host's clock (its unverified ``iat`` plus the clock skew allowed): when no key
        matches and the set may not be refetched yet, a token issued after the last fetch may
        be signed with a key published since — it gets ``fresh=False`` (retry later)
        instead of being called unknown.
        """
        now = self._clock()
        found = self._matching(kid, alg)
        stale = self._keys is not None and now - self._fetched_at >= self.max_age
        if found and not stale:
            return KeyLookup(found, True, 0)
        with self._lock:
            found = self._matching(kid, alg)
            stale = self._keys is not None and now - self._fetched_at >= self.max_age
            fetched = False
            if (not found or stale) and self._may_fetch(now):
                self._fetch(now)
                fetched = not self._failed
                found = self._matching(kid, alg)
            if found:
                return KeyLookup(found, True, 0)
            wait = self._retry_after(now)
            if self._keys is None or self._failed:
                raise Unreachable(f"no usable JWK Set (retry in {wait} s)")
            # Unknown for sure when the set was fetched for this very token or after it was
            # issued (an issuer publishes a key before signing with it), or when the kid is
            # that of a key unfit for the algorithm.
            fresh = (
                fetched
                or issued_at is None
                or issued_at <= self._fetched_wall
                or any(k.kid == kid for k in self._keys if kid is not None)
            )
            return KeyLookup((), fresh, wait)

    def _retry_after(self, now: float) -> int:
        if self._attempted_at is None:
            return 1
        return max(1, int(self.min_interval - (now - self._attempted_at) + 0.999))
