"""A real, independent JWT issuer process for the tests (:mod:`tests.issuer.jwt_issuer`)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("jwt_issuer.py")
START_TIMEOUT = 30

# Never through a proxy: the issuer is on loopback.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Issuer:
    """The issuer process and its HTTP API (see the script's docstring)."""

    process: subprocess.Popen[str]
    url: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with _opener.open(request, timeout=10) as response:
            return json.loads(response.read())

    def token(self, **spec: Any) -> str:
        return str(self._call("POST", "/token", spec)["access_token"])

    def control(self, **settings: Any) -> str:
        return str(self._call("POST", "/control", settings)["current_kid"])

    def jwks_fetches(self) -> int:
        return int(self._call("GET", "/stats")["jwks_fetches"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_issuer() -> Issuer:
    """Start the issuer on a free loopback port (it binds port 0 and prints it)."""
    process = subprocess.Popen(
        [sys.executable, "-W", "ignore", str(SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + START_TIMEOUT
    assert process.stdout is not None
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("PORT "):
            return Issuer(process, f"http://127.0.0.1:{int(line.split()[1])}")
    process.kill()
    raise RuntimeError("the JWT issuer did not start:\n" + "".join(seen))


@contextmanager
def running() -> Iterator[Issuer]:
    """An issuer for the duration of the ``with`` block (for module-scoped fixtures)."""
    started = start_issuer()
    try:
        yield started
    finally:
        started.stop()
