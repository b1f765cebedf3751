"""Japanese translations: the catalog is complete and compiled, and what a human reads is
Japanese under ``Accept-Language: ja`` (the demo's ``LocaleMiddleware``) while what a machine
reads is not translated: ``WWW-Authenticate`` stays ASCII, its ``error_description`` English
(RFC 6750 §3), problem ``type`` URIs and member names stay as they are, and a concealed ``404``
stays byte for byte the ``404`` of a missing URL in every language.

The catalog tests read ``authstatus/locale/ja/LC_MESSAGES/django.po`` with polib and need no
gettext binaries; ``.ci/run i18n`` runs ``makemessages`` and ``msgfmt --check`` besides.
"""

from __future__ import annotations

import gettext
import io
import re
from html import unescape
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

import authstatus
from authstatus.checks import middleware as middleware_checks
from authstatus.checks import settings as settings_checks
from authstatus.checks.codes import Codes
from authstatus.core import decision as core
from authstatus.core.challenges import parse_challenges
from authstatus.enforcement.i18n import CORE_TEXTS
from tests.factories import AccessTokenFactory, UserFactory
from tests.http import EXPIRED_TOKEN, INVALID_TOKEN, NQSCHAR, bearer, problem

LOCALE = Path(authstatus.__file__).parent / "locale"
PO = LOCALE / "ja" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
JA = {"HTTP_ACCEPT_LANGUAGE": "ja"}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")


def bearer_auth(token: str) -> str:
    return f"Bearer {token}"


# --- the catalog -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog() -> polib.POFile:
    return polib.pofile(str(PO))


