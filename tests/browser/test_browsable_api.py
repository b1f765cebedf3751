"""A browser on a DRF route: the refusal inside the browsable API, no password dialog.

Same setup as test_admin_e2e (Playwright driving Debian's Chromium against ``live_server``,
the demo seeded, its API policies as database rows). An anonymous visit to ``/api/notes/``
gets the ``401`` rendered inside the browsable API page — navbar, the refusal, the "Log in"
link — with ``Bearer`` and ``Cookie`` challenges and no ``Basic`` one, so Chromium shows the
page instead of an authentication prompt. Logging in through that link lands back on the
browsable API, now ``200``. Screenshots of both pages are taken; with
``AUTHSTATUS_SCREENSHOT_DIR`` set they are copied there (CI artifacts, or docs/).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from authstatus.core.challenges import parse_challenges
from tests.browser.test_admin_e2e import TIMEOUT_MS, chromium, demo

pytestmark = pytest.mark.browser

__all__ = ["demo"]  # the fixture, imported for this module's tests


def _keep(screenshot: Path) -> None:
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG"
    assert len(data) > 1000, f"the screenshot is only {len(data)} bytes"
    if os.environ.get("AUTHSTATUS_SCREENSHOT_DIR"):
        shutil.copy(screenshot, Path(os.environ["AUTHSTATUS_SCREENSHOT_DIR"]) / screenshot.name)


def test_anonymous_visit_shows_the_browsable_api_and_no_auth_dialog(demo, tmp_path: Path):
    url = demo
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        response = page.goto(f"{url}/api/notes/")
        assert response is not None
        assert response.status == 401
        assert response.request.headers.get("sec-fetch-mode") in (None, "navigate")
        schemes = [c.scheme for c in parse_challenges(response.headers["www-authenticate"])]
        # At least one challenge (RFC 9110 §15.5.2), none a browser prompts for.
        assert schemes == ["Bearer", "Cookie"], schemes
        assert page.url == f"{url}/api/notes/"  # rendered, not redirected

        # DRF's browsable API page, with the refusal and the login link.
        assert page.locator(".navbar").is_visible()
        assert page.get_by_role("heading", name="Authentication required").is_visible()
        assert "Log in, or send credentials" in page.inner_text(".authstatus-refusal")
        assert "authentication-required" in page.inner_text(".response-info")
        login = page.locator(".navbar").get_by_role("link", name="Log in")
        assert login.get_attribute("href") == "/accounts/login/?next=/api/notes/"
        refused = tmp_path / "browsable-api-401.png"
        page.screenshot(path=str(refused), full_page=True)

        login.click()
        page.wait_for_url(f"{url}/accounts/login/?next=/api/notes/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "alice")
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == f"{url}/api/notes/"
        assert page.locator(".navbar").is_visible()
        assert page.locator(".authstatus-refusal").count() == 0
        assert "HTTP 200 OK" in page.inner_text(".response-info")
        assert "alice" in page.inner_text(".navbar")  # DRF's user menu
        allowed = tmp_path / "browsable-api-200.png"
        page.screenshot(path=str(allowed), full_page=True)
        assert dialogs == []
        context.close()
    _keep(refused)
    _keep(allowed)
