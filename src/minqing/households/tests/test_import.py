"""The household roll import (importer.py): every row checked, all or nothing, idempotent,
updates by ID number, within the importing user's reach; and the headline case of issue 3:
a 1,000-row roll with 37 broken rows is refused whole with 37 precise reasons."""

import datetime
import io
import logging
import zipfile
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from minqing.audit.models import AuditLog
from minqing.households import hooks
from minqing.households.export import roll_rows
from minqing.households.filters import household_filter_from_params
from minqing.households.importer import RollError, import_roll, parse_roll
from minqing.households.models import (
    Assessment,
    Category,
    CategoryGrant,
    Dwelling,
    Household,
    Membership,
    Person,
    PersonStatus,
    Relation,
)
from minqing.households.people import id_hash
from minqing.households.roll import HEADERS, NO_HEAD
from minqing.households.services import category_grant, household_close, person_move
from minqing.households.tests.conftest import (
    LI_ID,
    MING_ID,
    YI_MEMBER_ID,
    ZHANG_ID,
)
from minqing.households.tests.rolls import (
    VILLAGE,
    person_id,
    roll,
    write,
    xlsx_bytes,
    xlsx_with,
)
from minqing.lib.crypto import decrypt
from minqing.lib.masking import mask_id_number
from minqing.testing import set_status

COL = {header: index for index, header in enumerate(HEADERS)}  # 0-based
LETTER = {header: chr(65 + index) for index, header in enumerate(HEADERS)}
WENXINGJIE = "文兴街社区（130681001001）"


def _import(user, path, **kwargs):
    return import_roll(actor=user, source=path, filename=path.name, **kwargs)


def _reasons(result):
    return [(r.row, r.column, r.value, r.reason) for r in result.refusals]


def _person(number: str) -> Person:
    return Person.objects.get(id_hash=id_hash(number))


# --- A valid roll -----------------------------------------------------------------------------


def test_a_valid_roll_creates_households_people_memberships_dwellings_and_categories(
    cast, today, tmp_path
):
    path = write(tmp_path / "roll.xlsx", roll(20))

    result = _import(cast.admin, path)

    assert _reasons(result) == []
    assert result.applied
    assert result.counts() == {
        "rows": 60,
        "people": {"created": 60, "updated": 0, "unchanged": 0, "refused": 0},
        "households": {"created": 20, "updated": 0, "unchanged": 0, "refused": 0},
        "households_in_part": 0,
    }
    assert Household.objects.count() == 20
    assert Person.objects.count() == 60
    assert Membership.objects.filter(joined_on=today, left_on=None).count() == 60
    assert Dwelling.objects.count() == 20
    household = Household.objects.get(head__id_hash=id_hash(person_id(0)))
    assert household.region_id == "130681107228"
    assert household.member_count == 3
    assert household.head_name == household.head.name
    assert household.address == "万全庄村1号"
    assert household.dwelling.grade == "C"
    assert household.dwelling.assessed_on == datetime.date(2023, 9, 1)
    assert household.dwelling.cause == "flood"
    assert household.dwelling.ground_floor_flooded
    assert Assessment.objects.filter(dwelling=household.dwelling, grade="C").count() == 1
    dibao = CategoryGrant.objects.get(household=household, category__code="dibao")
    assert (dibao.start, dibao.end) == (today, None)
    disabled = CategoryGrant.objects.get(person__household=household, category__code="disabled")
    assert disabled.grade == "二级"
    head = household.head
    assert head.relation == "head" and decrypt(head.id_cipher) == person_id(0)
    assert head.phone == "13900000000"
    assert head.birth_date == datetime.date(1940, 1, 1)


def test_one_audit_row_per_import_with_the_counts_the_file_and_its_hash(cast, today, tmp_path):
    path = write(tmp_path / "roll.xlsx", roll(5))

    result = _import(cast.admin, path)

    rows = AuditLog.objects.filter(entity="households.import")
    assert rows.count() == 1
    row = rows.get()
    assert (row.action, row.source, row.actor_id) == ("import", "import", cast.admin.pk)
    assert row.changes["file"] == [None, "roll.xlsx"]
    assert row.changes["sha256"] == [None, result.sha256]
    assert row.changes["people"][1]["created"] == 15
    assert not AuditLog.objects.filter(entity="households.person").exists()
    assert person_id(0) not in str(row.changes)


def test_reimporting_the_same_file_changes_nothing(cast, today, tmp_path):
    path = write(tmp_path / "roll.xlsx", roll(10))
    _import(cast.admin, path)
    before = list(Person.objects.values().order_by("id"))

    again = _import(cast.admin, path)

    assert again.people.as_dict() == {"created": 0, "updated": 0, "unchanged": 30, "refused": 0}
    assert again.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 10, "refused": 0}
    assert list(Person.objects.values().order_by("id")) == before
    assert CategoryGrant.objects.count() == 1 + 2  # 低保 of household 0, 残疾 in households 0 and 7
    assert Assessment.objects.count() == 1


def test_a_corrected_phone_updates_the_person_found_by_id_number(cast, today, tmp_path):
    rows = roll(3)
    write(tmp_path / "roll.xlsx", rows)
    _import(cast.admin, tmp_path / "roll.xlsx")
    rows[1][COL["联系电话"]] = "13611112222"
    path = write(tmp_path / "corrected.xlsx", rows)

    result = _import(cast.admin, path)

    assert result.people.as_dict() == {"created": 0, "updated": 1, "unchanged": 8, "refused": 0}
    assert result.households.updated == 0
    assert _person(rows[1][COL["身份证号"]]).phone == "13611112222"
    assert Person.objects.count() == 9


def test_a_corrected_file_updates_names_address_grade_and_categories(cast, today, tmp_path):
    rows = roll(2)
    write(tmp_path / "roll.xlsx", rows)
    _import(cast.admin, tmp_path / "roll.xlsx")
    for row in rows[:3]:  # household 0, all rows: the household's cells agree
        row[COL["家庭住址"]] = "万全庄村新街1号"
        row[COL["户类别"]] = "特困"
        row[COL["危房等级"]] = "D"
        row[COL["鉴定日期"]] = "2026-06-01"
    rows[2][COL["姓名"]] = "王改名"
    path = write(tmp_path / "corrected.xlsx", rows)

    result = _import(cast.admin, path)

    assert result.people.as_dict() == {"created": 0, "updated": 1, "unchanged": 5, "refused": 0}
    assert result.households.as_dict() == {"created": 0, "updated": 1, "unchanged": 1, "refused": 0}
    household = Household.objects.get(head__id_hash=id_hash(person_id(0)))
    assert household.address == "万全庄村新街1号"
    assert household.dwelling.grade == "D"
    assert list(household.dwelling.assessments.values_list("grade", flat=True)) == ["D", "C"]
    held = CategoryGrant.objects.filter(household=household)
    assert {(g.category.code, g.end) for g in held} == {
        ("dibao", today),  # started today by the first import, so it ends today
        ("tekun", None),
    }
    assert _person(rows[2][COL["身份证号"]]).name == "王改名"


