"""销户: a household none of whose members lives here any more is closed, not deleted. It
leaves the current list (and so the export), takes no new member, category or assessment
until it is reopened, and every step is in the audit log."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from minqing.audit.models import AuditLog
from minqing.households.models import Household, Person, PersonStatus, Relation
from minqing.households.people import PersonInput
from minqing.households.services import (
    category_grant,
    dwelling_assess,
    household_close,
    household_head_change,
    household_reopen,
    household_update,
    person_add,
    person_move,
    person_update,
)
from minqing.households.tests.test_api import Api
from minqing.lib.excel import read_rows
from minqing.lib.idcard import make_id_number
from minqing.testing import set_status

DAY = datetime.date(2026, 6, 1)
GONE = datetime.date(2026, 6, 15)  # the day 刘芳 left her household (``emptied``): today


@pytest.fixture
def emptied(registry):
    """刘芳 moved into 张三's household: hers is left with nobody."""
    person_move(
        actor=None, person=registry.liu.head, household=registry.zhang, relation=Relation.OTHER
    )
    registry.liu.refresh_from_db()
    assert registry.liu.member_count == 0
    return registry.liu


def _refusal(call) -> str:
    with pytest.raises(ValidationError) as caught:
        call()
    return "；".join(caught.value.messages)


def test_close_needs_a_household_without_people_living_there(registry, cast):
    message = _refusal(
        lambda: household_close(actor=cast.admin, household=registry.zhang, reason="全户迁出")
    )
    assert (
        message
        == "该户尚有在册人员（张三、李四、张小明）：请先办理迁移，或把其状态改为已迁出、已故"
    )
    assert Household.objects.get(pk=registry.zhang.pk).closed_on is None


def test_close_counts_moved_out_and_deceased_members_as_gone(registry, cast):
    for person, status in (
        (registry.head, PersonStatus.DECEASED),
        (registry.li, PersonStatus.MOVED_OUT),
        (registry.ming, PersonStatus.MOVED_OUT),
    ):
        set_status(person, status)
    household_close(actor=cast.admin, household=registry.zhang, reason="户主已故，其余迁出", on=DAY)
    closed = Household.objects.get(pk=registry.zhang.pk)
    assert (closed.closed_on, closed.closed_reason) == (DAY, "户主已故，其余迁出")
    # A member cannot come back to life in a closed household without reopening it.
    message = _refusal(
        lambda: person_update(
            actor=cast.admin,
            person=Person.objects.get(pk=registry.li.pk),
            data=PersonInput(
                name="李四", id_number=registry.li.id_number, relation=Relation.SPOUSE
            ),
        )
    )
    assert message == "该户已于 2026-06-01 销户，如需办理请先撤销销户"


def test_close_and_reopen_are_audited_and_refuse_twice(emptied, cast):
    household_close(actor=cast.admin, household=emptied, reason="全户迁出", on=GONE)
    again = _refusal(lambda: household_close(actor=cast.admin, household=emptied, reason="再销"))
    assert again == "该户已于 2026-06-15 销户，如需办理请先撤销销户"
    assert (
        _refusal(lambda: household_reopen(actor=cast.admin, household=emptied, reason=" "))
        == "请填写撤销原因"
    )
    household_reopen(actor=cast.admin, household=emptied, reason="误销户")
    assert Household.objects.get(pk=emptied.pk).closed_on is None
    assert (
        _refusal(lambda: household_reopen(actor=cast.admin, household=emptied, reason="误销户"))
        == "该户未销户"
    )
    rows = list(
        AuditLog.objects.filter(entity="households.household", entity_id=str(emptied.pk))
        .filter(action__in=["close_household", "reopen_household"])
        .order_by("id")
        .values_list("action", "actor_id", "changes")
    )
    assert rows == [
        (
            "close_household",
            cast.admin.pk,
            {"closed_on": [None, "2026-06-15"], "closed_reason": [None, "全户迁出"]},
        ),
        (
            "reopen_household",
            cast.admin.pk,
            {
                "closed_on": ["2026-06-15", None],
                "closed_reason": ["全户迁出", None],
                "reason": [None, "误销户"],
            },
        ),
    ]


