import pytest

pytestmark = pytest.mark.django_db


def test_public(client):
    assert client.get("/api/public/").status_code == 200