def test_an_empty_cell_never_erases_what_is_stored(cast, today, tmp_path):
    rows = roll(1)
    write(tmp_path / "roll.xlsx", rows)
    _import(cast.admin, tmp_path / "roll.xlsx")
    for row in rows:
        for header in (
            "联系电话",
            "人员状态",
            "家庭住址",
            "危房等级",
            "鉴定日期",
            "受损原因",
            "首层进水",
        ):
            row[COL[header]] = ""

    result = _import(cast.admin, write(tmp_path / "blanks.xlsx", rows))

    assert result.people.updated == 0 and result.households.updated == 0
    head = _person(person_id(0))
    assert head.phone == "13900000000"
    assert head.household.address == "万全庄村1号"
    assert head.household.dwelling.grade == "C"


def test_a_person_moved_to_another_household_keeps_the_history(cast, today, tmp_path):
    rows = roll(2)
    write(tmp_path / "roll.xlsx", rows)
    _import(cast.admin, tmp_path / "roll.xlsx")
    moved = rows.pop(2)  # household 0's child now lives in household 1
    moved[COL["户主姓名"]], moved[COL["户主身份证号"]] = rows[2][0], rows[2][1]
    moved[COL["家庭住址"]], moved[COL["户类别"]] = rows[2][COL["家庭住址"]], ""
    moved[COL["危房等级"]] = moved[COL["鉴定日期"]] = moved[COL["受损原因"]] = ""
    moved[COL["首层进水"]] = ""
    rows.append(moved)

    result = _import(cast.admin, write(tmp_path / "moved.xlsx", rows))

    assert _reasons(result) == []
    assert result.people.as_dict() == {"created": 0, "updated": 1, "unchanged": 5, "refused": 0}
    person = _person(moved[COL["身份证号"]])
    old, new = (Household.objects.get(head__id_hash=id_hash(person_id(n))) for n in (0, 3))
    assert person.household == new
    assert list(person.memberships.order_by("id").values_list("household_id", "left_on")) == [
        (old.pk, today),
        (new.pk, None),
    ]
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.member_count, new.member_count) == (2, 4)


def test_reimporting_a_file_that_ended_categories_today_changes_nothing(
    cast, today, tmp_path, time_machine, monkeypatch
):
    rows = roll(10)
    _import(cast.admin, write(tmp_path / "roll.xlsx", rows))
    for row in rows[:3]:  # household 0 no longer holds 低保, started today by the import
        row[COL["户类别"]] = ""
    rows[2][COL["人员类别"]] = ""  # nor its third member 残疾二级
    fixed = write(tmp_path / "fixed.xlsx", rows)
    first = _import(cast.admin, fixed)
    assert (first.households.updated, first.people.updated) == (1, 1)
    ended = CategoryGrant.objects.filter(end=today).values_list("category__code", flat=True)
    assert sorted(ended) == ["dibao", "disabled"]
    time_machine.move_to(datetime.datetime(2026, 6, 15, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    households = list(Household.objects.values().order_by("id"))
    people = list(Person.objects.values().order_by("id"))
    grants = list(CategoryGrant.objects.values().order_by("id"))
    told = []
    monkeypatch.setattr(hooks, "household_changed", [told.append])

    again = _import(cast.admin, fixed)

    assert again.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 10, "refused": 0}
    assert again.people.as_dict() == {"created": 0, "updated": 0, "unchanged": 30, "refused": 0}
    assert list(Household.objects.values().order_by("id")) == households  # updated_at too
    assert list(Person.objects.values().order_by("id")) == people
    assert list(CategoryGrant.objects.values().order_by("id")) == grants
    assert told == []  # nothing changed for outreach to follow


# --- The headline: 1,000 rows, 37 broken --------------------------------------------------


def _broken_roll(tmp_path, *, broken: bool):
    """333 households of 3 and one of 1: 1,000 rows. With ``broken``, 36 member rows each
    with one fault, and the header's last cell merged over an extra column."""
    rows = roll(333) + roll(1, size=1, start=999)
    assert len(rows) == 1000
    expected = []  # (sheet row, column letter, reason fragment)
    formulas = {}
    twice = -1
    if broken:
        members = [i for i in range(999) if i % 3][:36]  # rows of spouses and children
        faults = (
            ["check"] * 6
            + ["village"] * 5
            + ["twice"] * 5
            + ["name"] * 5
            + ["future"] * 5
            + ["formula"] * 5
            + ["phone"] * 5
        )
        for index, fault in zip(members, faults, strict=True):
            row, sheet_row = rows[index], index + 2
            if fault == "check":
                number = row[COL["身份证号"]]
                row[COL["身份证号"]] = number[:17] + ("0" if number[17] != "0" else "1")
                expected.append((sheet_row, LETTER["身份证号"], "校验位错误"))
            elif fault == "village":
                row[COL["所属村（社区）"]] = "不存在村"
                expected.append((sheet_row, LETTER["所属村（社区）"], "找不到村（社区）“不存在村”"))
            elif fault == "twice":
                twice += 1
                row[COL["身份证号"]] = person_id(3 * twice)  # the head of an earlier household
                row[COL["姓名"]] = "重复人"
                expected.append((sheet_row, LETTER["身份证号"], "另一户"))
            elif fault == "name":
                row[COL["姓名"]] = ""
                expected.append((sheet_row, LETTER["姓名"], "姓名不能为空"))
            elif fault == "future":
                row[COL["出生日期"]] = "2030-01-01"
                expected.append((sheet_row, LETTER["出生日期"], "晚于今天"))
            elif fault == "formula":
                formulas[(sheet_row, COL["联系电话"] + 1)] = ('="1390000"&"1234"', "13900001234")
                row[COL["联系电话"]] = ""
                expected.append((sheet_row, LETTER["联系电话"], "公式"))
            elif fault == "phone":
                row[COL["联系电话"]] = "12345"
                expected.append((sheet_row, LETTER["联系电话"], "联系电话“12345”"))
    header = list(HEADERS)
    merged = ()
    if broken:
        header = [*HEADERS, ""]
        merged = ("Q1:R1",)
        expected.append((1, "Q:R", "合并单元格"))
    path = xlsx_with(
        tmp_path / f"roll-{'broken' if broken else 'fixed'}.xlsx",
        rows,
        header=header,
        merged=merged,
        formulas=formulas,
    )
    return path, sorted(expected)


def test_a_roll_with_37_broken_rows_is_refused_whole_with_37_precise_reasons(cast, today, tmp_path):
    path, expected = _broken_roll(tmp_path, broken=True)

    result = _import(cast.admin, path)

    assert not result.applied
    assert len(result.refusals) == 37
    got = sorted((r.row, r.column, r.reason) for r in result.refusals)
    for (row, column, fragment), (got_row, got_column, reason) in zip(expected, got, strict=True):
        assert (got_row, got_column) == (row, column), reason
        assert fragment in reason, (row, reason)
    assert all(r.value for r in result.refusals if "不能为空" not in r.reason)
    assert result.people.refused == 36
    assert Person.objects.count() == Household.objects.count() == 0
    assert not AuditLog.objects.filter(entity="households.import").exists()

    fixed, _expected = _broken_roll(tmp_path, broken=False)
    created = _import(cast.admin, fixed)

    assert _reasons(created) == []
    assert created.people.created == 1000
    assert Person.objects.count() == 1000
    assert Household.objects.count() == 334

    again = _import(cast.admin, fixed)
    assert (again.people.created, again.people.updated, again.people.unchanged) == (0, 0, 1000)


def test_refused_values_are_stored_masked(cast, today, tmp_path):
    rows = roll(1)
    number = rows[1][COL["身份证号"]]
    rows[1][COL["身份证号"]] = number[:17] + ("1" if number[17] == "0" else "0")
    rows[1][COL["联系电话"]] = "1390000000"  # ten digits
    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows))

    text = str([r.as_dict() for r in result.refusals])
    assert rows[1][COL["身份证号"]] not in text
    assert mask_id_number(rows[1][COL["身份证号"]]) in text


