"""CORS in a real browser: a page on another loopback origin calls the demo API with fetch().

The page is served from ``http://127.0.0.1:<free port>`` by a stdlib HTTP server thread; the
API is pytest-django's ``live_server`` at ``http://localhost:<port>`` — another origin (RFC
6454: the host differs), so Chromium applies CORS to every request: it sends the preflight
itself for a request with ``Authorization``, and lets the script read a response header only
when ``Access-Control-Expose-Headers`` names it (Fetch standard). Marked ``browser``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from authstatus.core.challenges import parse_challenges
from tests.browser.test_admin_e2e import TIMEOUT_MS, chromium
from tests.factories import AccessTokenFactory, UserFactory

pytestmark = pytest.mark.browser

PAGE = b"<!doctype html><title>another origin</title><p>a browser-based OAuth client</p>"

# Runs in the page. Returns what the script can see of each response: status, the readable
# WWW-Authenticate, and for the documents their JSON.
FETCHES = """
async ([api, token]) => {
  const seen = async (label, url, init) => {
    try {
      const r = await fetch(url, init);
      const type = r.headers.get("content-type") || "";
      return {label, status: r.status, www: r.headers.get("www-authenticate"),
              body: type.includes("json") ? await r.json() : null};
    } catch (e) {
      return {label, error: String(e)};
    }
  };
  return [
    await seen("anonymous", api + "/api/profile/", {}),
    await seen("invalid token", api + "/api/notes/",
               {headers: {"Authorization": "Bearer no-such-token",
                          "MCP-Protocol-Version": "2025-11-25"}}),
    await seen("read token, POST", api + "/api/notes/",
               {method: "POST", body: JSON.stringify({text: "x"}),
                headers: {"Authorization": "Bearer " + token,
                          "Content-Type": "application/json"}}),
    await seen("resource metadata", api + "/.well-known/oauth-protected-resource", {}),
    await seen("server metadata", api + "/.well-known/oauth-authorization-server/o", {}),
    await seen("registration", api + "/o/register/",
               {method: "POST", headers: {"Content-Type": "application/json"},
                body: JSON.stringify({redirect_uris: ["http://127.0.0.1:9/cb"],
                                      token_endpoint_auth_method: "none"})}),
  ];
}
"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def other_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_script_on_another_origin_reads_the_challenges(
    transactional_db, live_server, other_origin
):
    api = str(live_server.url)
    assert api.startswith("http://localhost:")
    token = AccessTokenFactory(user=UserFactory(username="alice"), scope="read").token
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        requests: list[tuple[str, str]] = []
        page.on("request", lambda r: requests.append((r.method, r.url)))
        page.goto(other_origin + "/")
        results = {r["label"]: r for r in page.evaluate(FETCHES, [api, token])}
        page.close()

    for result in results.values():
        assert "error" not in result, result  # a CORS failure is a TypeError in the page

    anonymous = results["anonymous"]
    assert anonymous["status"] == 401
    assert anonymous["www"], "the script cannot read WWW-Authenticate (not exposed)"
    schemes = [c.scheme for c in parse_challenges(anonymous["www"])]
    assert schemes == ["Bearer", "Cookie", "Basic"]
    bearer = parse_challenges(anonymous["www"])[0]
    assert bearer.param("resource_metadata") == api + "/.well-known/oauth-protected-resource"

    invalid = results["invalid token"]
    assert invalid["status"] == 401
    assert parse_challenges(invalid["www"])[0].param("error") == "invalid_token"

    scoped = results["read token, POST"]
    assert scoped["status"] == 403
    challenge = parse_challenges(scoped["www"])[0]
    assert (challenge.param("error"), challenge.param("scope")) == ("insufficient_scope", "write")

    assert results["resource metadata"]["status"] == 200
    assert results["resource metadata"]["body"]["authorization_servers"] == [api + "/o"]
    server = results["server metadata"]["body"]
    assert server["registration_endpoint"] == api + "/o/register/"

    registration = results["registration"]
    assert registration["status"] == 201
    assert registration["body"]["token_endpoint_auth_method"] == "none"
