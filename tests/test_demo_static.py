"""The demo serves its admin and browsable API styled with DEBUG off: WhiteNoise answers the
static files before any access control (they are public, and runserver serves none then)."""

from __future__ import annotations

import pytest
from django.conf import settings


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("admin/css/base.css", "text/css"),
        ("rest_framework/css/bootstrap.min.css", "text/css"),
        ("admin/js/theme.js", "text/javascript"),
    ],
)
def test_static_files_are_served_with_debug_off(client, path: str, content_type: str) -> None:
    assert settings.DEBUG is False
    response = client.get(f"{settings.STATIC_URL}{path}")
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type
    assert "WWW-Authenticate" not in response
    assert b"".join(response.streaming_content)


def test_a_missing_static_file_is_the_projects_404(client, db) -> None:
    # WhiteNoise passes it on; authstatus's handler404 answers it like any missing URL.
    response = client.get(f"{settings.STATIC_URL}admin/css/no-such-file.css")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