def test_partial_imports_the_rows_without_errors(cast, today, tmp_path):
    rows = roll(3)
    rows[1][COL["姓名"]] = ""  # a member: only this row is refused
    rows[3][COL["身份证号"]] = "123"  # a head: its members are refused with it

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), partial=True)

    assert result.applied
    assert result.people.as_dict() == {"created": 5, "updated": 0, "unchanged": 0, "refused": 4}
    assert Person.objects.count() == 5
    assert [(r.row, r.column) for r in result.refusals] == [(3, "C"), (5, "D"), (6, ""), (7, "")]
    assert "本户户主行（第 5 行）有错误" in result.refusals[2].reason
    assert AuditLog.objects.get(entity="households.import").changes["partial"] == [None, True]


# --- Rows, cells and households -------------------------------------------------------------


def _one_household(**cells):
    rows = roll(1)
    for header, value in cells.items():
        rows[1][COL[header]] = value
    return rows


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("身份证号", "130681********0021", "身份证号已脱敏，无法导入"),
        ("联系电话", "139****0001", "联系电话已脱敏"),
        ("与户主关系", "邻居", "与户主关系“邻居”不是可选值"),
        ("人员状态", "出差", "人员状态“出差”不是可选值"),
        ("性别", "女", "与身份证号不符"),
        ("出生日期", "1999-02-30", "不是有效日期"),
        ("人员类别", "残疾", "“残疾”须写明等级"),
        ("人员类别", "残疾五级", "等级“五级”不是可选值，应为一级、二级、三级、四级"),
        ("人员类别", "低保", "“低保”是户类别，请填在“户类别”列"),
        ("人员类别", "外星人", "类别“外星人”不存在"),
        ("危房等级", "E", "危房等级“E”应为 A、B、C 或 D"),
        ("首层进水", "也许", "应填“是”或“否”"),
        ("鉴定日期", "2027-01-01", "鉴定日期 2027-01-01 晚于今天"),
        ("家庭住址", "别处", "与户主行（第 2 行）“家庭住址”不一致"),
        ("所属村（社区）", WENXINGJIE, "与户主行（第 2 行）“所属村（社区）”不一致"),
        ("户主姓名", "", None),  # the nearest head above is the household
    ],
)
def test_each_bad_cell_is_refused_with_its_reason(cast, today, tmp_path, header, value, reason):
    path = write(tmp_path / "roll.xlsx", _one_household(**{header: value}))

    result = _import(cast.admin, path, dry_run=True)

    if reason is None:
        assert _reasons(result) == []
        return
    assert [(r.row, r.column) for r in result.refusals] == [(3, LETTER[header])]
    assert reason in result.refusals[0].reason


def test_a_member_row_without_a_head_above_is_refused(cast, today, tmp_path):
    rows = roll(1)[1:]

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), dry_run=True)

    assert result.refusals[0].row == 2
    assert "户主身份证号在本表和台账中都找不到对应的户主" in result.refusals[0].reason


def _exported(user, **params) -> list[list[str]]:
    filters, _errors = household_filter_from_params(user, params)
    return list(roll_rows(user, filters, full=True))


def test_an_older_export_cannot_move_the_members_of_a_household_without_a_head(
    cast, today, headless, tmp_path
):
    # An export from before NO_HEAD left the head cells of 乙成员's row blank, right under
    # 张三's rows, with the same village and address: by its place alone it read as his.
    rows = [[("" if cell == NO_HEAD else cell) for cell in row] for row in _exported(cast.admin)]
    number = next(n for n, row in enumerate(rows, start=2) if row[COL["姓名"]] == "乙成员")
    assert rows[number - 3][COL["户主身份证号"]] == ZHANG_ID
    memberships = list(Membership.objects.values().order_by("id"))

    result = _import(cast.admin, write(tmp_path / "older.xlsx", rows))

    assert not result.applied
    assert [(r.row, r.column, r.header) for r in result.refusals] == [
        (number, LETTER["户主身份证号"], "户主身份证号")
    ]
    assert "此人在台账中属于另一户，本行没有填写户主身份证号" in result.refusals[0].reason
    assert _person(YI_MEMBER_ID).household_id == headless.pk
    assert list(Membership.objects.values().order_by("id")) == memberships


def test_rows_marked_without_a_head_are_only_people_of_such_a_household(
    cast, today, headless, tmp_path
):
    rows = _exported(cast.admin)
    newcomer = list(rows[-1])  # 乙成员's row, (无户主)
    newcomer[COL["姓名"]], newcomer[COL["身份证号"]] = "新来者", person_id(100)
    newcomer[COL["性别"]] = newcomer[COL["出生日期"]] = ""
    below = list(newcomer)  # a row under it that names no head
    below[COL["户主姓名"]] = ""
    below[COL["姓名"]], below[COL["身份证号"]] = "又一人", person_id(101)
    rows += [newcomer, below]
    last = len(rows) + 1

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), dry_run=True)

    assert [(r.row, r.column) for r in result.refusals] == [
        (last - 1, LETTER["户主姓名"]),
        (last, ""),
    ]
    assert "户主姓名为“（无户主）”，但此人不在台账的任何一户中" in result.refusals[0].reason
    assert f"上方第 {last - 1} 行是无户主的户，本行不能归入其中" in result.refusals[1].reason
    assert result.people.unchanged == 6  # 乙成员 among them, in 乙's household


@pytest.mark.parametrize("cells", ["relation", "head"])
def test_naming_a_member_of_a_household_without_a_head_its_head_is_a_head_change(
    cast, today, headless, tmp_path, cells
):
    # 乙户主 moved out; the clerk marks 乙成员 户主 in the export, in the relation cell only or
    # in the head's cells too.
    rows = _exported(cast.admin)
    row = next(row for row in rows if row[COL["姓名"]] == "乙成员")
    row[COL["与户主关系"]] = "户主"
    if cells == "head":
        row[COL["户主姓名"]], row[COL["户主身份证号"]] = "乙成员", YI_MEMBER_ID
    path = write(tmp_path / "roll.xlsx", rows)
    member = _person(YI_MEMBER_ID)

    dry = _import(cast.admin, path, dry_run=True)
    result = _import(cast.admin, path)
    people = list(Person.objects.values().order_by("id"))
    memberships = list(Membership.objects.values().order_by("id"))
    again = _import(cast.admin, path)

    assert _reasons(dry) == []
    assert dry.households.as_dict() == {"created": 0, "updated": 1, "unchanged": 2, "refused": 0}
    assert dry.people.as_dict() == {"created": 0, "updated": 1, "unchanged": 5, "refused": 0}
    assert result.applied and result.counts() == dry.counts()
    assert Household.objects.count() == 4  # 张三's, 刘芳's, 乙's and the other county's
    household = Household.objects.get(pk=headless.pk)
    assert (household.head_id, household.head_name, household.member_count) == (
        member.pk,
        "乙成员",
        1,
    )
    assert [
        (m.household_id, m.relation, m.left_on, m.reason)
        for m in Membership.objects.filter(person=member).order_by("id")
    ] == [
        (headless.pk, "child", today, "户主变更"),
        (headless.pk, "head", None, "户主变更"),
    ]
    change = AuditLog.objects.get(action="head_change", entity_id=str(headless.pk))
    assert (change.source, change.actor) == ("import", cast.admin)
    assert change.changes["head_name"] == [None, "乙成员"]
    assert _reasons(again) == []
    assert again.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 3, "refused": 0}
    assert again.people.as_dict() == {"created": 0, "updated": 0, "unchanged": 6, "refused": 0}
    assert list(Person.objects.values().order_by("id")) == people
    assert list(Membership.objects.values().order_by("id")) == memberships
    assert AuditLog.objects.filter(action="head_change").count() == 1


