"""A Japanese browser gets Japanese refusals, and the challenge stays ASCII.

Same setup as test_admin_e2e (Playwright driving Debian's Chromium against ``live_server``,
the demo seeded). The browser context's locale is ``ja-JP``, so Chromium sends
``Accept-Language: ja-JP`` and the demo's ``LocaleMiddleware`` answers in Japanese. alice, logged
in, opens ``/api/staff/`` (staff only): the ``403`` inside the browsable API says
アクセス権がありません. The screenshot is ``ja-403.png``; with ``AUTHSTATUS_SCREENSHOT_DIR`` set it
is copied there (``docs/howto/`` keeps the one the translations how-to shows). Japanese glyphs
need a CJK font (Debian's fonts-noto-cjk; ``.ci/run browser`` installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from tests.browser.test_admin_e2e import TIMEOUT_MS, chromium, demo
from tests.browser.test_browsable_api import _keep

pytestmark = pytest.mark.browser

__all__ = ["demo"]  # the fixture, imported for this module's tests


def test_a_japanese_browser_gets_a_japanese_403(demo, tmp_path: Path):
    url = demo
    # alice's session (the login form is test_browsable_api's subject); made before the
    # browser starts: Playwright's sync API runs an event loop, where the ORM refuses to run.
    session = Client()
    session.force_login(User.objects.get(username="alice"))
    cookie = session.cookies[settings.SESSION_COOKIE_NAME].value
    with chromium() as browser:
        context = browser.new_context(locale="ja-JP", viewport={"width": 1100, "height": 700})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)

        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": url}])

        response = page.goto(f"{url}/api/staff/")
        assert response is not None
        assert response.status == 403
        assert response.request.headers["accept-language"].startswith("ja")
        assert response.headers["content-language"] == "ja"
        assert "www-authenticate" not in response.headers  # a 403 no login can fix
        refusal = page.locator(".authstatus-refusal")
        assert page.get_by_role("heading", name="アクセス権がありません").is_visible()
        assert "このアクションを実行する権限がありません。" in refusal.inner_text()
        assert "対処方法:" in refusal.inner_text()
        # Machine-read members stay as they are in the response panel.
        assert "#forbidden" in page.inner_text(".response-info")
        screenshot = tmp_path / "ja-403.png"
        page.screenshot(path=str(screenshot), full_page=True)
        context.close()
    _keep(screenshot)