def test_close_refuses_an_empty_reason_a_future_day_and_a_reader(emptied, cast):
    assert _refusal(lambda: household_close(actor=cast.admin, household=emptied, reason="")) == (
        "请填写销户原因，如“全户迁出”“户内人员均已故”"
    )
    later = datetime.date(2026, 6, 16)
    assert (
        _refusal(
            lambda: household_close(actor=cast.admin, household=emptied, reason="迁出", on=later)
        )
        == "销户日期 2026-06-16 晚于今天"
    )
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        household_close(actor=cast.viewer, household=emptied, reason="迁出")
    assert Household.objects.get(pk=emptied.pk).closed_on is None


def test_a_closed_household_takes_no_new_member_category_assessment_or_edit(
    registry, emptied, cast
):
    household_close(actor=cast.admin, household=emptied, reason="全户迁出", on=GONE)
    closed = "该户已于 2026-06-15 销户，如需办理请先撤销销户"
    newcomer = PersonInput(
        name="王五", id_number=make_id_number("130681", datetime.date(1980, 1, 1), 11)
    )
    calls = [
        lambda: person_add(actor=cast.admin, household=emptied, data=newcomer),
        lambda: household_update(actor=cast.admin, household=emptied, address="新地址"),
        lambda: category_grant(
            actor=cast.admin, category=registry.dibao, household=emptied, start=DAY
        ),
        lambda: dwelling_assess(actor=cast.admin, household=emptied, grade="D", assessed_on=DAY),
        lambda: person_move(
            actor=cast.admin, person=registry.ming, household=emptied, relation=Relation.HEAD
        ),
    ]
    assert [_refusal(call) for call in calls] == [closed] * len(calls)
    assert emptied.members.count() == 0
    assert Household.objects.get(pk=emptied.pk).address == "文兴街12号院3单元"
    # Reopened, it takes them again.
    household_reopen(actor=cast.admin, household=emptied, reason="成员迁回")
    person_move(actor=cast.admin, person=registry.ming, household=emptied, relation=Relation.HEAD)
    assert Household.objects.get(pk=emptied.pk).head_name == "张小明"


def test_pages_close_list_and_reopen(emptied, cast, client_for):
    client = client_for(cast.admin)
    detail = client.get(f"/households/{emptied.pk}/").content.decode()
    assert f'href="/households/{emptied.pk}/close/"' in detail
    # A household with people living there offers no 销户 button.
    zhang = client.get(f"/households/{emptied.pk - 1}/").content.decode()
    assert "/close/" not in zhang

    response = client.post(
        f"/households/{emptied.pk}/close/", {"on": "2026-06-15", "reason": "全户迁出"}
    )
    assert response.status_code == 302
    detail = client.get(f"/households/{emptied.pk}/").content.decode()
    assert "该户已于 2026-06-15 销户：全户迁出。" in detail
    assert "添加成员" not in detail and "撤销销户" in detail

    current = client.get("/households/").content.decode()
    assert f'href="/households/{emptied.pk}/"' not in current
    closed = client.get("/households/", {"state": "closed"}).content.decode()
    assert f'href="/households/{emptied.pk}/"' in closed and "已销户" in closed
    assert f'href="/households/{emptied.pk - 1}/"' not in closed
    everyone = client.get("/households/", {"state": "all"}).content.decode()
    assert f'href="/households/{emptied.pk}/"' in everyone
    assert f'href="/households/{emptied.pk - 1}/"' in everyone
    wrong = client.get("/households/", {"state": "gone"}).content.decode()
    assert "户状态“gone”不存在，应为 closed（已销户）或 all（全部）" in wrong

    # The export follows the list: the current roll leaves the closed household out.
    rows = [
        cells
        for _n, cells in read_rows(_saved(client.get("/households/roll/export.xlsx")), "r.xlsx")
    ]
    at = rows[0].index("家庭住址")
    addresses = {cells[at] for cells in rows[1:]}
    assert "万全庄村东街8号" in addresses and "文兴街12号院3单元" not in addresses
    rows = [
        cells
        for _n, cells in read_rows(
            _saved(client.get("/households/roll/export.xlsx", {"state": "closed"})), "r.xlsx"
        )
    ]
    assert [cells[at] for cells in rows[1:]] == []  # nobody lives in it: no row to export

    form = client.get(f"/households/{emptied.pk}/close/").content.decode()
    assert "撤销原因" in form
    client.post(f"/households/{emptied.pk}/close/", {"reason": "误销户"})
    assert Household.objects.get(pk=emptied.pk).closed_on is None


