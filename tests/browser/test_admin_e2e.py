"""End to end in a real browser: an admin edits a policy, the API obeys at once.

Playwright (sync API) drives Debian's Chromium (``/usr/bin/chromium``, or the path in
``AUTHSTATUS_CHROMIUM``) against pytest-django's ``live_server``: a real HTTP server thread on
loopback. Playwright's own browser download is never used. Marked ``browser``: ``make test``
deselects it; run it with ``pytest -m browser`` or ``.ci/run browser``. Without Chromium or
Playwright it fails, saying what to install — it never skips.

The demo's API policies are database rows here, as in the real demo: the test settings load
them from ``AUTHSTATUS["POLICIES"]``, so this module keeps only the baseline policies there and
creates the rows with ``seed_demo``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from authstatus.core.challenges import parse_challenges
from authstatus.models import ResourcePolicy
from authstatus.policies.propagation import resolve_explained, settings_rules
from demo_project.api.policies import BASELINE_POLICIES

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("AUTHSTATUS_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google's hosts, which a
# closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser; fails the calling test (never skips) when unavailable."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's package "
            "(apt-get install chromium) or set AUTHSTATUS_CHROMIUM to a Chromium binary. "
            "`.ci/run browser` installs it.",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None:
        pytest.fail(
            "Playwright is not installed in this environment: pip install -e '.[browser]' "
            "(only the Python package is needed; it drives the system Chromium).",
            pytrace=False,
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def anonymous_get(url: str) -> tuple[int, list[str]]:
    """Status and WWW-Authenticate field lines of a GET with no cookies or credentials."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get_all("WWW-Authenticate") or []
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers.get_all("WWW-Authenticate") or []


@pytest.fixture
def demo(transactional_db, live_server, settings):
    """The live server with the demo seeded, its API policies coming from the database."""
    settings.AUTHSTATUS = {**settings.AUTHSTATUS, "POLICIES": BASELINE_POLICIES}
    call_command("seed_demo", stdout=io.StringIO())
    public = ResourcePolicy.objects.get(path="/api/public/", methods="")
    assert public.access == "anonymous"
    # The policy in force is the seeded row; settings hold only the baseline.
    assert "/api/public/" not in {rule.pattern for rule in settings_rules()}
    assert resolve_explained("GET", "/api/public/")[1] == f"database: {public.description}"
    return live_server.url


def test_admin_change_makes_public_api_require_authentication(demo, tmp_path: Path):
    url = demo
    api = f"{url}/api/public/"
    status, challenges = anonymous_get(api)
    assert (status, challenges) == (200, []), "before the change /api/public/ is anonymous"

    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)

        page.goto(f"{url}/admin/")
        assert "/admin/login/" in page.url
        page.fill("#id_username", "admin")
        page.fill("#id_password", "admin")
        page.click("input[type=submit]")
        page.wait_for_url(f"{url}/admin/")
        assert "Site administration" in page.title()

        page.locator("#content-main").get_by_role("link", name="Resource policies").click()
        page.wait_for_url(f"{url}/admin/authstatus/resourcepolicy/")
        page.get_by_role("link", name="/api/public/", exact=True).click()
        page.wait_for_url(f"{url}/admin/authstatus/resourcepolicy/*/change/")
        change_url = page.url
        assert page.input_value("#id_path") == "/api/public/"
        assert page.input_value("#id_access") == "anonymous"

        page.select_option("#id_access", label="authenticated-only")
        page.click("input[name=_save]")
        page.wait_for_url(f"{url}/admin/authstatus/resourcepolicy/")
        message = page.locator("ul.messagelist li.success").inner_text()
        assert "was changed successfully" in message, message

        page.goto(change_url)
        assert page.input_value("#id_access") == "authenticated"
        screenshot = tmp_path / "changed-policy.png"
        page.screenshot(path=str(screenshot), full_page=True)
        page.close()

    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG"
    assert len(data) > 1000, f"the screenshot is only {len(data)} bytes"
    if os.environ.get("AUTHSTATUS_SCREENSHOT_DIR"):  # keep it, e.g. as a CI artifact
        shutil.copy(screenshot, Path(os.environ["AUTHSTATUS_SCREENSHOT_DIR"]) / screenshot.name)
    assert ResourcePolicy.objects.get(path="/api/public/", methods="").access == "authenticated"

    # The very next anonymous request is refused: 401, one challenge per accepted scheme.
    status, challenges = anonymous_get(api)
    assert status == 401
    assert [c.scheme for c in parse_challenges(challenges)] == ["Bearer", "Cookie", "Basic"]


def test_members_page_renders_401_body_without_auth_dialog(demo):
    url = demo
    with chromium() as browser:
        context = browser.new_context()  # no cookies: anonymous
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        dialogs: list[str] = []
        page.on("dialog", lambda d: dialogs.append(d.message))

        response = page.goto(f"{url}/members/")
        assert response is not None
        assert response.status == 401
        # No Basic challenge: a browser would block on a credentials dialog instead of showing
        # the page. (Cookie is not a scheme browsers act on, so the body renders.)
        header = response.headers.get("www-authenticate", "")
        schemes = [c.scheme.lower() for c in parse_challenges(header)] if header else []
        assert "basic" not in schemes, header

        assert page.get_by_role("heading", name="Authentication required").is_visible()
        assert "Authentication required" in page.inner_text("body")
        login = page.get_by_role("link", name="Log in")
        assert login.get_attribute("href") == "/accounts/login/?next=/members/"
        assert page.url == f"{url}/members/"  # rendered, not redirected
        assert dialogs == []
        context.close()


def test_admin_edits_step_up_fields_and_the_api_obeys(demo, tmp_path: Path):
    """The seeded DELETE /api/account/ row shows max_age 300; an admin sets acr_values, and a
    token authenticated now but of no known class is then told to step up with them."""
    from django.utils import timezone

    from authstatus.models import TokenAuthentication
    from tests.factories import AccessTokenFactory

    url = demo
    row = ResourcePolicy.objects.get(path="/api/account/", methods="DELETE")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1200, "height": 1500})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{url}/admin/login/?next=/admin/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "admin")
        page.click("input[type=submit]")
        page.wait_for_url(f"{url}/admin/")
        page.goto(f"{url}/admin/authstatus/resourcepolicy/{row.pk}/change/")
        assert page.input_value("#id_max_age") == "300"
        page.fill("#id_acr_values", "mfa")
        shot = Path(os.environ.get("AUTHSTATUS_SCREENSHOTS", str(tmp_path)))
        shot.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot / "admin-step-up-fields.png"), full_page=True)
        page.click("input[name=_save]")
        page.wait_for_url(f"{url}/admin/authstatus/resourcepolicy/")
        # Invalid input is refused on its field, not with a 500.
        page.goto(f"{url}/admin/authstatus/resourcepolicy/{row.pk}/change/")
        page.fill("#id_max_age", "0")
        page.click("input[name=_save]")
        error = page.locator(".field-max_age .errorlist").inner_text()
        assert "at least" in error.lower(), error
    row.refresh_from_db()
    assert (row.max_age, row.acr_values) == (300, "mfa")
    token = AccessTokenFactory()
    TokenAuthentication.objects.create(access_token=token, auth_time=timezone.now())
    request = urllib.request.Request(
        f"{url}/api/account/", method="DELETE", headers={"Authorization": f"Bearer {token.token}"}
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 401
    (bearer, *_) = parse_challenges(raised.value.headers["WWW-Authenticate"])
    assert bearer.param("error") == "insufficient_user_authentication"
    assert (bearer.param("max_age"), bearer.param("acr_values")) == ("300", "mfa")
