import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from minqing.accounts.models import User
from minqing.accounts.roles import Role
from minqing.accounts.services import user_create
from minqing.testing import PASSWORD, SHUANGTA

HOME = reverse("web:home")
# Session, user, reach, counts below it, villages per township (chart), locked accounts,
# today's audit rows. The county admin's home is the heaviest; more data must not add queries.
HOME_QUERY_BUDGET = 17  # with the today items of outreach, cases and relief


def _nav(html: str) -> str:
    return re.search(r'<nav class="nav".*?</nav>', html, re.S).group()


def _main(html: str) -> str:
    return re.search(r"<main.*?</main>", html, re.S).group()


@pytest.mark.parametrize(
    ("who", "name", "role_label", "reach_name"),
    [
        ("admin", "张建国", "县级管理员", "涿州市"),
        ("supervisor", "李秀英", "督查人员", "涿州市"),
        ("dept", "王志强", "部门干部", "涿州市"),
        ("township", "刘海燕", "乡镇（街道）干部", "双塔街道"),
        ("village", "陈立军", "村（社区）干部", "万全庄村村民委员会"),
        ("paired", "赵明", "包联干部", "刁窝镇"),
        ("viewer", "孙丽", "只读用户", "涿州市"),
        ("outsider", "周强", "县级管理员", "永清县"),
    ],
)
def test_home_greets_each_role_with_name_role_and_reach(
    cast, client_for, who, name, role_label, reach_name
):
    response = client_for(getattr(cast, who)).get(HOME)

    assert response.status_code == 200
    main = _main(response.content.decode())
    assert f"{name}，您好" in main
    assert role_label in main
    assert f"<strong>{reach_name}</strong>" in main
    assert "今日待办" in main


def test_the_village_cadre_sees_their_village_and_not_the_township(cast, client_for):
    main = _main(client_for(cast.village).get(HOME).content.decode())

    assert "万全庄村" in main
    assert "双塔街道" not in main
    assert "涿州市" not in main


def test_the_township_officer_sees_the_villages_below(cast, client_for):
    main = _main(client_for(cast.township).get(HOME).content.decode())

    assert "25 个村（社区）" in main


@pytest.mark.parametrize(
    ("who", "sees_users", "sees_audit"),
    [
        ("admin", True, True),
        ("supervisor", False, True),
        ("dept", False, False),
        ("township", False, False),
        ("village", False, False),
        ("paired", False, False),
        ("viewer", False, False),
    ],
)
def test_the_nav_shows_only_what_the_role_may_use(cast, client_for, who, sees_users, sees_audit):
    nav = _nav(client_for(getattr(cast, who)).get(HOME).content.decode())

    assert ("用户管理" in nav) is sees_users
    assert (f'href="{reverse("accounts:users")}"' in nav) is sees_users
    assert ("审计日志" in nav) is sees_audit
    assert (f'href="{reverse("audit:log")}"' in nav) is sees_audit
    assert "首页" in nav
    assert "退出" in nav


def _menu(nav: str, label: str) -> str | None:
    found = re.search(rf"<details class=\"nav-group\">\s*<summary[^>]*>{label}</summary>.*?</details>", nav, re.S)
    return found.group() if found else None


def test_the_nav_groups_an_area_into_one_menu_only_when_it_has_several_entries(cast, client_for):
    admin_nav = _nav(client_for(cast.admin).get(HOME).content.decode())
    registry = _menu(admin_nav, "户籍")
    assert f'href="{reverse("households:list")}"' in registry
    assert f'href="{reverse("roll:upload")}"' in registry
    system = _menu(admin_nav, "系统")
    assert f'href="{reverse("accounts:users")}"' in system
    assert f'href="{reverse("audit:log")}"' in system

    # A read-only user may not import: the registry is one plain link, not a menu.
    viewer_nav = _nav(client_for(cast.viewer).get(HOME).content.decode())
    assert _menu(viewer_nav, "户籍") is None
    assert f'href="{reverse("households:list")}"' in viewer_nav
    assert f'href="{reverse("roll:upload")}"' not in viewer_nav


def test_the_admin_is_told_of_locked_accounts(cast, client_for):
    User.objects.filter(pk=cast.village.pk).update(
        failed_logins=5, locked_until=timezone.now() + timedelta(minutes=10)
    )

    main = _main(client_for(cast.admin).get(HOME).content.decode())

    assert "被锁定的账户" in main
    assert f'href="{reverse("accounts:users")}?locked=1"' in main


def test_anonymous_visitors_are_sent_to_login(db, client):
    response = client.get(HOME)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={HOME}"


@pytest.mark.parametrize("signed_in", [True, False])
def test_pages_forbid_inline_script_and_framing(cast, client, client_for, signed_in):
    if signed_in:
        response = client_for(cast.village).get(HOME)
    else:
        response = client.get(reverse("accounts:login"))

    csp = response["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "url_name",
    [
        "web:home",
        "accounts:tokens",
        "accounts:password",
        "accounts:users",
        "accounts:user_new",
        "audit:log",
        "regions:browse",
    ],
)
def test_pages_carry_no_inline_script_or_style(cast, client_for, url_name):
    # The county admin sees the most on every page (the home chart's data included).
    response = client_for(cast.admin).get(reverse(url_name))

    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts
    for tag in scripts:
        # Data blocks (json_script) are never executed, so the CSP lets them be.
        assert " src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"<[^>]+\sstyle\s*=", html), "inline style attribute"
    assert "<style" not in html


def test_the_login_page_carries_no_inline_script(db, client):
    html = client.get(reverse("accounts:login")).content.decode()

    for tag in re.findall(r"<script\b[^>]*>", html):
        assert " src=" in tag, tag


def test_home_queries_do_not_grow_with_the_data(cast, client_for, django_assert_max_num_queries):
    for i in range(15):
        user = user_create(
            actor=cast.admin,
            username=f"viewer{i}",
            full_name=f"观察员{i}",
            role=Role.VIEWER,
            reach=SHUANGTA,
            password=PASSWORD,
        )
        User.objects.filter(pk=user.pk).update(
            failed_logins=5, locked_until=timezone.now() + timedelta(minutes=10)
        )
    client = client_for(cast.admin)

    with django_assert_max_num_queries(HOME_QUERY_BUDGET):
        response = client.get(HOME)

    main = _main(response.content.decode())
    assert '<span class="count">15</span> 被锁定的账户' in main


def test_switching_to_english_sets_the_language_cookie(cast, client_for):
    client = client_for(cast.village)

    response = client.post(reverse("set_language"), {"language": "en", "next": HOME})

    assert response.status_code == 302
    assert response["Location"] == HOME
    assert response.cookies["django_language"].value == "en"
    assert client.get(HOME).status_code == 200


def test_the_language_menu_names_each_language_in_itself(cast, client_for):
    client = client_for(cast.village)
    chinese = client.get(HOME).content.decode()
    assert '<option value="en" lang="en">English</option>' in chinese
    assert "英语" not in chinese
    client.post(reverse("set_language"), {"language": "en", "next": HOME})
    english = client.get(HOME).content.decode()
    assert '<option value="zh-hans" lang="zh-hans">简体中文</option>' in english
