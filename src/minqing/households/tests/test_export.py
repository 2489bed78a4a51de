"""The roll export (export.py): the filtered list in the import's layout, masked unless the
user may see personal data and asks for it (audited), streamed in constant memory, and
re-importable unchanged when full."""

import datetime
import io
import re
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from minqing.audit.models import AuditLog
from minqing.households.importer import import_roll
from minqing.households.models import Category, Household, Membership, Person
from minqing.households.roll import HEADERS, NO_HEAD
from minqing.households.services import category_grant
from minqing.households.tests.conftest import (
    LI_ID,
    LIU_ID,
    ZHANG_ID,
    ZHANG_PHONE,
    assert_no_personal_data,
)
from minqing.households.tests.rolls import roll, write
from minqing.lib.excel import read_rows

EXPORT = reverse("roll:export")
FULL_ID = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")
FULL_PHONE = re.compile(r"(?<!\d)1\d{10}(?!\d)")


def _sheet_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "".join(
            archive.read(name).decode()
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml"
        )


def _get(client, **params):
    response = client.get(EXPORT, params)
    content = b"".join(response.streaming_content) if response.status_code == 200 else b""
    return response, content


def _rows(content: bytes) -> list[list[str]]:
    return [cells for _number, cells in read_rows(io.BytesIO(content), "export.xlsx")]


@pytest.fixture
def disabled_li(registry, today):
    """李四 holds a sensitive category (残疾二级)."""
    category_grant(
        actor=None,
        category=Category.objects.get(code="disabled"),
        person=registry.li,
        start=datetime.date(2024, 1, 1),
        grade="二级",
    )
    return registry


def test_the_export_is_masked_by_default(cast, client_for, registry):
    response, content = _get(client_for(cast.admin))

    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    assert "attachment" in response["Content-Disposition"]
    xml = _sheet_xml(content)
    assert_no_personal_data(xml)
    assert not FULL_ID.search(xml)
    assert not FULL_PHONE.search(xml)
    assert "130681********" in xml and "138****5678" in xml
    assert not AuditLog.objects.filter(action="export_personal").exists()


def test_the_export_has_the_import_layout_one_row_per_person(cast, client_for, registry):
    _response, content = _get(client_for(cast.admin))

    rows = _rows(content)
    assert rows[0] == HEADERS
    people = rows[1:]
    assert len(people) == 4  # 张三's three and 刘芳; not the outsider's 张三
    head = people[0] if people[0][2] == "张三" else people[1]
    assert head[:3] == ["张三", head[1], "张三"]
    assert head[4] == "户主" and head[5] == "男"
    assert head[9] == "万全庄村（130681107228）"
    assert head[13:17] == ["C", "2026-05-20", "洪涝", "是"]


def test_sensitive_categories_only_for_users_who_may_see_personal_data(
    cast, client_for, disabled_li
):
    _r, for_admin = _get(client_for(cast.admin))
    _r, for_viewer = _get(client_for(cast.viewer))

    assert "残疾二级" in _sheet_xml(for_admin)
    assert "残疾" not in _sheet_xml(for_viewer)
    assert_no_personal_data(_sheet_xml(for_viewer))


def test_full_values_need_the_permission_and_leave_an_audit_row(cast, client_for, registry):
    response, content = _get(client_for(cast.admin), full="1")

    assert response.status_code == 200
    xml = _sheet_xml(content)
    assert ZHANG_ID in xml and ZHANG_PHONE in xml
    audit = AuditLog.objects.get(action="export_personal")
    assert audit.actor == cast.admin
    assert audit.changes["rows"] == [None, 4]

    refused, _content = _get(client_for(cast.dept), full="1")
    assert refused.status_code == 403
    assert AuditLog.objects.filter(action="export_personal").count() == 1


def test_the_export_takes_the_list_filters(cast, client_for, registry):
    client = client_for(cast.admin)

    _r, graded = _get(client, grade="C")
    _r, village = _get(client, region="130681001001")
    _r, searched = _get(client, q="刘")
    bad, _content = _get(client, grade="E")

    assert {row[2] for row in _rows(graded)[1:]} == {"张三", "李四", "张小明"}
    assert [row[2] for row in _rows(village)[1:]] == ["刘芳"]
    assert [row[2] for row in _rows(searched)[1:]] == ["刘芳"]
    assert bad.status_code == 400
    assert "危房等级“E”不存在" in bad.content.decode()


def test_the_export_stays_within_reach(cast, client_for, registry):
    _r, for_village = _get(client_for(cast.village))
    _r, for_outsider = _get(client_for(cast.outsider))

    assert {row[2] for row in _rows(for_village)[1:]} == {"张三", "李四", "张小明"}
    assert [row[9] for row in _rows(for_outsider)[1:]] == ["万全庄村（131023103202）"]


