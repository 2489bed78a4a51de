import base64
import html
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from minqing.accounts.models import UnitKind
from minqing.accounts.services import orgunit_create, token_create, user_update
from minqing.audit.models import AuditLog
from minqing.audit.services import audit_record
from minqing.regions.models import Region

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOG = reverse("audit:log")


def page(client, **params) -> str:
    response = client.get(LOG, params)
    assert response.status_code == 200
    return response.content.decode()


def on(year, month, day):
    return time_machine.travel(datetime(year, month, day, 10, 0, tzinfo=SHANGHAI), tick=False)


# Who may read the log


@pytest.mark.parametrize("who", ["admin", "supervisor", "outsider"])
def test_auditors_see_the_log(cast, client_for, who):
    assert "审计日志" in page(client_for(getattr(cast, who)))


@pytest.mark.parametrize("who", ["village", "township", "dept", "paired", "viewer"])
def test_other_roles_are_refused_the_log(cast, client_for, who):
    response = client_for(getattr(cast, who)).get(LOG)

    assert response.status_code == 403
    assert "您没有查看审计日志的权限" in response.content.decode()


def test_the_log_needs_a_signed_in_user(cast, client):
    response = client.get(LOG)

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_the_log_refuses_post(cast, client_for):
    assert client_for(cast.admin).post(LOG).status_code == 405


# What each reader sees


def test_a_change_shows_who_made_it_and_what_changed(cast, client_for):
    user_update(actor=cast.admin, user=cast.township, phone="13800000000")

    text = page(client_for(cast.supervisor))

    assert "13800000000" in text
    assert f"用户 #{cast.township.pk}" in text
    assert "张建国" in text and "修改" in text


def test_the_outsider_never_sees_rows_of_another_county(cast, client_for):
    user_update(actor=cast.admin, user=cast.township, phone="13800000000")
    user_update(actor=cast.outsider, user=cast.outsider, phone="13900000000")

    outsider = page(client_for(cast.outsider))
    admin = page(client_for(cast.admin))

    assert "13900000000" in outsider
    assert "13800000000" not in outsider
    # Neither the rows nor the actor filter name anyone from 涿州市.
    assert "张建国" not in outsider and "刘海燕" not in outsider
    assert "13800000000" in admin
    assert "13900000000" not in admin


def test_filtering_by_an_actor_out_of_reach_does_not_open_their_rows(cast, client_for):
    user_update(actor=cast.admin, user=cast.township, phone="13800000000")

    text = page(client_for(cast.outsider), actor=cast.admin.pk)

    assert "13800000000" not in text
    assert "选择一个有效的选项" in text


def test_national_rows_are_shown_to_every_auditor(cast, client_for):
    # The cast's load of the region tree is a national row, with no region code: a change to
    # the reference data every county relies on, so every auditor sees it.
    assert AuditLog.objects.filter(entity="regions.edition", region_code="").exists()

    for auditor in (cast.admin, cast.outsider, cast.supervisor):
        text = page(client_for(auditor), entity="regions.edition")
        assert "没有符合条件的记录" not in text
        assert "载入" in text


# Filters


def test_filtering_by_entity(cast, client_for):
    orgunit_create(
        actor=cast.admin,
        name="刁窝镇人民政府",
        kind=UnitKind.TOWNSHIP,
        region=Region.objects.get(code="130681107000"),
    )
    user_update(actor=cast.admin, user=cast.township, phone="13800000000")

    text = page(client_for(cast.admin), entity="accounts.orgunit")

    assert "刁窝镇人民政府" in text
    assert "13800000000" not in text


def test_filtering_by_actor(cast, client_for):
    token_create(user=cast.dept, name="数据报送脚本")
    user_update(actor=cast.admin, user=cast.township, phone="13800000000")

    text = page(client_for(cast.admin), actor=cast.dept.pk)

    assert "数据报送脚本" in text
    assert "13800000000" not in text


def test_filtering_by_date(cast, client_for):
    with on(2024, 3, 1):
        user_update(actor=cast.admin, user=cast.township, phone="13800000001")
    with on(2024, 3, 5):
        user_update(actor=cast.admin, user=cast.village, phone="13800000005")
    client = client_for(cast.admin)

    from_5th = page(client, date="2024-03-05")
    until_1st = page(client, until="2024-03-01")
    between = page(client, date="2024-03-02", until="2024-03-04")

    assert "13800000005" in from_5th and "13800000001" not in from_5th
    assert "13800000001" in until_1st and "13800000005" not in until_1st
    assert "2024-03-01 10:00:00" in until_1st
    assert "没有符合条件的记录" in between


def test_a_malformed_date_is_reported_and_not_applied(cast, client_for):
    user_update(actor=cast.admin, user=cast.township, phone="13800000000")

    text = page(client_for(cast.admin), date="2024-13-45")

    assert "输入一个有效的日期" in text
    assert "13800000000" in text


# Paging


def make_rows(count: int) -> None:
    # All in the same second, so the order rests on the id tie-break.
    with on(2024, 3, 1):
        for n in range(count):
            audit_record(
                actor=None,
                action="create",
                entity="accounts.orgunit",
                entity_id=n,
                region_code="130681107228",
                changes={"name": [None, f"单位{n:02d}号"]},
            )


def unit_numbers(text: str) -> list[str]:
    return re.findall(r"单位(\d\d)号", text)


def more_link(text: str) -> str | None:
    match = re.search(r'<tr class="more">.*?href="([^"]+)"', text, re.S)
    return html.unescape(match.group(1)) if match else None


def test_sixty_rows_come_as_fifty_then_ten_with_none_repeated(cast, client_for):
    make_rows(60)
    client = client_for(cast.admin)

    first = page(client, entity="accounts.orgunit")
    link = more_link(first)
    assert link is not None and "更多" in first
    second = client.get(LOG + link).content.decode()

    assert unit_numbers(first) == [f"{n:02d}" for n in range(59, 9, -1)]
    assert unit_numbers(second) == [f"{n:02d}" for n in range(9, -1, -1)]
    assert more_link(second) is None


def test_the_next_page_via_htmx_is_only_the_rows(cast, client_for):
    make_rows(60)
    client = client_for(cast.admin)
    link = more_link(page(client, entity="accounts.orgunit"))

    response = client.get(LOG + link, HTTP_HX_REQUEST="true")

    text = response.content.decode()
    assert "<html" not in text and "<form" not in text
    assert len(unit_numbers(text)) == 10
    assert "HX-Request" in response["Vary"]


def forged(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        forged('{"at": 1}'),
        forged('["2024-03-01T02:00:00Z"]'),
        forged('["not a time", 5]'),
        forged('["2024-03-01T02:00:00Z", "five"]'),
        forged('["2024-03-01T02:00:00Z", 99999999999999999999999999]'),
        forged("[null, null]"),
        forged("[true, true]"),
    ],
)
def test_a_forged_cursor_gives_the_first_page(cast, client_for, cursor):
    make_rows(60)
    client = client_for(cast.admin)

    text = page(client, entity="accounts.orgunit", after=cursor)

    assert unit_numbers(text) == unit_numbers(page(client, entity="accounts.orgunit"))


def test_the_log_page_costs_the_same_few_queries_for_fifty_rows(
    cast, client_for, django_assert_max_num_queries
):
    make_rows(60)
    client = client_for(cast.admin)

    # Session, user, actor choices, one page of rows.
    with django_assert_max_num_queries(4):
        text = page(client, entity="accounts.orgunit")
    assert len(unit_numbers(text)) == 50
