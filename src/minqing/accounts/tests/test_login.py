from datetime import timedelta

from django.contrib.auth.hashers import check_password
from django.urls import reverse
from django.utils import timezone

from minqing import settings as project_settings
from minqing.accounts.models import User
from minqing.accounts.roles import Role
from minqing.accounts.services import user_create
from minqing.audit.models import AuditLog
from minqing.testing import PASSWORD, ZHUOZHOU

LOGIN = reverse("accounts:login")


def _login(client, username, password, *, next_url=None):
    url = LOGIN if next_url is None else f"{LOGIN}?next={next_url}"
    return client.post(url, {"username": username, "password": password})


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _audit_rows(user, action):
    return AuditLog.objects.filter(entity="accounts.user", entity_id=str(user.pk), action=action)


def test_login_page_speaks_chinese(db, client):
    response = client.get(LOGIN)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>登录</h1>" in html
    assert "用户名" in html
    assert "密码" in html


def test_correct_login_goes_home_and_is_audited(cast, client):
    response = _login(client, "village", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    assert _signed_in(client)
    row = _audit_rows(cast.village, "login").get()
    assert row.actor_id == cast.village.pk
    assert row.actor_name == "陈立军"
    assert row.source == "web"
    assert row.region_code == "130681107228"


def test_wrong_password_is_refused_and_counted(cast, client):
    response = _login(client, "village", "not-the-password")

    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    assert not _signed_in(client)
    assert User.objects.get(pk=cast.village.pk).failed_logins == 1
    assert not _audit_rows(cast.village, "login").exists()


def test_unknown_username_gets_the_same_message(cast, client):
    response = _login(client, "nobody", PASSWORD)

    assert "用户名或密码不正确" in response.content.decode()
    assert not _signed_in(client)


def test_a_correct_login_resets_the_failure_count(cast, client):
    _login(client, "village", "not-the-password")
    _login(client, "village", "not-the-password")

    _login(client, "village", PASSWORD)

    assert User.objects.get(pk=cast.village.pk).failed_logins == 0


def test_too_many_failures_lock_the_account_even_against_the_right_password(cast, client, settings):
    for _ in range(settings.LOGIN_MAX_FAILURES + 2):
        _login(client, "village", "not-the-password")

    village = User.objects.get(pk=cast.village.pk)
    assert village.locked_until is not None
    assert village.locked_until > timezone.now()
    # Only the failure that reached the limit locks; later ones do not record it again.
    assert _audit_rows(village, "lock").count() == 1

    response = _login(client, "village", PASSWORD)

    assert response.status_code == 200
    assert "锁定" in response.content.decode()
    assert not _signed_in(client)


def test_the_failure_before_the_limit_does_not_lock(cast, client, settings):
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        _login(client, "village", "not-the-password")

    assert User.objects.get(pk=cast.village.pk).locked_until is None
    _login(client, "village", PASSWORD)
    assert _signed_in(client)


def test_the_lock_runs_out_after_the_lock_minutes(cast, client, settings, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _login(client, "village", "not-the-password")

    time_machine.shift(timedelta(minutes=settings.LOGIN_LOCK_MINUTES - 1))
    assert "锁定" in _login(client, "village", PASSWORD).content.decode()
    assert not _signed_in(client)

    time_machine.shift(timedelta(minutes=1, seconds=1))
    response = _login(client, "village", PASSWORD)

    assert response.status_code == 302
    assert _signed_in(client)
    village = User.objects.get(pk=cast.village.pk)
    assert village.failed_logins == 0
    assert village.locked_until is None


def test_a_lock_that_ran_out_locks_again_after_as_many_new_failures(
    cast, client, settings, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    for _ in range(settings.LOGIN_MAX_FAILURES):
        _login(client, "village", "not-the-password")
    time_machine.shift(timedelta(minutes=settings.LOGIN_LOCK_MINUTES, seconds=1))

    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        _login(client, "village", "not-the-password")
    assert not User.objects.get(pk=cast.village.pk).is_locked()

    _login(client, "village", "not-the-password")

    assert User.objects.get(pk=cast.village.pk).is_locked()
    assert _audit_rows(cast.village, "lock").count() == 2
    assert "锁定" in _login(client, "village", PASSWORD).content.decode()


def test_an_inactive_user_cannot_log_in(cast, client):
    User.objects.filter(pk=cast.village.pk).update(is_active=False)

    response = _login(client, "village", PASSWORD)

    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    assert not _signed_in(client)
    assert not _audit_rows(cast.village, "login").exists()


def test_next_to_another_host_is_not_followed(cast, client):
    response = _login(client, "village", PASSWORD, next_url="https://evil.example/steal")

    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")


def test_next_within_the_site_is_followed(cast, client):
    response = _login(client, "village", PASSWORD, next_url=reverse("accounts:tokens"))

    assert response["Location"] == reverse("accounts:tokens")


def test_login_refuses_wrong_method(db, client):
    assert client.put(LOGIN).status_code == 405


def test_logout_by_get_is_refused(cast, client_for):
    client = client_for(cast.village)

    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert _signed_in(client)


def test_logout_ends_the_session(cast, client_for):
    client = client_for(cast.village)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not _signed_in(client)
    home = client.get(reverse("web:home"))
    assert home.status_code == 302
    assert home["Location"].startswith(LOGIN)


def test_production_settings_store_passwords_as_argon2(cast, settings):
    # The autouse fixture swaps in MD5 for speed; the module keeps the real list.
    assert project_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS

    user = user_create(
        actor=None,
        username="hasher",
        full_name="韩冰",
        role=Role.VIEWER,
        reach=ZHUOZHOU,
        password=PASSWORD,
    )

    stored = User.objects.values_list("password", flat=True).get(pk=user.pk)
    assert stored.startswith("argon2$argon2id$")
    assert check_password(PASSWORD, stored)
