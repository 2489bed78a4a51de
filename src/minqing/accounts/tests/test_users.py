from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from minqing.accounts.models import User
from minqing.accounts.roles import Role
from minqing.accounts.services import user_create, user_update
from minqing.audit.models import AuditLog
from minqing.testing import OTHER_WANQUANZHUANG, PASSWORD, SHUANGTA, ZHUOZHOU

USERS = reverse("accounts:users")
USER_NEW = reverse("accounts:user_new")
# Session, user, one page of users, their reach names: more users must not add queries.
QUERY_BUDGET = 4
ZHUOZHOU_NAMES = ["张建国", "李秀英", "王志强", "刘海燕", "陈立军", "赵明", "孙丽"]


def _form(**overrides) -> dict:
    """What the browser posts for a new township officer of 双塔街道. The region picker sends
    one ``reach`` per select, the deepest choice last (here left empty)."""
    data = {
        "username": "wangfang",
        "full_name": "王芳",
        "role": Role.TOWNSHIP,
        "reach": ["130681001000", ""],
        "phone": "",
        "password": "Fresh-password-2024",
    }
    data.update(overrides)
    return data


def _edit_form(user, **overrides) -> dict:
    data = {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "reach": user.reach.ljust(12, "0"),
        "phone": user.phone,
        "is_active": "on",
    }
    if user.can_view_personal:
        data["can_view_personal"] = "on"
    data.update(overrides)
    return data


def _rows(response) -> str:
    """The table of users, without the search box that echoes the query."""
    html = response.content.decode()
    return html[html.index('<tbody id="user-rows">') : html.index("</tbody>")]


def _lock(user):
    User.objects.filter(pk=user.pk).update(
        failed_logins=5, locked_until=timezone.now() + timedelta(minutes=10)
    )


def _personal_less_admin():
    return user_create(
        actor=None,
        username="admin2",
        full_name="高峰",
        role=Role.COUNTY_ADMIN,
        reach=ZHUOZHOU,
        password=PASSWORD,
    )


# The list


def test_admin_lists_the_users_of_the_county(cast, client_for):
    response = client_for(cast.admin).get(USERS)

    assert response.status_code == 200
    rows = _rows(response)
    for name in ZHUOZHOU_NAMES:
        assert name in rows
    assert "万全庄村村民委员会" in rows  # the village cadre's reach, by name
    assert "周强" not in rows


def test_admin_never_sees_users_of_another_county(cast, client_for):
    user_create(
        actor=None,
        username="yq_village",
        full_name="吴婷",
        role=Role.VILLAGE,
        reach=OTHER_WANQUANZHUANG,
        password=PASSWORD,
    )
    client = client_for(cast.admin)

    rows = _rows(client.get(USERS))
    assert "吴婷" not in rows
    assert "永清县" not in rows
    assert "万全庄村村民委员会" in rows  # 陈立军's, not 吴婷's

    searched = _rows(client.get(USERS, {"q": "周强"}))
    assert "周强" not in searched
    assert "没有符合条件的用户" in searched


def test_search_finds_by_name_or_username(cast, client_for):
    client = client_for(cast.admin)

    by_name = _rows(client.get(USERS, {"q": "海燕"}))
    by_username = _rows(client.get(USERS, {"q": "VILLAGE"}))

    assert "刘海燕" in by_name
    assert "陈立军" not in by_name
    assert "陈立军" in by_username
    assert "刘海燕" not in by_username


def test_the_locked_filter_lists_only_locked_users(cast, client_for):
    _lock(cast.township)

    rows = _rows(client_for(cast.admin).get(USERS, {"locked": "1"}))

    assert "刘海燕" in rows
    assert "已锁定" in rows
    assert "陈立军" not in rows


def test_the_user_list_costs_the_same_for_more_users(
    cast, client_for, django_assert_max_num_queries
):
    for i in range(30):
        user_create(
            actor=None,
            username=f"viewer{i}",
            full_name=f"观察员{i}",
            role=Role.VIEWER,
            reach=SHUANGTA if i % 2 else ZHUOZHOU,
            password=PASSWORD,
        )
    client = client_for(cast.admin)

    with django_assert_max_num_queries(QUERY_BUDGET):
        response = client.get(USERS)

    assert "观察员29" in response.content.decode()


# Creating a user through the form


def test_admin_creates_a_township_officer_with_the_region_picker(cast, client_for):
    response = client_for(cast.admin).post(USER_NEW, _form())

    assert response.status_code == 302
    assert response["Location"] == USERS
    user = User.objects.get(username="wangfang")
    assert user.reach == SHUANGTA
    assert user.role == Role.TOWNSHIP
    assert user.full_name == "王芳"
    assert user.check_password("Fresh-password-2024")
    row = AuditLog.objects.get(entity="accounts.user", entity_id=str(user.pk), action="create")
    assert row.actor_id == cast.admin.pk
    assert row.source == "web"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("999999999999", "区划代码“999999999999”不存在"),
        ("13068110722X", "格式不正确"),
        (OTHER_WANQUANZHUANG, "不在您的管辖范围内"),
    ],
)
def test_a_forged_region_code_is_refused(cast, client_for, code, message):
    response = client_for(cast.admin).post(USER_NEW, _form(reach=code))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username="wangfang").exists()


