"""The interface in its two languages: Chinese (the source, LANGUAGE_CODE) and English, from
``locale/en/LC_MESSAGES/django.po`` and each app's own ``<app>/locale/en/LC_MESSAGES/django.po``.

The ``.mo`` is not committed, so this module compiles the catalogue itself and then drops
Django's cached translations, whatever the set-up did or did not do before.
"""

import re
from io import StringIO
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation.reloader import translation_file_changed

from minqing.accounts.roles import Role
from minqing.regions.forms import RegionField
from minqing.testing import DIAOWO, PASSWORD
from minqing.web.management.commands.compiletranslations import catalogues

EN_PO = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES" / "django.po"
EN_CATALOGUES = [po for po in catalogues() if po.parent.parent.name == "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture(scope="module", autouse=True)
def _compiled_catalogue():
    call_command("compiletranslations", stdout=StringIO())
    # What runserver's autoreloader does when a .mo changes: forget every cached catalogue
    # (gettext's by file, Django's by language, and the active one).
    translation_file_changed(sender=None, file_path=EN_PO.with_suffix(".mo"))


@pytest.fixture(autouse=True)
def _back_to_default_language():
    # LocaleMiddleware leaves the last request's language active in the thread; do not let
    # English leak into the next test (other modules assert on Chinese messages).
    yield
    translation.deactivate()


def _in_english(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    return client


def test_login_page_is_chinese_by_default(client):
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html
    assert "用户名" in html
    assert "Sign in" not in html


def test_login_page_in_english_after_choosing_it(client):
    html = _in_english(client).get(reverse("accounts:login")).content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "Username" in html  # a form label, translated lazily in Python
    assert "Minqing ledger" in html
    assert "登录" not in html


def test_failed_login_message_follows_the_language(client, cast):
    data = {"username": "admin", "password": "wrong-password"}
    html = client.post(reverse("accounts:login"), data).content.decode()
    assert "用户名或密码不正确" in html
    html = _in_english(client).post(reverse("accounts:login"), data).content.decode()
    assert "Incorrect username or password." in html


def test_home_in_chinese_keeps_the_chinese_navigation(cast, client_for):
    html = client_for(cast.admin).get(reverse("web:home")).content.decode()
    for label in ["首页", "行政区划", "用户管理", "审计日志", "访问令牌", "退出"]:
        assert label in html
    assert "县级管理员" in html


def test_home_in_english_shows_english_navigation(cast, client_for):
    html = _in_english(client_for(cast.admin)).get(reverse("web:home")).content.decode()
    for label in ["Home", "Regions", "Users", "Audit log", "Access tokens", "Sign out"]:
        assert f">{label}<" in html
    assert "County administrator" in html  # Role label from roles.py
    assert "Reach: " in html
    for chinese in ["用户管理", "审计日志", "退出", "您好"]:
        assert chinese not in html


def test_login_works_in_english(client, cast):
    response = _in_english(client).post(
        reverse("accounts:login"), {"username": "admin", "password": PASSWORD}
    )
    assert response.status_code == 302


def test_region_field_messages_in_both_languages(cast):
    field = RegionField(user=cast.admin, levels=(5,))
    township = DIAOWO.ljust(12, "0")
    with pytest.raises(ValidationError) as chinese:
        field.clean(township)
    assert "请选择到村级" in chinese.value.messages[0]
    with translation.override("en"), pytest.raises(ValidationError) as english:
        field.clean(township)
    assert "Please choose a region at village level" in english.value.messages[0]
    assert "township level" in english.value.messages[0]


def test_choice_labels_are_lazy():
    with translation.override("en"):
        assert str(Role.PAIRED.label) == "Paired cadre"
    with translation.override("zh-hans"):
        assert str(Role.PAIRED.label) == "包联干部"


def test_every_app_with_a_catalogue_is_found():
    assert EN_PO in EN_CATALOGUES


@pytest.mark.parametrize("path", EN_CATALOGUES, ids=lambda p: str(p.parent.parent.parent.parent.name))
def test_english_catalogue_is_complete(path):
    po = polib.pofile(str(path))
    assert po.metadata.get("Language") == "en"
    assert not po.metadata_is_fuzzy
    entries = [e for e in po if not e.obsolete]
    assert entries
    fuzzy = [e.msgid for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, f"fuzzy entries in {path}: {fuzzy}"
    untranslated = [
        e.msgid
        for e in entries
        if (e.msgid_plural and not all(e.msgstr_plural.values()))
        or (not e.msgid_plural and not e.msgstr)
    ]
    assert not untranslated, f"untranslated entries in {path}: {untranslated}"


@pytest.mark.parametrize("path", EN_CATALOGUES, ids=lambda p: str(p.parent.parent.parent.parent.name))
def test_english_placeholders_match_the_chinese(path):
    po = polib.pofile(str(path))
    for entry in po:
        if entry.obsolete or "python-format" not in entry.flags:
            continue
        wanted = set(PLACEHOLDER.findall(entry.msgid))
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for msgstr in translations:
            assert set(PLACEHOLDER.findall(msgstr)) == wanted, entry.msgid
