"""Authorization servers of other processes, for the token backend rows of bench_requests.

* the JWT issuer of the tests (``tests/issuer/jwt_issuer.py``: authlib's RFC 9068 generator,
  its JWKS over HTTP on loopback);
* django-oauth-toolkit in the demo project under ``runserver``, on its own SQLite database
  (migrated and seeded here), for RFC 7662 introspection at ``/o/introspect/``.

Both listen on free loopback ports and are stopped by :meth:`External.stop`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.issuer import Issuer, start_issuer

ROOT = Path(__file__).resolve().parent.parent
AUDIENCE = "https://api.example"
START_TIMEOUT = 60
# Seeded by the demo's seed_demo command (demo_project/api/tour.py).
DOT_TOKEN = "demo-alice-read-write"
DOT_CLIENT = ("demo-client", "demo-secret")


@dataclass
class External:
    issuer: Issuer
    dot_url: str
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)

    def stop(self) -> None:
        self.issuer.stop()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)

    def jwt_backend(self, **options: Any) -> dict[str, Any]:
        return {
            "BACKEND": "authstatus.tokens.jwt.JWTBackend",
            "ISSUER": self.issuer.url,
            "JWKS_URI": self.issuer.url + "/jwks",
            "AUDIENCE": AUDIENCE,
            **options,
        }

    def introspection_backend(self, **options: Any) -> dict[str, Any]:
        return {
            "BACKEND": "authstatus.tokens.introspection.IntrospectionBackend",
            "ISSUER": self.dot_url + "/o",
            "INTROSPECTION_ENDPOINT": self.dot_url + "/o/introspect/",
            "CLIENT_ID": DOT_CLIENT[0],
            "CLIENT_SECRET": DOT_CLIENT[1],
            **options,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _demo_env(directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    env.update(
        DJANGO_SETTINGS_MODULE="demo_project.settings",
        DEMO_SQLITE_PATH=str(directory / "dot.sqlite3"),
        DEMO_CACHE_DIR=str(directory / "dot-cache"),
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


def _wait(url: str, process: subprocess.Popen[Any]) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            opener.open(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def start(directory: Path) -> External:
    issuer = start_issuer()
    env = _demo_env(directory)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "seed_demo")
    port = _free_port()
    log = (directory / "dot-runserver.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    external = External(issuer, f"http://127.0.0.1:{port}", [process])
    try:
        _wait(external.dot_url + "/api/public/", process)
    except Exception:
        external.stop()
        raise
    return external