def test_a_township_for_a_village_cadre_is_refused(cast, client_for):
    response = client_for(cast.admin).post(USER_NEW, _form(role=Role.VILLAGE))

    assert response.status_code == 200
    assert "“村（社区）干部”的管辖范围应为 12 位区划代码" in response.content.decode()
    assert not User.objects.filter(username="wangfang").exists()


def test_a_missing_region_is_refused(cast, client_for):
    response = client_for(cast.admin).post(USER_NEW, _form(reach=["", ""]))

    assert response.status_code == 200
    assert "这个字段是必填项" in response.content.decode()
    assert not User.objects.filter(username="wangfang").exists()


def test_a_taken_username_is_refused(cast, client_for):
    response = client_for(cast.admin).post(USER_NEW, _form(username="village"))

    assert response.status_code == 200
    assert "用户名“village”已被使用" in response.content.decode()
    assert User.objects.filter(username="village").count() == 1


def test_admin_with_personal_data_access_may_grant_it(cast, client_for):
    client_for(cast.admin).post(USER_NEW, _form(can_view_personal="on"))

    assert User.objects.get(username="wangfang").can_view_personal


def test_admin_without_personal_data_access_cannot_grant_it(cast, client_for):
    response = client_for(_personal_less_admin()).post(USER_NEW, _form(can_view_personal="on"))

    assert response.status_code == 200
    assert "您本人没有查看完整个人信息的权限，不能授予他人" in response.content.decode()
    assert not User.objects.filter(username="wangfang").exists()


def test_admin_without_personal_data_access_may_edit_a_user_who_has_it(cast):
    user_update(actor=cast.admin, user=cast.dept, can_view_personal=True)

    user_update(actor=_personal_less_admin(), user=cast.dept, phone="13900001111")

    cast.dept.refresh_from_db()
    assert cast.dept.phone == "13900001111"
    assert cast.dept.can_view_personal


# Who may use the pages


@pytest.mark.parametrize("who", ["supervisor", "viewer", "village"])
@pytest.mark.parametrize(
    ("method", "url_name", "with_pk"),
    [
        ("get", "accounts:users", False),
        ("get", "accounts:user_new", False),
        ("post", "accounts:user_new", False),
        ("get", "accounts:user_edit", True),
        ("post", "accounts:user_unlock", True),
    ],
)
def test_users_without_user_management_are_refused(
    cast, client_for, who, method, url_name, with_pk
):
    user = getattr(cast, who)
    # Their own account is within their reach, so the refusal is about the role, not scope.
    url = reverse(url_name, args=[user.pk]) if with_pk else reverse(url_name)

    response = getattr(client_for(user), method)(url, _form() if method == "post" else None)

    assert response.status_code == 403
    assert "没有权限" in response.content.decode()
    assert not User.objects.filter(username="wangfang").exists()


def test_user_pages_need_login(db, client):
    response = client.get(USERS)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_admin_opening_a_user_of_another_county_gets_404(cast, client_for):
    client = client_for(cast.admin)

    assert client.get(reverse("accounts:user_edit", args=[cast.outsider.pk])).status_code == 404
    assert client.get(reverse("accounts:user_edit", args=[999_999])).status_code == 404


def test_admin_cannot_unlock_a_user_of_another_county(cast, client_for):
    _lock(cast.outsider)

    response = client_for(cast.admin).post(reverse("accounts:user_unlock", args=[cast.outsider.pk]))

    assert response.status_code == 404
    assert User.objects.get(pk=cast.outsider.pk).is_locked()


def test_user_pages_refuse_wrong_methods(cast, client_for):
    client = client_for(cast.admin)

    assert client.post(USERS).status_code == 405
    assert client.get(reverse("accounts:user_unlock", args=[cast.township.pk])).status_code == 405
    assert client.put(USER_NEW).status_code == 405
    assert client.delete(reverse("accounts:user_edit", args=[cast.township.pk])).status_code == 405


# Editing and unlocking