def test_the_rows_still_marked_without_a_head_get_their_relation_to_the_new_one(
    cast, today, registry, tmp_path
):
    # 张三 moved out; the clerk names his son 户主 and leaves his wife's row as exported.
    person_move(actor=None, person=registry.head, household=registry.liu, relation=Relation.SPOUSE)
    rows = _exported(cast.admin)
    son = next(row for row in rows if row[COL["姓名"]] == "张小明")
    son[COL["与户主关系"]] = "户主"
    wife = next(row for row in rows if row[COL["姓名"]] == "李四")
    assert (wife[COL["户主姓名"]], wife[COL["与户主关系"]]) == (NO_HEAD, "配偶")
    path = write(tmp_path / "roll.xlsx", rows)

    result = _import(cast.admin, path)
    people = list(Person.objects.values().order_by("id"))
    again = _import(cast.admin, path)

    assert _reasons(result) == [] and result.applied
    assert result.people.updated == 2  # 张小明 户主, 李四 his mother
    zhang = Household.objects.get(pk=registry.zhang.pk)
    assert (zhang.head_id, zhang.head_name) == (registry.ming.pk, "张小明")
    assert _person(LI_ID).relation == "parent"
    assert Membership.objects.filter(person=registry.li, reason="户主变更").count() == 2
    change = AuditLog.objects.get(action="head_change", entity_id=str(zhang.pk))
    assert change.changes["relations"][1] == [{"name": "李四", "relation": "parent"}]
    assert _reasons(again) == []
    assert (again.people.updated, again.households.updated) == (0, 0)
    assert list(Person.objects.values().order_by("id")) == people


def test_two_rows_cannot_both_name_the_head_of_a_household_without_one(
    cast, today, registry, tmp_path
):
    person_move(actor=None, person=registry.head, household=registry.liu, relation=Relation.SPOUSE)
    rows = _exported(cast.admin)
    for row in rows:
        if row[COL["姓名"]] in ("张小明", "李四"):
            row[COL["与户主关系"]] = "户主"
    second = max(n for n, row in enumerate(rows, start=2) if row[COL["姓名"]] in ("张小明", "李四"))

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), dry_run=True)

    assert [(r.row, r.column) for r in result.refusals] == [(second, LETTER["与户主关系"])]
    assert "一户只能有一位户主" in result.refusals[0].reason
    assert result.households.created == 0


@pytest.mark.parametrize(
    ("head_name", "reason"),
    [
        ("", None),
        ("王秀英", None),  # the head above
        (" 王 秀英 ", None),
        ("李四", "户主姓名“李四”与上方户主行（第 2 行）的户主“王秀英”不同"),
    ],
)
def test_a_row_without_the_head_id_joins_the_head_above_unless_it_names_another(
    cast, today, tmp_path, head_name, reason
):
    rows = roll(1)
    extra = list(rows[1])
    extra[COL["户主姓名"]], extra[COL["户主身份证号"]] = head_name, ""
    extra[COL["姓名"]], extra[COL["身份证号"]] = "新成员", person_id(100)
    extra[COL["联系电话"]] = ""
    rows.append(extra)

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), dry_run=True)

    if reason is None:
        assert _reasons(result) == []
        assert result.people.created == 4 and result.households.created == 1
        return
    assert [(r.row, r.column) for r in result.refusals] == [(5, LETTER["户主姓名"])]
    assert reason in result.refusals[0].reason


def test_members_join_an_existing_household_by_the_head_id_number(cast, today, registry, tmp_path):
    new_id = person_id(5)
    row = [
        "张三",
        ZHANG_ID,
        "张新",
        new_id,
        "孙子女",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", [row]))

    assert _reasons(result) == []
    assert result.households.updated == 1
    person = _person(new_id)
    assert person.household == registry.zhang
    registry.zhang.refresh_from_db()
    assert registry.zhang.member_count == 4


def test_a_person_of_another_household_in_the_registry_moves_by_import(
    cast, today, registry, tmp_path
):
    row = [
        "新户主",
        person_id(7),
        "新户主",
        person_id(7),
        "户主",
        "",
        "",
        "",
        "",
        VILLAGE,
        "新址",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    li = [
        "新户主",
        person_id(7),
        "李四",
        LI_ID,
        "配偶",
        "",
        "",
        "",
        "",
        VILLAGE,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", [row, li]))

    assert result.people.as_dict() == {"created": 1, "updated": 1, "unchanged": 0, "refused": 0}
    registry.li.refresh_from_db()
    assert registry.li.household.head_name == "新户主"
    registry.zhang.refresh_from_db()
    assert registry.zhang.member_count == 2


def test_a_village_name_must_be_unique_within_reach(cast, today, tmp_path):
    rows = _one_household()
    for row in rows:
        row[COL["所属村（社区）"]] = "万全庄村"

    as_admin = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), dry_run=True)
    as_outsider = _import(cast.outsider, write(tmp_path / "roll.xlsx", rows), dry_run=True)

    assert _reasons(as_admin) == []  # one 万全庄村 in 涿州市
    assert _reasons(as_outsider) == []  # and one in 永清县: the outsider's
    assert as_outsider.people.created == 3


def test_a_village_cadre_importing_a_row_of_another_village_is_refused_for_that_row(
    cast, today, tmp_path
):
    rows = roll(1) + roll(1, size=1, start=10, region=WENXINGJIE)

    result = _import(cast.village, write(tmp_path / "roll.xlsx", rows), partial=True)

    assert [(r.row, r.column) for r in result.refusals] == [(5, LETTER["所属村（社区）"])]
    assert "不在您的管辖范围内" in result.refusals[0].reason
    assert result.people.created == 3
    assert set(Person.objects.values_list("region_id", flat=True)) == {"130681107228"}


def test_a_village_cadre_may_leave_out_the_village_column(cast, today, tmp_path):
    rows = [row[:9] + row[10:] for row in roll(2)]
    header = HEADERS[:9] + HEADERS[10:]

    result = _import(cast.village, write(tmp_path / "roll.xlsx", rows, header=header))

    assert _reasons(result) == []
    assert set(Household.objects.values_list("region_id", flat=True)) == {"130681107228"}


def test_a_person_registered_out_of_reach_is_refused(cast, today, registry, tmp_path):
    rows = _one_household(身份证号=registry.other.head.id_number)
    rows[1][COL["姓名"]] = "张三"

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), dry_run=True)

    assert "管辖范围以外" in result.refusals[0].reason


def test_a_read_only_user_cannot_import(cast, tmp_path):
    with pytest.raises(PermissionDenied):
        _import(cast.viewer, write(tmp_path / "roll.xlsx", roll(1)))


