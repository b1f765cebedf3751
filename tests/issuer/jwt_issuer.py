"""A small, independent JWT access token issuer, run as its own process by the tests.

Tokens are made by authlib's RFC 9068 generator (``JWTBearerTokenGenerator``) — another
library than the jwcrypto that authstatus verifies with — and signed with keys that exist only
in this process; the resource server sees them only through the published JWK Set.

    python tests/issuer/jwt_issuer.py          # prints "PORT <n>" once listening on 127.0.0.1

Endpoints (JSON in, JSON out):

* ``GET /.well-known/oauth-authorization-server`` — RFC 8414 metadata (``issuer``, ``jwks_uri``).
* ``GET /jwks`` — the published keys; ``503`` while ``/control`` has set it down.
* ``POST /token`` — ``{"sub"?, "scope", "aud", "expires_in"?, "client_id"?, "alg"?}`` → an
  access token from the generator (RS256, or ES256 with the published P-256 key). Test-only
  variations: ``"kid": "unpublished"`` (a key never published), ``"header"``/``"claims"``
  overrides (re-signed RS256 with the current key), ``"attack"``: ``"none"`` (alg none) or
  ``"hs256"`` (HMAC keyed with the public key, ``"secret": "pem"`` for its PEM form).
* ``POST /control`` — ``{"rotate": true, "retire": bool}`` (new current key; drop the old
  ones), ``{"jwks_down": bool}``, ``{"clock_offset": seconds}`` (this issuer's clock skew).
* ``GET /stats`` — ``{"jwks_fetches": n}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

warnings.simplefilter("ignore")  # authlib.jose's deprecation notice

import authlib.oauth2.rfc9068.token as rfc9068_token  # noqa: E402
from authlib.jose import JsonWebKey  # noqa: E402
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator  # noqa: E402


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.current = self._new_key()
        self.published = [self.current]
        self.unpublished = self._new_key("unpublished")
        self.ec_key = JsonWebKey.generate_key(
            "EC", "P-256", is_private=True, options={"kid": "ec-1"}
        )
        self.published.append(self.ec_key)
        self.jwks_down = False
        self.jwks_fetches = 0
        self.clock_offset = 0.0
        self.issuer = ""

    def _new_key(self, kid: str | None = None) -> Any:
        self.generation += 1
        return JsonWebKey.generate_key(
            "RSA", 2048, is_private=True, options={"kid": kid or f"key-{self.generation}"}
        )

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.as_dict(is_private=False) for k in self.published]}


STATE = State()


class SkewedTime:
    """This process's clock, ``clock_offset`` seconds off (the generator reads ``time``)."""

    @staticmethod
    def time() -> float:
        return time.time() + STATE.clock_offset


rfc9068_token.time = SkewedTime  # type: ignore[attr-defined]


class Client:
    def __init__(self, client_id: str) -> None:
        self.client_id = client_id

    def get_client_id(self) -> str:
        return self.client_id


class User:
    def __init__(self, sub: str) -> None:
        self.sub = sub

    def get_user_id(self) -> str:
        return self.sub


class Generator(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(
        self, issuer: str, key: Any, audience: Any, expires_in: int, alg: str = "RS256"
    ) -> None:
        super().__init__(issuer, alg=alg, expires_generator=lambda client, grant: expires_in)
        self.key = key
        self.audience = audience

    def get_jwks(self) -> Any:
        return {"keys": [self.key.as_dict(is_private=True)]}

    def get_audiences(self, client: Any, user: Any, scope: Any) -> Any:
        return self.audience


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode_part(part: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def issue(spec: dict[str, Any]) -> str:
    alg = spec.get("alg", "RS256")
    with STATE.lock:
        key = STATE.unpublished if spec.get("kid") == "unpublished" else STATE.current
        if alg == "ES256":
            key = STATE.ec_key
    generator = Generator(
        STATE.issuer,
        key,
        spec.get("aud", "https://api.example"),
        int(spec.get("expires_in", 300)),
        alg,
    )
    sub = spec.get("sub")
    token = generator.access_token_generator(
        Client(spec.get("client_id", "client-1")),
        "client_credentials" if sub is None else "authorization_code",
        None if sub is None else User(sub),
        spec.get("scope", ""),
    )
    token = token.decode() if isinstance(token, bytes) else token
    attack = spec.get("attack")
    header_part, claims_part, _ = token.split(".")
    header, claims = _decode_part(header_part), _decode_part(claims_part)
    if attack == "none":
        header["alg"] = "none"
        return f"{_b64(json.dumps(header).encode())}.{claims_part}."
    if attack == "hs256":
        # The key confusion attack of RFC 8725 §2.1: HMAC keyed with the *public* key.
        header["alg"] = "HS256"
        public = json.dumps(key.as_dict(is_private=False)).encode()
        pem = key.as_pem(is_private=False)
        signing_input = f"{_b64(json.dumps(header).encode())}.{claims_part}"
        secret = pem if spec.get("secret") == "pem" else public
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"
    if "header" in spec or "claims" in spec:
        header.update(spec.get("header", {}))
        claims.update(spec.get("claims", {}))
        for name in [n for n, v in claims.items() if v is None]:
            del claims[name]
        return raw_sign(header, claims, key)
    return token


def raw_sign(header: dict[str, Any], claims: dict[str, Any], key: Any) -> str:
    """RS256 over exactly these parts (RFC 7515 §5.1), whatever they contain — authlib's
    ``jwt.encode`` refuses some headers (``crit``) the tests need to send."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.get_private_key().sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{_b64(signature)}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return dict(json.loads(self.rfile.read(length) or b"{}"))

    def do_GET(self) -> None:
        if self.path == "/.well-known/oauth-authorization-server":
            self._send(200, {"issuer": STATE.issuer, "jwks_uri": STATE.issuer + "/jwks"})
        elif self.path == "/jwks":
            with STATE.lock:
                STATE.jwks_fetches += 1
                down, document = STATE.jwks_down, STATE.jwks()
            if down:
                self._send(503, {"error": "temporarily_unavailable"})
            else:
                self._send(200, document)
        elif self.path == "/stats":
            self._send(200, {"jwks_fetches": STATE.jwks_fetches})
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        body = self._body()
        if self.path == "/token":
            self._send(200, {"access_token": issue(body), "token_type": "Bearer"})
        elif self.path == "/control":
            with STATE.lock:
                if body.get("rotate"):
                    STATE.current = STATE._new_key()
                    STATE.published = (
                        [STATE.current, STATE.ec_key]
                        if body.get("retire")
                        else [*STATE.published, STATE.current]
                    )
                if "jwks_down" in body:
                    STATE.jwks_down = bool(body["jwks_down"])
                if "clock_offset" in body:
                    STATE.clock_offset = float(body["clock_offset"])
                kid = STATE.current.as_dict()["kid"]
            self._send(200, {"current_kid": kid})
        else:
            self._send(404, {"error": "not_found"})


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    STATE.issuer = f"http://127.0.0.1:{port}"
    print(f"PORT {port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