def test_the_edit_form_shows_the_current_values(cast, client_for):
    response = client_for(cast.admin).get(reverse("accounts:user_edit", args=[cast.village.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="陈立军"' in html
    assert '<option value="130681107228" selected>' in html


def test_editing_a_user_records_only_what_changed(cast, client_for):
    url = reverse("accounts:user_edit", args=[cast.township.pk])

    response = client_for(cast.admin).post(url, _edit_form(cast.township, phone="13900000000"))

    assert response.status_code == 302
    assert User.objects.get(pk=cast.township.pk).phone == "13900000000"
    row = AuditLog.objects.get(entity_id=str(cast.township.pk), action="update")
    assert row.changes == {"phone": ["", "13900000000"]}
    assert row.actor_id == cast.admin.pk


def test_the_username_cannot_be_changed_by_editing(cast, client_for):
    url = reverse("accounts:user_edit", args=[cast.township.pk])

    client_for(cast.admin).post(url, _edit_form(cast.township, username="renamed"))

    assert User.objects.get(pk=cast.township.pk).username == "township"


def test_admin_cannot_deactivate_themself(cast, client_for):
    url = reverse("accounts:user_edit", args=[cast.admin.pk])
    data = _edit_form(cast.admin)
    del data["is_active"]

    response = client_for(cast.admin).post(url, data)

    assert response.status_code == 200
    assert "不能停用自己的账户" in response.content.decode()
    assert User.objects.get(pk=cast.admin.pk).is_active


def test_unlocking_clears_the_lock_and_is_audited(cast, client_for, client):
    _lock(cast.township)

    response = client_for(cast.admin).post(reverse("accounts:user_unlock", args=[cast.township.pk]))

    assert response.status_code == 302
    assert response["Location"] == USERS
    township = User.objects.get(pk=cast.township.pk)
    assert township.failed_logins == 0
    assert township.locked_until is None
    row = AuditLog.objects.get(entity_id=str(township.pk), action="unlock")
    assert row.actor_id == cast.admin.pk
    assert row.changes["failed_logins"] == [5, 0]
    login = client.post(reverse("accounts:login"), {"username": "township", "password": PASSWORD})
    assert login.status_code == 302


# The services behind the pages


def test_user_create_wants_twelve_digits_for_a_village_cadre(cast):
    with pytest.raises(ValidationError, match="12 位"):
        user_create(
            actor=cast.admin,
            username="cadre",
            full_name="马兰",
            role=Role.VILLAGE,
            reach="130681107",
            password=PASSWORD,
        )

    assert not User.objects.filter(username="cadre").exists()


@pytest.mark.parametrize("reach", ["1306811072", "13068110722a", "", "1306811072280"])
def test_user_create_refuses_a_reach_that_is_not_a_region_prefix(cast, reach):
    with pytest.raises(ValidationError, match="不是有效的区划代码前缀"):
        user_create(
            actor=cast.admin,
            username="cadre",
            full_name="马兰",
            role=Role.VIEWER,
            reach=reach,
            password=PASSWORD,
        )


def test_user_create_refuses_a_reach_beyond_the_actors(cast):
    with pytest.raises(ValidationError, match="超出了您自己的管辖范围"):
        user_create(
            actor=cast.admin,
            username="cadre",
            full_name="马兰",
            role=Role.VILLAGE,
            reach=OTHER_WANQUANZHUANG,
            password=PASSWORD,
        )


def test_user_create_by_a_non_manager_is_denied(cast):
    with pytest.raises(PermissionDenied):
        user_create(
            actor=cast.township,
            username="cadre",
            full_name="马兰",
            role=Role.VILLAGE,
            reach="130681001001",
            password=PASSWORD,
        )

    assert not User.objects.filter(username="cadre").exists()


def test_user_create_writes_an_audit_row_with_the_actor(cast):
    user = user_create(
        actor=cast.admin,
        username="cadre",
        full_name="马兰",
        role=Role.VILLAGE,
        reach="130681107228",
        password=PASSWORD,
    )

    row = AuditLog.objects.get(entity="accounts.user", entity_id=str(user.pk), action="create")
    assert row.actor_id == cast.admin.pk
    assert row.actor_name == "张建国"
    assert row.region_code == "130681107228"
    assert row.changes["role"] == [None, "village"]
    assert row.changes["reach"] == [None, "130681107228"]
    assert "password" not in row.changes


def test_user_update_records_only_changed_fields(cast):
    user_update(actor=cast.admin, user=cast.township, full_name="刘海燕", phone="13900000000")

    row = AuditLog.objects.get(entity_id=str(cast.township.pk), action="update")
    assert row.changes == {"phone": ["", "13900000000"]}


def test_user_update_without_changes_writes_no_audit_row(cast):
    user_update(actor=cast.admin, user=cast.township, full_name="刘海燕", role=Role.TOWNSHIP)

    assert not AuditLog.objects.filter(action="update").exists()


def test_user_update_checks_the_reach_against_the_role(cast):
    with pytest.raises(ValidationError, match="12 位"):
        user_update(actor=cast.admin, user=cast.township, role=Role.VILLAGE)

    assert User.objects.get(pk=cast.township.pk).role == Role.TOWNSHIP
    assert not AuditLog.objects.filter(action="update").exists()