def test_a_dry_run_writes_nothing(cast, today, tmp_path):
    result = _import(cast.admin, write(tmp_path / "roll.xlsx", roll(4)), dry_run=True)

    assert result.people.created == 12 and result.households.created == 4
    assert not result.applied
    assert Person.objects.count() == 0
    assert not AuditLog.objects.filter(entity="households.import").exists()


# --- Headers ----------------------------------------------------------------------------------


def test_header_aliases_and_a_title_row_are_understood(cast, today, tmp_path):
    header = list(HEADERS)
    header[COL["身份证号"]] = "公民身份号码"
    header[COL["联系电话"]] = "手机号"
    header[COL["所属村（社区）"]] = "所属村(社区)"
    path = xlsx_with(tmp_path / "roll.xlsx", roll(2), header=header, title="万全庄村户籍花名册")

    result = _import(cast.admin, path)

    assert _reasons(result) == []
    assert result.header_row == 2
    assert result.people.created == 6


def test_a_missing_required_column_stops_the_import(cast, tmp_path):
    rows = [row[:3] + row[4:] for row in roll(1)]
    header = HEADERS[:3] + HEADERS[4:]

    with pytest.raises(RollError, match="缺少必填列“身份证号”"):
        _import(cast.admin, write(tmp_path / "roll.xlsx", rows, header=header))


def test_an_unnamed_column_with_data_is_refused(cast, today, tmp_path):
    rows = [[*row, "备注内容"] for row in roll(1)]

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows, header=[*HEADERS, ""]))

    assert [(r.row, r.column) for r in result.refusals] == [(1, "R")]
    assert "有数据但没有列名" in result.refusals[0].reason


def test_a_formula_in_an_ignored_column_is_fine(cast, today, tmp_path):
    header = ["序号", *HEADERS]
    rows = [["", *row] for row in roll(1)]
    path = xlsx_with(
        tmp_path / "roll.xlsx", rows, header=header, formulas={(2, 1): ("=ROW()-1", 1)}
    )

    assert _reasons(_import(cast.admin, path)) == []


# --- Formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".ods", ".csv"])
def test_xlsx_ods_and_csv_read_the_same(cast, today, tmp_path, suffix):
    path = write(tmp_path / f"roll{suffix}", roll(5))

    parsed = parse_roll(path, path.name)
    result = _import(cast.admin, path)

    assert [r.errors for r in parsed.rows] == [[]] * 15
    assert result.people.created == 15
    assert decrypt(_person(person_id(4)).phone_cipher) == "13900000004"


def test_a_gb18030_csv_is_read(cast, today, tmp_path):
    path = tmp_path / "roll.csv"
    lines = [",".join(HEADERS)] + [",".join(row) for row in roll(2)]
    path.write_bytes("\r\n".join(lines).encode("gb18030"))

    assert _import(cast.admin, path).people.created == 6


def test_an_unreadable_file_is_a_clear_error(cast, tmp_path):
    path = tmp_path / "roll.xlsx"
    path.write_bytes(b"not a zip")

    with pytest.raises(RollError, match="无法读取文件"):
        _import(cast.admin, path)


def _damaged_files() -> dict[str, bytes]:
    good = xlsx_bytes(roll(2))
    corrupt = bytearray(good)  # a sheet whose deflate stream is broken: calamine and zipfile
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + 20
    for i in range(start, start + 40):
        corrupt[i] ^= 0x55
    return {
        "truncated.xlsx": good[: len(good) // 2],
        "corrupt.xlsx": bytes(corrupt),
        "garbage.xls": b"not an office document",
        "garbage.ods": b"PK\x03\x04 not a zip",
        "empty.xlsx": b"",
        "renamed.csv": good,  # an .xlsx saved under a .csv name
    }


@pytest.mark.parametrize("name", list(_damaged_files()))
def test_a_damaged_file_is_refused_in_chinese_and_the_library_error_is_logged(
    cast, tmp_path, caplog, name
):
    path = tmp_path / name
    path.write_bytes(_damaged_files()[name])

    with (
        caplog.at_level(logging.WARNING, logger="minqing.lib.excel"),
        pytest.raises(RollError) as raised,
    ):
        _import(cast.admin, path)

    message = str(raised.value)
    assert message.startswith(f"无法读取文件“{name}”：不是有效的 .xlsx、.xls、.ods 或 .csv 文件")
    assert "文件已损坏" in message
    assert not any(word in message for word in ("Zip", "EOCD", "Cfb", "OLE", "error", "deflate"))
    assert name in caplog.text and "Error" in caplog.text  # the library's own words, logged


def test_the_command_reports_a_damaged_file_in_chinese(cast, tmp_path):
    path = tmp_path / "b.xlsx"
    path.write_bytes(_damaged_files()["truncated.xlsx"])

    with pytest.raises(CommandError) as raised:
        call_command("import", "households", str(path), stdout=io.StringIO())

    assert "无法读取文件“b.xlsx”：不是有效的 .xlsx、.xls、.ods 或 .csv 文件" in str(raised.value)
    assert "EOCD" not in str(raised.value)


def test_the_cleaning_pool_gives_the_same_rows(cast, today, tmp_path):
    path = write(tmp_path / "roll.xlsx", roll(30))

    alone = parse_roll(path, path.name, processes=1)
    pooled = parse_roll(path, path.name, processes=2)

    assert [(r.number, r.person.id_hash, r.errors, r.household) for r in pooled.rows] == [
        (r.number, r.person.id_hash, r.errors, r.household) for r in alone.rows
    ]


@pytest.mark.parametrize("suffix", [".xlsx", ".ods", ".csv"])
def test_the_pool_reads_chunks_of_a_sheet_as_this_process_would(
    cast, today, tmp_path, monkeypatch, suffix
):
    # An .xlsx or .ods is held in memory: each worker reads its own chunks' rows from the
    # sheet it inherited. A .csv's rows are read here and sent. Small chunks: many of them, with a
    # blank row, a row under a merged range across a chunk's edge and an unnamed column.
    monkeypatch.setattr("minqing.households.importer.POOL_CHUNK", 7)
    rows = roll(40)
    rows[20] = [""] * len(HEADERS)
    rows[33] = [*rows[33], "备注"]
    rows[16][COL["所属村（社区）"]] = rows[17][COL["所属村（社区）"]] = "不存在村"
    if suffix == ".xlsx":
        path = xlsx_with(tmp_path / "roll.xlsx", rows, header=[*HEADERS, ""], merged=["K15:K17"])
    else:
        path = write(tmp_path / f"roll{suffix}", rows, header=[*HEADERS, ""])

    alone = parse_roll(path, path.name, processes=1)
    pooled = parse_roll(path, path.name, processes=2)

    def seen(parsed):  # not the ciphers: each encryption is different
        return [
            (r.number, r.person and r.person.id_hash, r.errors, r.household, r.head_hash)
            for r in parsed.rows
        ]

    assert seen(pooled) == seen(alone)
    assert len(alone.rows) == 119
    assert [(r.row, r.column) for r in pooled.file_refusals] == [(1, "R")]
    assert pooled.file_refusals == alone.file_refusals


@pytest.mark.parametrize("processes", [1, 2])
def test_a_bad_cell_repeated_on_every_row_is_refused_on_every_row(cast, today, tmp_path, processes):
    # Each (column, text) is parsed once per import: the reason must still reach every row.
    rows = roll(4, size=2)
    for row in rows:
        row[COL["人员状态"]] = "出差"
        row[COL["出生日期"]] = "1999-02-30"
    path = write(tmp_path / "roll.xlsx", rows)

    parsed = parse_roll(path, path.name, processes=processes)

    assert [[(key, value) for key, value, _reason in r.errors] for r in parsed.rows] == [
        [("status", "出差"), ("birth_date", "1999-02-30")]
    ] * 8


# --- The command ------------------------------------------------------------------------------


def test_the_command_imports_and_prints_the_progress_and_counts(cast, today, tmp_path):
    path = write(tmp_path / "roll.xlsx", roll(3))
    out = io.StringIO()

    call_command("import", "households", str(path), "--user", "admin", stdout=out)

    text = out.getvalue()
    assert "\r已处理 9 / 9 行" in text
    assert "新增 9" in text
    assert Person.objects.count() == 9
    assert AuditLog.objects.get(entity="households.import").actor == cast.admin


def test_the_command_dry_run_writes_nothing(cast, today, tmp_path):
    out = io.StringIO()

    call_command(
        "import", "households", str(write(tmp_path / "r.csv", roll(2))), "--dry-run", stdout=out
    )

    assert "将新增 6" in out.getvalue()
    assert Person.objects.count() == 0


def test_the_command_lists_the_refusals_and_fails(cast, today, tmp_path):
    rows = roll(1)
    rows[2][COL["姓名"]] = ""
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 处错误"):
        call_command("import", "households", str(write(tmp_path / "r.xlsx", rows)), stdout=out)

    assert "第 4 行 C列（姓名）：姓名不能为空" in out.getvalue()
    assert Person.objects.count() == 0


def test_the_command_refuses_a_read_only_user(cast, tmp_path):
    with pytest.raises(CommandError, match="只能查看"):
        call_command(
            "import",
            "households",
            str(write(tmp_path / "r.xlsx", roll(1))),
            "--user",
            "viewer",
            stdout=io.StringIO(),
        )


def test_a_big_first_import_rebuilds_the_indexes_it_dropped(cast, today, tmp_path, monkeypatch):
    from django.db import connection

    from minqing.households import importer

    monkeypatch.setattr(importer, "REBUILD_MIN_ROWS", 10)

    def indexes():
        if connection.vendor != "sqlite":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s",
                [Person._meta.db_table],
            )
            return sorted(name for (name,) in cursor.fetchall())

    before = indexes()
    result = _import(cast.admin, write(tmp_path / "roll.xlsx", roll(10)))

    assert result.people.created == 30
    assert indexes() == before
    assert Person.objects.filter(name_initials__startswith="w").exists()


