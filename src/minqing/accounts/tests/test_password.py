from django.urls import reverse

from minqing.accounts.models import User
from minqing.audit.models import AuditLog
from minqing.testing import PASSWORD

URL = reverse("accounts:password")
NEW_PASSWORD = "Spring-rain-2024"


def _change(client, *, old=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post(
        URL,
        {"old_password": old, "new_password": new, "confirm": new if confirm is None else confirm},
    )


def _password_unchanged(user) -> bool:
    return User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_password_page_shows_the_form(cast, client_for):
    response = client_for(cast.village).get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "原密码" in html
    assert "再次输入新密码" in html


def test_password_page_needs_login(db, client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_password_page_refuses_wrong_method(cast, client_for):
    assert client_for(cast.village).put(URL).status_code == 405


def test_wrong_old_password_is_refused(cast, client_for):
    response = _change(client_for(cast.village), old="not-my-password")

    assert response.status_code == 200
    assert "原密码不正确" in response.content.decode()
    assert _password_unchanged(cast.village)
    assert not AuditLog.objects.filter(action="set_password").exists()


def test_mismatched_confirmation_is_refused(cast, client_for):
    response = _change(client_for(cast.village), confirm="Spring-rain-2025")

    assert response.status_code == 200
    assert "两次输入的新密码不一致" in response.content.decode()
    assert _password_unchanged(cast.village)


def test_weak_password_is_refused(cast, client_for):
    response = _change(client_for(cast.village), new="1234567890")

    assert response.status_code == 200
    assert "密码只包含数字" in response.content.decode()
    assert _password_unchanged(cast.village)
    assert not AuditLog.objects.filter(action="set_password").exists()


def test_changing_the_password_keeps_the_session_and_is_audited(cast, client_for):
    client = client_for(cast.village)

    response = _change(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    village = User.objects.get(pk=cast.village.pk)
    assert village.check_password(NEW_PASSWORD)
    assert not village.check_password(PASSWORD)
    # Still signed in: the session hash was updated with the new password.
    home = client.get(reverse("web:home"))
    assert home.status_code == 200
    assert "密码已修改" in home.content.decode()
    row = AuditLog.objects.get(action="set_password")
    assert row.entity == "accounts.user"
    assert row.entity_id == str(village.pk)
    assert row.actor_id == village.pk
    assert row.source == "web"
    # The audit row says that the password changed, never what it is.
    assert NEW_PASSWORD not in str(row.changes)


def test_a_short_password_is_refused_in_chinese(cast, client_for):
    response = client_for(cast.village).post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": "Ab-12", "confirm": "Ab-12"},
    )
    assert "密码太短，至少需要 10 个字符" in response.content.decode()