def test_a_full_export_reimports_unchanged(cast, client_for, disabled_li, tmp_path, today):
    _r, content = _get(client_for(cast.admin), full="1")
    path = tmp_path / "export.xlsx"
    path.write_bytes(content)
    before = list(Person.objects.values().order_by("id"))

    result = import_roll(actor=cast.admin, source=path, filename=path.name)

    assert [r.as_dict() for r in result.refusals] == []
    assert result.people.as_dict() == {"created": 0, "updated": 0, "unchanged": 4, "refused": 0}
    assert result.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 2, "refused": 0}
    assert list(Person.objects.values().order_by("id")) == before


def test_a_household_without_a_head_is_exported_as_such(cast, client_for, headless):
    _r, content = _get(client_for(cast.admin), full="1")

    rows = _rows(content)[1:]
    member = next(row for row in rows if row[2] == "乙成员")
    assert member[:2] == [NO_HEAD, ""]  # not blank: blank reads as the household above
    assert member[4] == "子女"


def test_an_export_with_a_household_without_a_head_reimports_unchanged(
    cast, client_for, headless, tmp_path
):
    _r, content = _get(client_for(cast.admin), full="1")
    path = tmp_path / "export.xlsx"
    path.write_bytes(content)
    people = list(Person.objects.values().order_by("id"))
    memberships = list(Membership.objects.values().order_by("id"))

    result = import_roll(actor=cast.admin, source=path, filename=path.name)

    assert [r.as_dict() for r in result.refusals] == []
    assert result.people.as_dict() == {"created": 0, "updated": 0, "unchanged": 6, "refused": 0}
    assert result.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 3, "refused": 0}
    assert list(Person.objects.values().order_by("id")) == people
    assert list(Membership.objects.values().order_by("id")) == memberships
    member = Person.objects.get(name="乙成员")
    assert (member.household_id, member.relation) == (headless.pk, "child")
    assert Household.objects.get(pk=headless.pk).member_count == 1


def test_a_masked_export_is_refused_by_the_import(cast, client_for, registry, tmp_path, today):
    _r, content = _get(client_for(cast.admin))
    path = tmp_path / "masked.xlsx"
    path.write_bytes(content)

    result = import_roll(actor=cast.admin, source=path, filename=path.name, dry_run=True)

    reasons = {r.reason for r in result.refusals}
    assert "身份证号已脱敏，无法导入：请使用含完整身份证号的导出" in reasons
    assert all(LI_ID not in r.value and LIU_ID not in r.value for r in result.refusals)


def test_an_imported_roll_exports_back_as_it_was(cast, client_for, today, tmp_path):
    rows = roll(5)
    import_roll(actor=cast.admin, source=write(tmp_path / "r.xlsx", rows), filename="r.xlsx")

    _r, content = _get(client_for(cast.admin), full="1")

    exported = _rows(content)[1:]
    by_id = {row[3]: row for row in exported}
    for row in rows:
        mine = by_id[row[3]]
        # Sex and birth date are filled in from the ID number.
        assert [v for i, v in enumerate(mine) if i not in (5, 6)] == [
            v for i, v in enumerate(row) if i not in (5, 6)
        ]


def test_the_export_queries_do_not_grow_with_the_households(cast, client_for, today, tmp_path):
    client = client_for(cast.admin)
    import_roll(actor=cast.admin, source=write(tmp_path / "a.xlsx", roll(3)), filename="a.xlsx")
    with CaptureQueriesContext(connection) as few:
        _get(client)
    import_roll(
        actor=cast.admin, source=write(tmp_path / "b.xlsx", roll(30, start=100)), filename="b.xlsx"
    )
    with CaptureQueriesContext(connection) as many:
        _response, content = _get(client)

    assert len(_rows(content)) == 1 + 99
    assert len(many.captured_queries) == len(few.captured_queries)


def test_export_is_get_only_and_needs_login(cast, client_for, client):
    assert client_for(cast.admin).post(EXPORT).status_code == 405
    assert client.get(EXPORT).status_code == 302


def test_the_list_page_links_to_the_export_of_the_same_filter(cast, client_for):
    html = client_for(cast.village).get("/households/", {"grade": "D"}).content.decode()
    assert 'href="/households/roll/export.xlsx?grade=D"' in html
    assert "full=1" not in html  # the village cadre may not see personal data in full


def test_a_user_with_the_personal_data_permission_is_offered_the_full_export(cast, client_for):
    html = client_for(cast.admin).get("/households/").content.decode()
    assert "full=1" in html