def test_a_closed_household_re_imports_unchanged_and_is_not_brought_back_by_a_file(
    cast, today, registry, tmp_path
):
    # 张三's household: he died, his wife and son moved away; closed on 1 June.
    for person, status in (
        (registry.head, PersonStatus.DECEASED),
        (registry.li, PersonStatus.MOVED_OUT),
        (registry.ming, PersonStatus.MOVED_OUT),
    ):
        set_status(person, status)
    household_close(
        actor=None, household=registry.zhang, reason="全户迁出", on=datetime.date(2026, 6, 1)
    )
    rows = _exported(cast.admin, state="all")
    assert [row[COL["人员状态"]] for row in rows if row[COL["户主姓名"]] == "张三"][:3] == [
        "已故",
        "已迁出",
        "已迁出",
    ]
    unchanged = _import(cast.admin, write(tmp_path / "all.xlsx", rows))
    assert _reasons(unchanged) == [] and unchanged.applied
    assert unchanged.households.updated == unchanged.households.created == 0

    # An old roll, from before: 李四 living there again. Refused whole, nothing written.
    li = next(row for row in rows if row[COL["姓名"]] == "李四")
    li[COL["人员状态"]] = "在家居住"
    people = list(Person.objects.values().order_by("id"))
    refused = _import(cast.admin, write(tmp_path / "old.xlsx", rows))
    reason = "该户已于 2026-06-01 销户：请先在户页面撤销销户，再导入"
    zhang_rows = [n for n, row in enumerate(rows, start=2) if row[COL["户主姓名"]] == "张三"][:3]
    assert _reasons(refused) == [(n, "", "", reason) for n in zhang_rows]
    assert not refused.applied and refused.people.refused == 3
    assert list(Person.objects.values().order_by("id")) == people


def test_the_command_says_which_households_a_partial_import_updates_in_part(cast, today, tmp_path):
    rows = roll(2)
    rows[1][COL["姓名"]] = ""  # a member of the first household
    path = write(tmp_path / "roll.xlsx", rows)
    out = io.StringIO()

    call_command("import", "households", str(path), "--user", "admin", "--partial", stdout=out)

    assert "其中 1 户有成员行出错，只导入了部分成员" in out.getvalue()
    assert Person.objects.count() == 5


# --- 户主变更 of a household that has a head ------------------------------------------------


def _zhang_rows(rows):
    """张三's household's rows of an export, by name."""
    return {row[COL["姓名"]]: row for row in rows if row[COL["户主身份证号"]] == ZHANG_ID}


def _under_ming(*rows):
    for row in rows:
        row[COL["户主姓名"]], row[COL["户主身份证号"]] = "张小明", MING_ID


def _row_number(rows, name):
    return next(n for n, row in enumerate(rows, start=2) if row[COL["姓名"]] == name)


def test_naming_a_member_head_of_a_household_that_has_one_is_a_head_change(
    cast, today, registry, tmp_path
):
    # 张三 died: in the export the clerk makes his son 张小明 户主, 张三 his 父母 (已故),
    # 李四 his 父母, and points the three rows at 张小明.
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    _under_ming(*zhang.values())
    zhang["张小明"][COL["与户主关系"]] = "户主"
    zhang["张三"][COL["与户主关系"]], zhang["张三"][COL["人员状态"]] = "父母", "已故"
    zhang["李四"][COL["与户主关系"]] = "父母"
    path = write(tmp_path / "roll.xlsx", rows)
    households = Household.objects.count()

    dry = _import(cast.admin, path, dry_run=True)
    result = _import(cast.admin, path)
    people = list(Person.objects.values().order_by("id"))
    again = _import(cast.admin, path)

    assert _reasons(dry) == []
    assert dry.households.as_dict() == {"created": 0, "updated": 1, "unchanged": 1, "refused": 0}
    assert dry.people.as_dict() == {"created": 0, "updated": 3, "unchanged": 1, "refused": 0}
    assert result.applied and result.counts() == dry.counts()
    assert Household.objects.count() == households  # no new household for 张小明
    household = Household.objects.get(pk=registry.zhang.pk)
    assert (household.head_id, household.head_name, household.member_count) == (
        registry.ming.pk,
        "张小明",
        2,
    )
    assert {p.name: (p.relation, p.status) for p in household.members.all()} == {
        "张三": ("parent", PersonStatus.DECEASED),
        "李四": ("parent", PersonStatus.RESIDENT),
        "张小明": ("head", PersonStatus.RESIDENT),
    }
    assert [
        (m.household_id, m.relation, m.left_on, m.reason)
        for m in Membership.objects.filter(person=registry.head).order_by("id")
    ] == [
        (household.pk, "head", today, "户主变更"),
        (household.pk, "parent", None, "户主变更"),
    ]
    change = AuditLog.objects.get(action="head_change", entity_id=str(household.pk))
    assert (change.source, change.actor) == ("import", cast.admin)
    assert change.changes["head_name"] == ["张三", "张小明"]
    assert change.changes["old_head_relation"] == [None, "parent"]
    assert change.changes["relations"][1] == [{"name": "李四", "relation": "parent"}]
    assert _reasons(again) == []
    assert again.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 2, "refused": 0}
    assert list(Person.objects.values().order_by("id")) == people