def _saved(response):
    import io

    return io.BytesIO(b"".join(response.streaming_content))


def test_page_refusal_with_people_living_there(registry, cast, client_for):
    client = client_for(cast.admin)
    page = client.post(
        f"/households/{registry.zhang.pk}/close/", {"on": "2026-06-01", "reason": "全户迁出"}
    ).content.decode()
    assert "该户尚有在册人员（张三、李四、张小明）" in page
    assert Household.objects.get(pk=registry.zhang.pk).closed_on is None
    assert client_for(cast.outsider).get(f"/households/{registry.zhang.pk}/close/").status_code == (
        404
    )
    assert (
        client_for(cast.viewer)
        .post(f"/households/{registry.zhang.pk}/close/", {"reason": "x"})
        .status_code
        == 403
    )


def test_api_close_state_filter_and_reopen(emptied, cast):
    api = Api(cast.admin)
    response = api.post(
        f"/households/{emptied.pk}/close", {"reason": "全户迁出", "on": "2026-06-15"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["closed_on"] == "2026-06-15"
    assert response.json()["closed_reason"] == "全户迁出"
    ids = [row["id"] for row in api.get("/households").json()["items"]]
    assert emptied.pk not in ids and ids
    closed = api.get("/households", {"state": "closed"}).json()["items"]
    assert [(row["id"], row["closed_on"]) for row in closed] == [(emptied.pk, "2026-06-15")]
    wrong = api.get("/households", {"state": "x"})
    assert wrong.status_code == 422
    refused = api.post(f"/households/{emptied.pk}/people", {"name": "王五", "id_number": ""})
    assert refused.status_code == 422
    again = api.post(f"/households/{emptied.pk}/close", {"reason": "全户迁出"})
    assert again.status_code == 422
    assert again.json()["detail"] == "该户已于 2026-06-15 销户，如需办理请先撤销销户"
    reopened = api.post(f"/households/{emptied.pk}/reopen", {"reason": "误销户"})
    assert reopened.status_code == 200 and reopened.json()["closed_on"] is None
    assert (
        Api(cast.outsider)
        .post(f"/households/{emptied.pk}/close", {"reason": "全户迁出"})
        .status_code
        == 404
    )
    api.assert_never_saw_personal_data()


def test_close_refuses_a_day_before_the_last_arrival(registry, cast):
    for person in (registry.head, registry.li, registry.ming):
        set_status(person, PersonStatus.DECEASED)

    # Everyone joined 张三's household on 2020-01-01: it cannot have closed in 1900.
    message = _refusal(
        lambda: household_close(
            actor=cast.admin,
            household=registry.zhang,
            reason="户内人员均已故",
            on=datetime.date(1900, 1, 1),
        )
    )

    assert message == "销户日期 1900-01-01 早于张小明迁入本户的日期 2020-01-01"
    assert Household.objects.get(pk=registry.zhang.pk).closed_on is None


def test_close_refuses_a_day_before_the_last_departure(emptied, cast):
    # 刘芳 left hers today (the day she had joined it): it cannot have closed on the 1st.
    message = _refusal(
        lambda: household_close(actor=cast.admin, household=emptied, reason="全户迁出", on=DAY)
    )

    assert message == "销户日期 2026-06-01 早于刘芳迁出本户的日期 2026-06-15"
    assert Household.objects.get(pk=emptied.pk).closed_on is None
    household_close(actor=cast.admin, household=emptied, reason="全户迁出", on=GONE)
    assert Household.objects.get(pk=emptied.pk).closed_on == GONE


def test_close_refuses_a_day_before_the_households_last_change_of_head(registry, cast):
    household_head_change(
        actor=cast.admin,
        household=registry.zhang,
        person=registry.ming,
        old_head_relation=Relation.PARENT,
        on=datetime.date(2026, 6, 10),
    )
    for person in Person.objects.filter(household=registry.zhang):
        set_status(person, PersonStatus.MOVED_OUT)

    message = _refusal(
        lambda: household_close(actor=cast.admin, household=registry.zhang, reason="迁出", on=DAY)
    )

    assert message == "销户日期 2026-06-01 早于本户的户主变更日期 2026-06-10"


def test_the_close_page_and_api_refuse_the_day_on_its_field(emptied, cast, client_for):
    page = client_for(cast.admin).post(
        f"/households/{emptied.pk}/close/", {"on": "2026-06-01", "reason": "全户迁出"}
    )
    api = Api(cast.admin).post(
        f"/households/{emptied.pk}/close", {"reason": "全户迁出", "on": "2026-06-01"}
    )

    message = "销户日期 2026-06-01 早于刘芳迁出本户的日期 2026-06-15"
    assert page.status_code == 200
    assert page.context["form"].errors == {"on": [message]}
    assert (api.status_code, api.json()["fields"]) == (422, {"on": [message]})
    assert Household.objects.get(pk=emptied.pk).closed_on is None


@pytest.mark.parametrize(
    "form", ["members/new", "categories/new", "dwelling/assess", "edit", "head"]
)
def test_a_closed_households_forms_lead_back_to_its_page(emptied, cast, client_for, form):
    household_close(actor=cast.admin, household=emptied, reason="全户迁出", on=GONE)
    client = client_for(cast.admin)
    url = f"/households/{emptied.pk}/{form}/"

    shown = client.get(url)
    sent = client.post(url, {"address": "新地址", "name": "王五"})
    asked = client.get(url, headers={"HX-Request": "true"})

    for response in (shown, sent):
        assert response.status_code == 302
        assert response["Location"] == f"/households/{emptied.pk}/"
    assert asked["HX-Redirect"] == f"/households/{emptied.pk}/"
    page = client.get(f"/households/{emptied.pk}/").content.decode()
    assert "该户已于 2026-06-15 销户，如需办理请先撤销销户" in page
    assert Household.objects.get(pk=emptied.pk).address == "文兴街12号院3单元"
    # Reopened, the form is there again.
    household_reopen(actor=cast.admin, household=emptied, reason="成员迁回")
    assert client.get(url).status_code == 200


def test_the_household_page_names_closing_and_reopening_in_its_history(emptied, cast, client_for):
    household_close(actor=cast.admin, household=emptied, reason="全户迁出", on=GONE)
    household_reopen(actor=cast.admin, household=emptied, reason="误销户")

    page = client_for(cast.admin).get(f"/households/{emptied.pk}/").content.decode()

    assert f"· 销户 #{emptied.pk}" in page and f"· 撤销销户 #{emptied.pk}" in page
    assert "销户户" not in page
    assert "销户日期：— → 2026-06-15" in page and "销户原因：— → 全户迁出" in page
    assert "销户日期：2026-06-15 → —" in page and "原因：— → 误销户" in page
    assert "closed_on" not in page and "closed_reason" not in page