def test_every_entry_is_translated_and_none_is_fuzzy(catalog):
    assert len(catalog) > 200
    untranslated = [e.msgid for e in catalog if not e.translated()]
    fuzzy = [e.msgid for e in catalog if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []
    assert not catalog.metadata_is_fuzzy
    assert catalog.metadata["Language"] == "ja"
    assert catalog.obsolete_entries() == []


def test_translations_keep_the_placeholders_of_their_msgid(catalog):
    """A translation that drops or renames ``%(name)s`` raises at runtime (KeyError) or
    loses the value; msgfmt --check catches it only where the entry is python-format."""
    for entry in catalog:
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for msgstr in translations:
            assert sorted(PLACEHOLDER.findall(msgstr)) == sorted(
                PLACEHOLDER.findall(entry.msgid)
            ), entry.msgid


def test_the_committed_mo_is_the_compiled_po(catalog):
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for entry in catalog:
        if entry.msgid_plural:
            assert compiled.ngettext(entry.msgid, entry.msgid_plural, 1) == entry.msgstr_plural[0]
        else:
            assert compiled.gettext(entry.msgid) == entry.msgstr, entry.msgid
    # Nothing in the .mo that the .po no longer has.
    expected = {(e.msgid, 0) if e.msgid_plural else e.msgid for e in catalog}
    assert set(compiled._catalog) - {""} == expected  # type: ignore[attr-defined]


def test_every_core_text_is_in_the_catalog(catalog):
    """The core imports no Django, so authstatus.enforcement.i18n lists its texts for
    makemessages: a text added to the core and not listed there would reach humans untranslated."""
    core_texts = {
        *core.DESCRIPTIONS.values(),
        core.STEP_UP_AUTH_TIME_UNKNOWN,
        core.STEP_UP_TOO_OLD,
        core.STEP_UP_WEAKER,
    }
    assert core_texts <= set(CORE_TEXTS)
    msgids = {e.msgid for e in catalog}
    assert core_texts <= msgids


# --- responses under Accept-Language: ja -------------------------------------------------


def _ascii_challenges(response):
    header = response["WWW-Authenticate"]
    assert header.isascii(), header
    return parse_challenges(header)


def test_a_401_has_a_japanese_body_and_an_ascii_challenge(client, db):
    response = client.get("/api/profile/", HTTP_ACCEPT="application/json", **JA)
    assert response.status_code == 401
    body = problem(response)
    assert body["title"] == "認証が必要です"
    assert body["detail"] == "認証情報が含まれていません。"
    # Machine-read members are not translated.
    assert body["type"].endswith("#authentication-required")
    assert body["resolution"] == "authenticate"
    assert response["Content-Language"] == "ja"
    challenges = _ascii_challenges(response)
    assert challenges[0] == bearer()
    assert [c.scheme for c in challenges] == ["Bearer", "Cookie", "Basic"]


@pytest.mark.parametrize(
    ("expired", "english", "japanese"),
    [
        (False, INVALID_TOKEN, "アクセストークンが無効です。"),
        (True, EXPIRED_TOKEN, "アクセストークンの有効期限が切れています。"),
    ],
)
def test_an_invalid_token_is_described_in_japanese_and_in_english_in_the_header(
    client, alice, expired, english, japanese
):
    token = "no-such-token" if not expired else AccessTokenFactory(user=alice, expired=True).token
    response = client.get(
        "/api/profile/", HTTP_AUTHORIZATION=bearer_auth(token), HTTP_ACCEPT="application/json", **JA
    )
    assert response.status_code == 401
    body = problem(response)
    assert body["title"] == "資格情報が無効です"
    assert body["detail"] == japanese
    challenge = _ascii_challenges(response)[0]
    assert challenge.param("error") == "invalid_token"
    # RFC 6750 §3: error_description is NQSCHAR (ASCII) only, hence English.
    assert challenge.param("error_description") == english
    assert set(english) <= NQSCHAR


def test_a_403_insufficient_scope_has_a_japanese_body_and_an_ascii_challenge(client, read_token):
    response = client.post(
        "/api/notes/",
        {"text": "こんにちは"},
        HTTP_AUTHORIZATION=bearer_auth(read_token.token),
        HTTP_ACCEPT="application/json",
        **JA,
    )
    assert response.status_code == 403
    body = problem(response)
    assert body["title"] == "スコープが不足しています"
    assert (
        body["detail"] == "アクセストークンに、このリクエストに必要なスコープが含まれていません。"
    )
    assert body["required_scopes"] == ["write"]
    assert _ascii_challenges(response) == (
        bearer(("scope", "write"), ("error", "insufficient_scope")),
    )


def test_the_html_refusal_page_is_japanese(client, alice):
    client.force_login(alice)
    response = client.get("/t/plain/nobody/", HTTP_ACCEPT="text/html", **JA)
    assert response.status_code == 403
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert '<html lang="ja">' in html
    assert "<title>403 利用できません</title>" in html
    assert "このリソースは誰も利用できません。" in html
    assert "Not available" not in html


def test_the_html_login_link_is_japanese(client, db):
    with override_settings(AUTHSTATUS={**_authstatus(), "REDIRECT_BROWSERS_TO_LOGIN": False}):
        response = client.get("/members/", HTTP_ACCEPT="text/html", **JA)
    assert response.status_code == 401
    html = response.content.decode()
    assert "<title>401 認証が必要です</title>" in html
    assert ">ログイン</a>" in html
    assert _ascii_challenges(response)


def _authstatus() -> dict:
    from django.conf import settings

    return dict(settings.AUTHSTATUS)


def test_the_browsable_api_refusal_is_japanese(client, alice):
    client.force_login(alice)
    response = client.get("/api/staff/", HTTP_ACCEPT="text/html", **JA)
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h2>アクセス権がありません</h2>" in html
    assert "このアクションを実行する権限がありません。" in html
    assert "この操作は許可されていません。ログインし直しても解決しません。" in html


def test_english_stays_the_default(client, db):
    response = client.get("/api/profile/", HTTP_ACCEPT="application/json")
    assert problem(response)["title"] == "Authentication required"
    assert response["Content-Language"] == "en"


def _fingerprint(response) -> tuple:
    return response.status_code, sorted(response.items()), response.content


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
@pytest.mark.parametrize("who", ["anonymous", "bob", "bob-token"])
def test_a_concealed_404_is_the_missing_404_in_the_same_language(
    client, alice, bob, language, accept, who
):
    """Translation must not tell a concealed resource from a missing one."""
    from demo_project.api.models import VaultItem

    item = VaultItem.objects.create(owner=alice, name="diary", secret="dear diary")
    headers = {"HTTP_ACCEPT_LANGUAGE": language, "HTTP_ACCEPT": accept}
    if who == "bob":
        client.force_login(bob)
    elif who == "bob-token":
        headers["HTTP_AUTHORIZATION"] = bearer_auth(AccessTokenFactory(user=bob).token)
    concealed = client.get(f"/api/vault/{item.pk}/", **headers)
    missing_object = client.get(f"/api/vault/{item.pk + 1000}/", **headers)
    missing_url = client.get("/api/vaulx/", **headers)
    assert concealed.status_code == 404
    assert _fingerprint(concealed) == _fingerprint(missing_object) == _fingerprint(missing_url)
    if accept == "application/json":
        title = problem(concealed)["title"]
    else:
        title = re.search(r"<title>(.*)</title>", concealed.content.decode()).group(1)
        assert f'<html lang="{language}">' in concealed.content.decode()
    assert title == {"ja": "見つかりません", "en": "Not found"}[language].join(
        ["", ""] if accept == "application/json" else ["404 ", ""]
    )
    assert concealed["Content-Language"] == language


# --- checks, commands, admin -------------------------------------------------------------


def test_check_messages_are_japanese():
    with (
        override_settings(MIDDLEWARE=["django.contrib.auth.middleware.AuthenticationMiddleware"]),
        translation.override("ja"),
    ):
        (warning,) = middleware_checks.check_middleware()
    assert warning.id == "authstatus.W001"
    assert warning.msg == (
        "authstatus.middleware.AuthStatusMiddleware が MIDDLEWARE にありません。"
        "通常の Django ビューにはポリシーが適用されません。"
    )
    assert (
        warning.hint
        == "AuthenticationMiddleware の後に追加してください（DRF のビューには不要です）。"
    )


def test_check_messages_with_values_are_japanese():
    with (
        override_settings(AUTHSTATUS={**_authstatus(), "NO_SUCH_KEY": 1}),
        translation.override("ja"),
    ):
        messages = [m for m in settings_checks.check_settings() if m.id == Codes.UNKNOWN_KEY]
    assert [m.msg for m in messages] == ["AUTHSTATUS に未知のキー 'NO_SUCH_KEY' があります。"]
    assert messages[0].hint.startswith("有効なキー: ")


@pytest.mark.django_db
def test_command_output_is_japanese_under_language_code_ja():
    out = io.StringIO()
    with override_settings(LANGUAGE_CODE="ja"):
        call_command("authstatus_routes", stdout=out)
    header = out.getvalue().splitlines()[0].split()
    assert header == ["ルート", "メソッド", "ポリシー", "由来"]


@pytest.mark.django_db
def test_explain_output_is_japanese_under_language_code_ja():
    out = io.StringIO()
    with override_settings(LANGUAGE_CODE="ja"):
        call_command("authstatus_explain", "GET", "/api/profile/", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "GET /api/profile/"
    # Labels padded by display width (a kana is two columns), so values line up.
    assert lines[1] == "ルート:      /api/profile/"
    assert "ステータス:  401" in lines
    # Values stay literal: outcomes, resolutions, headers.
    assert "判定:        authentication-required（resolution: authenticate）" in lines
    www = next(line for line in lines if line.startswith("WWW-Authenticate: "))
    assert www.isascii()


def test_the_admin_change_form_is_japanese(client, db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.get("/admin/authstatus/resourcepolicy/add/", **JA)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ja"' in html
    for text in (
        "パスパターン",
        "リソースポリシー",
        "必要なスコープ",
        "Bearer トークンが持つべき OAuth スコープ（スペース区切り）。",
        "すべての拒否に、リソースが存在しないかのように応答します（404）。",
        "要件（認証済みアクセスのみ）",
        "認証済みのみ",
    ):
        assert text in html, text
    assert "path pattern" not in html.lower()


def test_policy_validation_errors_are_japanese_in_the_admin(client, db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    form = {
        "path": "api/notes/",
        "methods": "",
        "access": "authenticated",
        "required_scopes": "read",
        "priority": "0",
        "enabled": "on",
    }
    response = client.post("/admin/authstatus/resourcepolicy/add/", form, **JA)
    assert response.status_code == 200  # the form again, with its errors
    assert "パスパターンは '/' で始まらなければなりません。" in unescape(response.content.decode())
    response = client.post(
        "/admin/authstatus/resourcepolicy/add/",
        {**form, "path": "/api/notes/", "access": "nobody"},
        **JA,
    )
    assert (
        "アクセスが 'nobody' のポリシーには、必要なスコープ・グループ・パーミッション・要件を"
        "指定できません。" in unescape(response.content.decode())
    )


def test_a_policy_error_is_english_for_logs_and_translated_on_demand():
    from authstatus.policies.propagation import PolicyError, build_policy

    with pytest.raises(PolicyError) as raised:
        build_policy("authenticated", max_age=0)
    assert str(raised.value) == "max_age must be at least 1 second, not 0."
    assert raised.value.field == "max_age"
    with translation.override("ja"):
        assert str(raised.value) == "max_age must be at least 1 second, not 0."
        assert (
            raised.value.translated() == "max_age は 1 秒以上でなければなりません（0 ではなく）。"
        )


def test_a_settings_policy_error_is_reported_in_japanese():
    policies = [{"path": "/api/x/", "access": "everyone"}]
    with (
        override_settings(AUTHSTATUS={**_authstatus(), "POLICIES": policies}),
        translation.override("ja"),
    ):
        messages = [m.msg for m in settings_checks.check_settings() if m.id == Codes.BAD_POLICY]
    assert messages == [
        "POLICIES[0]: 'everyone' はアクセスレベル（anonymous, authenticated, nobody）"
        "ではありません。"
    ]