def test_a_head_change_by_import_relates_members_who_moved_out_as_their_rows_say(
    cast, today, registry, tmp_path
):
    # 李四 moved away (已迁出) but is still on the household's roll: her row says she is the
    # new head's 父母, and her history says so too.
    set_status(registry.li, PersonStatus.MOVED_OUT)
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    _under_ming(*zhang.values())
    zhang["张小明"][COL["与户主关系"]] = "户主"
    zhang["张三"][COL["与户主关系"]] = zhang["李四"][COL["与户主关系"]] = "父母"

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows))

    assert _reasons(result) == [] and result.applied
    current = dict(
        Membership.objects.filter(household=registry.zhang, left_on=None).values_list(
            "person__name", "relation"
        )
    )
    assert current == {"张三": "parent", "李四": "parent", "张小明": "head"}
    assert {p.name: p.relation for p in Person.objects.filter(household=registry.zhang)} == current
    change = AuditLog.objects.get(action="head_change", entity_id=str(registry.zhang.pk))
    assert change.changes["relations"][1] == [{"name": "李四", "relation": "parent"}]


def test_a_head_change_without_the_old_heads_row_gives_him_the_relation_the_page_suggests(
    cast, today, registry, tmp_path
):
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    rows.remove(zhang["张三"])
    _under_ming(zhang["张小明"], zhang["李四"])
    zhang["张小明"][COL["与户主关系"]] = "户主"
    zhang["李四"][COL["与户主关系"]] = "父母"

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows))

    assert _reasons(result) == [] and result.applied
    assert result.households.as_dict() == {"created": 0, "updated": 1, "unchanged": 1, "refused": 0}
    household = Household.objects.get(pk=registry.zhang.pk)
    assert (household.head_id, household.member_count) == (registry.ming.pk, 3)
    assert _person(ZHANG_ID).relation == "parent"  # the son's 父母, as the page's form starts
    change = AuditLog.objects.get(action="head_change", entity_id=str(household.pk))
    assert change.changes["old_head_relation"] == [None, "parent"]


def test_a_head_change_with_the_old_heads_row_in_another_household_is_refused(
    cast, today, registry, tmp_path
):
    # 张小明 户主 of his household, but 张三's row now names 刘芳 as his head: a head change and
    # a move, or a 分户 with the head's relation forgotten? Both rows are refused.
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    _under_ming(zhang["张小明"], zhang["李四"])
    zhang["张小明"][COL["与户主关系"]] = "户主"
    liu = next(row for row in rows if row[COL["姓名"]] == "刘芳")
    zhang["张三"][:2] = liu[:2]
    zhang["张三"][COL["所属村（社区）"] :] = liu[COL["所属村（社区）"] :]
    zhang["张三"][COL["与户主关系"]] = "其他"
    ming, head, li = (_row_number(rows, name) for name in ("张小明", "张三", "李四"))
    people = list(Person.objects.values().order_by("id"))

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), partial=True)

    assert sorted((r.row, r.column) for r in result.refusals) == sorted(
        [(ming, LETTER["与户主关系"]), (head, LETTER["户主身份证号"]), (li, "")]
    )
    reasons = {r.row: r.reason for r in result.refusals}
    assert f"但第 {head} 行把张三填在另一户：无法判断是户主变更还是分户" in reasons[ming]
    assert f"第 {ming} 行把张小明改为该户户主" in reasons[head]
    assert f"本户户主行（第 {ming} 行）有错误" in reasons[li]
    assert result.households.refused == 1
    assert list(Person.objects.values().order_by("id")) == people
    assert Household.objects.get(pk=registry.zhang.pk).head_id == registry.head.pk


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        (
            "人员类别",
            "外星人",
            "原户主张三的行（第 {head} 行）有错误：户主变更须与原户主的行一同导入",
        ),
        # refused before its ID number is read: known by the masked number
        (
            "联系电话",
            "12345",
            "第 {head} 行有错误，可能是原户主张三的行：无法判断本行是户主变更还是分户",
        ),
    ],
)
def test_a_head_change_is_not_imported_in_part_without_the_old_heads_row(
    cast, today, registry, tmp_path, header, value, reason
):
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    _under_ming(*zhang.values())
    zhang["张小明"][COL["与户主关系"]] = "户主"
    zhang["张三"][COL["与户主关系"]], zhang["张三"][COL[header]] = "父母", value
    zhang["李四"][COL["与户主关系"]] = "父母"
    head, li, ming = (_row_number(rows, name) for name in ("张三", "李四", "张小明"))
    people = list(Person.objects.values().order_by("id"))

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), partial=True)

    assert [(r.row, r.column) for r in result.refusals] == [
        (head, LETTER[header]),
        (li, ""),
        (ming, LETTER["与户主关系"]),
    ]
    assert reason.format(head=head) in result.refusals[2].reason
    assert result.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 1, "refused": 1}
    assert list(Person.objects.values().order_by("id")) == people


def test_two_rows_cannot_both_name_the_new_head_of_a_household_that_has_one(
    cast, today, registry, tmp_path
):
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    for name in ("张小明", "李四"):
        zhang[name][COL["与户主关系"]] = "户主"
        zhang[name][COL["户主姓名"]] = name
        zhang[name][COL["户主身份证号"]] = zhang[name][COL["身份证号"]]
    _under_ming(zhang["张三"])
    zhang["张三"][COL["与户主关系"]] = "父母"
    first, second = sorted(_row_number(rows, name) for name in ("张小明", "李四"))

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), dry_run=True)

    head = _row_number(rows, "张三")
    assert sorted((r.row, r.column) for r in result.refusals) == sorted(
        [(first, LETTER["与户主关系"]), (second, LETTER["与户主关系"]), (head, "")]
    )
    reasons = {r.row: r.reason for r in result.refusals}
    for row in (first, second):
        assert f"第 {first}、{second} 行都把此户的成员改为户主：一户只能有一位户主" in reasons[row]
    assert f"本户户主行（第 {_row_number(rows, '张小明')} 行）有错误" in reasons[head]
    assert result.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 1, "refused": 2}


@pytest.mark.parametrize(
    ("registered", "given", "reason"),
    [
        ("", "已故", "张小明 的状态是“已故”，不能作为户主"),
        ("moved_out", "在家居住", "张小明 在台账中的状态是“已迁出”，不能作为户主"),
        ("moved_out", "", "张小明 在台账中的状态是“已迁出”，不能作为户主"),
    ],
)
def test_a_new_head_who_does_not_live_there_is_refused(
    cast, today, registry, tmp_path, registered, given, reason
):
    if registered:
        set_status(registry.ming, registered)
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    _under_ming(*zhang.values())
    zhang["张小明"][COL["与户主关系"]], zhang["张小明"][COL["人员状态"]] = "户主", given
    zhang["张三"][COL["与户主关系"]] = zhang["李四"][COL["与户主关系"]] = "父母"
    ming = _row_number(rows, "张小明")

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), dry_run=True)

    refusal = next(r for r in result.refusals if r.row == ming)
    assert (refusal.column, refusal.value) == (LETTER["人员状态"], given)
    assert reason in refusal.reason
    assert {r.row for r in result.refusals} == {
        n for n, row in enumerate(rows, start=2) if row[COL["户主身份证号"]] == MING_ID
    }
    assert result.households.refused == 1 and result.households.created == 0


def test_a_row_still_naming_the_old_head_is_refused_in_a_head_change(
    cast, today, registry, tmp_path
):
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    _under_ming(zhang["张小明"], zhang["张三"])
    zhang["张小明"][COL["与户主关系"]] = "户主"
    zhang["张三"][COL["与户主关系"]] = "父母"  # 李四's row as exported: 配偶 of 张三
    ming, li = _row_number(rows, "张小明"), _row_number(rows, "李四")

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), partial=True)

    assert [(r.row, r.column) for r in result.refusals] == [(li, LETTER["户主身份证号"])]
    assert f"本户户主已由第 {ming} 行改为张小明" in result.refusals[0].reason
    assert result.applied and result.households_in_part == 1
    assert Household.objects.get(pk=registry.zhang.pk).head_id == registry.ming.pk
    assert _person(LI_ID).relation == "parent"  # not told: as the service suggests


def test_a_member_named_head_while_the_file_keeps_the_head_leaves_for_a_household_of_his_own(
    cast, today, registry, tmp_path
):
    # 分户: 张三's row is still 户主; 张小明's names himself head, at a new address.
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    _under_ming(zhang["张小明"])
    zhang["张小明"][COL["与户主关系"]] = "户主"
    zhang["张小明"][COL["家庭住址"]] = "万全庄村西街2号"

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows))

    assert _reasons(result) == [] and result.applied
    # 张三's household counts as unchanged: it is left by a member, none of its rows changed
    assert result.households.as_dict() == {"created": 1, "updated": 0, "unchanged": 2, "refused": 0}
    ming = _person(MING_ID)
    assert (ming.household.head_id, ming.household.address) == (ming.pk, "万全庄村西街2号")
    assert Household.objects.get(pk=registry.zhang.pk).head_id == registry.head.pk
    assert not AuditLog.objects.filter(action="head_change").exists()


def test_a_member_named_head_is_refused_when_the_heads_own_row_is_refused(
    cast, today, registry, tmp_path
):
    # 张三's row is still 户主 but refused: a 分户, or a 户主变更 with his row left as it was?
    rows = _exported(cast.admin)
    zhang = _zhang_rows(rows)
    _under_ming(zhang["张小明"])
    zhang["张小明"][COL["与户主关系"]] = "户主"
    zhang["张三"][COL["人员类别"]] = "外星人"
    head, ming = _row_number(rows, "张三"), _row_number(rows, "张小明")
    people = list(Person.objects.values().order_by("id"))

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), partial=True)

    refusal = next(r for r in result.refusals if r.row == ming)
    assert refusal.column == LETTER["与户主关系"]
    assert f"原户主张三的户主行（第 {head} 行）有错误：无法判断本行是户主变更还是分户" in (
        refusal.reason
    )
    assert result.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 1, "refused": 2}
    assert list(Person.objects.values().order_by("id")) == people


# --- A closed household's categories ----------------------------------------------------------


def _closed_zhang(registry):
    """张三's household with 低保 (since March) and 李四 独居老人, then emptied and closed."""
    category_grant(
        actor=None,
        category=registry.dibao,
        household=registry.zhang,
        start=datetime.date(2026, 3, 1),
    )
    category_grant(
        actor=None,
        category=Category.objects.get(code="elderly_alone"),
        person=registry.li,
        start=datetime.date(2026, 3, 1),
    )
    for person, status in (
        (registry.head, PersonStatus.DECEASED),
        (registry.li, PersonStatus.MOVED_OUT),
        (registry.ming, PersonStatus.MOVED_OUT),
    ):
        set_status(person, status)
    household_close(
        actor=None, household=registry.zhang, reason="全户迁出", on=datetime.date(2026, 6, 1)
    )


def test_an_import_may_end_the_categories_of_a_closed_household(cast, today, registry, tmp_path):
    _closed_zhang(registry)
    rows = _exported(cast.admin, state="all")
    zhang = _zhang_rows(rows)
    assert {row[COL["户类别"]] for row in zhang.values()} == {"低保"}
    assert zhang["李四"][COL["人员类别"]] == "独居老人"
    for row in zhang.values():
        row[COL["户类别"]] = ""
    zhang["李四"][COL["人员类别"]] = ""

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows))

    assert _reasons(result) == [] and result.applied
    assert result.households.as_dict() == {"created": 0, "updated": 1, "unchanged": 1, "refused": 0}
    assert result.people.as_dict() == {"created": 0, "updated": 1, "unchanged": 3, "refused": 0}
    ended = CategoryGrant.objects.filter(start=datetime.date(2026, 3, 1))
    assert {(g.category.code, g.end) for g in ended} == {
        ("dibao", today - datetime.timedelta(days=1)),
        ("elderly_alone", today - datetime.timedelta(days=1)),
    }
    household = Household.objects.get(pk=registry.zhang.pk)
    assert household.closed_on == datetime.date(2026, 6, 1)


@pytest.mark.parametrize(("header", "name"), [("户类别", "张三"), ("人员类别", "张小明")])
def test_an_import_may_not_add_a_category_to_a_closed_household(
    cast, today, registry, tmp_path, header, name
):
    _closed_zhang(registry)
    rows = _exported(cast.admin, state="all")
    zhang = _zhang_rows(rows)
    for row in zhang.values() if header == "户类别" else [zhang[name]]:
        row[COL[header]] = "低保、特困" if header == "户类别" else "留守老人"
    grants = list(CategoryGrant.objects.values().order_by("id"))

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows))

    assert not result.applied
    assert {r.reason for r in result.refusals} == {
        "该户已于 2026-06-01 销户：请先在户页面撤销销户，再导入"
    }
    assert result.households.refused == 1
    assert list(CategoryGrant.objects.values().order_by("id")) == grants


# --- Households left out whole are counted ----------------------------------------------------


def test_households_left_out_whole_are_counted_in_the_check_the_result_and_the_audit(
    cast, today, tmp_path
):
    rows = roll(3)
    rows[3][COL["身份证号"]] = "123"  # the second household's head: the household is left out
    path = write(tmp_path / "roll.xlsx", rows)

    dry = _import(cast.admin, path, dry_run=True, partial=True)
    result = _import(cast.admin, path, partial=True)

    expected = {"created": 2, "updated": 0, "unchanged": 0, "refused": 1}
    assert dry.households.as_dict() == result.households.as_dict() == expected
    audit = AuditLog.objects.get(entity="households.import")
    assert audit.changes["households"] == [None, expected]
    assert Household.objects.count() == 2


def test_a_closed_household_refused_whole_is_counted(cast, today, registry, tmp_path):
    _closed_zhang(registry)
    rows = _exported(cast.admin, state="all")
    _zhang_rows(rows)["李四"][COL["人员状态"]] = "在家居住"

    result = _import(cast.admin, write(tmp_path / "roll.xlsx", rows), partial=True)

    assert result.applied
    assert result.households.as_dict() == {"created": 0, "updated": 0, "unchanged": 1, "refused": 1}
    assert AuditLog.objects.get(entity="households.import").changes["households"][1]["refused"] == 1
