"""Each service: the rule, the refusal, the audit row (with masked personal data only)."""

import datetime
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from minqing.audit.models import AuditLog
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
from minqing.households.people import PersonInput
from minqing.households.selectors import HouseholdFilter, grants_on, household_list
from minqing.households.services import (
    category_end,
    category_grant,
    dwelling_assess,
    household_create,
    household_head_change,
    household_update,
    person_add,
    person_move,
    person_update,
    personal_reveal,
    suggested_relations,
)
from minqing.households.tests.conftest import (
    FULL_VALUES,
    LI_ID,
    LI_PHONE,
    ZHANG_ID,
    ZHANG_PHONE,
)
from minqing.lib.idcard import make_id_number
from minqing.regions.models import Region
from minqing.testing import DIAOWO, WANQUANZHUANG, set_status

NEW_ID = make_id_number("130681", datetime.date(1990, 9, 9), 91)
NEW_PHONE = "13511112222"


def _audit(entity: str, pk, action: str) -> AuditLog:
    return AuditLog.objects.get(entity=f"households.{entity}", entity_id=str(pk), action=action)


def _village(code=WANQUANZHUANG) -> Region:
    return Region.objects.get(code=code)


@pytest.fixture(autouse=True)
def _no_audit_row_holds_a_full_number(db):
    """After every test of this module: no audit row carries a whole ID number or phone."""
    yield
    rows = json.dumps(list(AuditLog.objects.values_list("changes", flat=True)), ensure_ascii=False)
    for value in [*FULL_VALUES, NEW_ID, NEW_PHONE]:
        assert value not in rows


# household_create


def test_household_create_registers_the_head_and_members(cast, today):
    household = household_create(
        actor=cast.village,
        region=_village(),
        address=" 万全庄村北街3号 ",
        head=PersonInput(name="赵大勇", id_number=NEW_ID, phone=NEW_PHONE, relation=Relation.CHILD),
        members=[PersonInput(name="赵小燕", id_number=LI_ID, relation=Relation.CHILD)],
    )

    assert household.address == "万全庄村北街3号"
    assert (household.head_name, household.head_initials, household.member_count) == (
        "赵大勇",
        "zdy",
        2,
    )
    assert household.head.relation == Relation.HEAD  # whatever was sent
    assert household.head.id_number == NEW_ID
    assert Dwelling.objects.filter(household=household).exists()
    assert Membership.objects.filter(household=household, left_on__isnull=True).count() == 2
    row = _audit("household", household.pk, "create")
    assert row.actor == cast.village
    assert row.region_code == WANQUANZHUANG
    heads = row.changes["members"][1]
    assert heads[0]["id_number"] == NEW_ID[:6] + "********" + NEW_ID[-4:]
    assert heads[0]["phone"] == "135****2222"


def test_household_create_refuses_a_township_a_read_only_user_and_another_village(cast, today):
    head = PersonInput(name="赵大勇", id_number=NEW_ID)

    with pytest.raises(ValidationError) as township:
        household_create(
            actor=cast.admin, region=_village(DIAOWO.ljust(12, "0")), address="", head=head
        )
    with pytest.raises(PermissionDenied, match="只能查看"):
        household_create(actor=cast.viewer, region=_village(), address="", head=head)
    with pytest.raises(PermissionDenied, match="管辖范围"):
        household_create(actor=cast.village, region=_village("130681001001"), address="", head=head)

    assert township.value.message_dict == {"region": ["户必须属于一个现行的村（社区）"]}
    assert not Household.objects.exists()
    assert not AuditLog.objects.filter(entity="households.household").exists()


def test_household_create_refuses_a_person_already_registered(registry, cast):
    with pytest.raises(ValidationError) as refused:
        household_create(
            actor=cast.admin,
            region=_village(),
            address="",
            head=PersonInput(name="李四", id_number=LI_ID),
        )

    message = refused.value.message_dict["id_number"][0]
    assert "已登记在另一户" in message
    assert LI_ID not in message
    assert Household.objects.count() == 3  # the transaction rolled back


def test_household_create_refuses_a_second_head(cast, today):
    with pytest.raises(ValidationError) as refused:
        household_create(
            actor=cast.admin,
            region=_village(),
            address="",
            head=PersonInput(name="赵大勇", id_number=NEW_ID),
            members=[PersonInput(name="赵二勇", id_number=LI_ID, relation=Relation.HEAD)],
        )

    assert refused.value.message_dict == {"relation": ["一户只能有一位户主"]}
    assert not Person.objects.exists()


# household_update


def test_household_update_changes_the_address_with_an_audit_row(registry, cast):
    household_update(actor=cast.village, household=registry.zhang, address="万全庄村东街10号")

    row = _audit("household", registry.zhang.pk, "update")
    assert row.changes == {"address": ["万全庄村东街8号", "万全庄村东街10号"]}


def test_household_update_to_another_village_moves_its_people_and_categories(registry, cast):
    other_village = _village("130681107001")

    household_update(actor=cast.paired, household=registry.zhang, region=other_village)

    assert set(
        Person.objects.filter(household=registry.zhang).values_list("region", flat=True)
    ) == {other_village.code}
    assert registry.zhang.categories.get().region_id == other_village.code
    assert _audit("household", registry.zhang.pk, "update").changes["region"] == [
        WANQUANZHUANG,
        other_village.code,
    ]


def test_household_update_refuses_read_only_and_out_of_reach(registry, cast):
    with pytest.raises(PermissionDenied):
        household_update(actor=cast.viewer, household=registry.zhang, address="x")
    with pytest.raises(PermissionDenied):
        household_update(actor=cast.township, household=registry.zhang, address="x")
    with pytest.raises(PermissionDenied):  # the cadre cannot move a household out of reach
        household_update(
            actor=cast.village, household=registry.zhang, region=_village("130681107001")
        )


def test_household_update_without_a_change_writes_no_audit_row(registry, cast):
    household_update(actor=cast.village, household=registry.zhang, address="万全庄村东街8号")

    assert not AuditLog.objects.filter(action="update").exists()


# person_add


def test_person_add_counts_the_member_and_audits_masked(registry, cast):
    person = person_add(
        actor=cast.village,
        household=registry.zhang,
        data=PersonInput(
            name="张丽", id_number=NEW_ID, phone=NEW_PHONE, relation=Relation.GRANDCHILD
        ),
    )

    registry.zhang.refresh_from_db()
    assert registry.zhang.member_count == 4
    assert (person.sex, person.birth_date) == ("M", datetime.date(1990, 9, 9))
    row = _audit("person", person.pk, "create")
    assert row.changes["household"] == [None, registry.zhang.pk]
    assert row.changes["phone"] == [None, "135****2222"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (PersonInput(name="张丽", id_number=NEW_ID[:-1] + "0"), "id_number", "校验位错误"),
        (PersonInput(name="张丽", id_number="130681199013310911"), "id_number", "不存在"),
        (PersonInput(name="", id_number=NEW_ID), "name", "姓名不能为空"),
        (PersonInput(name="张丽", id_number=NEW_ID, sex="F"), "sex", "与身份证号不符"),
        (PersonInput(name="张丽", id_number=NEW_ID, phone="1234"), "phone", "不是有效"),
        (PersonInput(name="张丽", id_number=NEW_ID, relation="cousin"), "relation", "不是可选值"),
        (
            PersonInput(name="张丽", id_number=NEW_ID, relation=Relation.HEAD),
            "relation",
            "该户已有户主",
        ),
        (PersonInput(name="张丽", id_number=ZHANG_ID), "id_number", "已登记在另一户"),
    ],
)
def test_person_add_refuses_with_the_field_and_a_clear_message(
    registry, cast, data, field, message
):
    if data.relation == Relation.HEAD and field != "relation":
        data.relation = Relation.CHILD  # PersonInput's default: this household has its head

    with pytest.raises(ValidationError) as refused:
        person_add(actor=cast.village, household=registry.zhang, data=data)

    assert message in refused.value.message_dict[field][0]
    assert Person.objects.count() == 5


def test_a_refused_number_is_quoted_masked(registry, cast):
    typed_id, typed_phone = NEW_ID[:-1] + "0", "1381234567"  # a bad check digit; 10 digits
    data = PersonInput(name="张丽", id_number=typed_id, phone=typed_phone, relation=Relation.CHILD)

    with pytest.raises(ValidationError) as refused:
        person_add(actor=cast.village, household=registry.zhang, data=data)

    messages = refused.value.message_dict
    assert messages["id_number"] == [
        f"身份证号“{typed_id[:6]}********{typed_id[-4:]}”校验位错误：末位应为 {NEW_ID[-1]}"
    ]
    assert messages["phone"] == ["联系电话“138***4567”不是有效的中国大陆电话号码"]
    assert typed_id not in str(refused.value) and typed_phone not in str(refused.value)


def test_person_add_refuses_read_only_and_out_of_reach(registry, cast):
    data = PersonInput(name="张丽", id_number=NEW_ID, relation=Relation.CHILD)

    with pytest.raises(PermissionDenied):
        person_add(actor=cast.viewer, household=registry.zhang, data=data)
    with pytest.raises(PermissionDenied):
        person_add(actor=cast.village, household=registry.liu, data=data)


# person_update


def _as_input(person: Person, **changes) -> PersonInput:
    values = {
        "name": person.name,
        "id_number": person.id_number,
        "relation": person.relation,
        "phone": person.phone,
        "status": person.status,
    }
    return PersonInput(**(values | changes))


def test_person_update_records_a_corrected_phone_without_showing_it(registry, cast):
    person_update(
        actor=cast.village, person=registry.li, data=_as_input(registry.li, phone="13987650321")
    )

    registry.li.refresh_from_db()
    assert registry.li.phone == "13987650321"
    row = _audit("person", registry.li.pk, "update")
    assert row.changes == {"phone": ["139****4321", "139****0321"]}


def test_person_update_notes_a_correction_hidden_by_the_mask(registry, cast):
    # Another birth date with the same sequence and check digit: the same mask.
    day = datetime.date(1960, 2, 4)
    while make_id_number("130681", day, 22)[-4:] != LI_ID[-4:]:
        day += datetime.timedelta(days=1)
    number = make_id_number("130681", day, 22)

    person_update(
        actor=cast.village, person=registry.li, data=_as_input(registry.li, id_number=number)
    )

    masked = LI_ID[:6] + "********" + LI_ID[-4:]
    assert _audit("person", registry.li.pk, "update").changes == {
        "id_number": [masked, masked + "（已更正）"]
    }
    registry.li.refresh_from_db()
    assert registry.li.birth_date == day


def test_person_update_status_away_still_counts_moved_out_does_not(registry, cast):
    person_update(
        actor=cast.village,
        person=registry.li,
        data=_as_input(registry.li, status=PersonStatus.AWAY),
    )
    registry.zhang.refresh_from_db()
    assert registry.zhang.member_count == 3

    person_update(
        actor=cast.village,
        person=registry.ming,
        data=_as_input(registry.ming, status=PersonStatus.DECEASED),
    )
    registry.zhang.refresh_from_db()
    assert registry.zhang.member_count == 2


def test_person_update_refuses_a_new_head_a_taken_number_and_read_only(registry, cast):
    with pytest.raises(ValidationError) as head:
        person_update(
            actor=cast.village,
            person=registry.li,
            data=_as_input(registry.li, relation=Relation.HEAD),
        )
    with pytest.raises(ValidationError) as taken:
        person_update(
            actor=cast.village, person=registry.li, data=_as_input(registry.li, id_number=ZHANG_ID)
        )
    with pytest.raises(PermissionDenied):
        person_update(
            actor=cast.viewer, person=registry.li, data=_as_input(registry.li, name="李思")
        )

    assert "户主" in head.value.message_dict["relation"][0]
    assert "已登记给另一人" in taken.value.message_dict["id_number"][0]
    assert ZHANG_ID not in str(taken.value)


def test_person_update_without_a_change_writes_no_audit_row(registry, cast):
    person_update(actor=cast.village, person=registry.li, data=_as_input(registry.li))

    assert not AuditLog.objects.filter(entity="households.person", action="update").exists()


# person_move


def test_person_move_keeps_the_history_and_both_counts(registry, cast):
    person_move(
        actor=cast.admin,
        person=registry.ming,
        household=registry.liu,
        relation=Relation.OTHER,
        on=datetime.date(2026, 6, 1),
        reason="租住",
    )

    registry.zhang.refresh_from_db()
    registry.liu.refresh_from_db()
    assert (registry.zhang.member_count, registry.liu.member_count) == (2, 2)
    history = Membership.objects.filter(person=registry.ming).order_by("joined_on")
    assert [(m.household_id, m.left_on) for m in history] == [
        (registry.zhang.pk, datetime.date(2026, 6, 1)),
        (registry.liu.pk, None),
    ]
    registry.ming.refresh_from_db()
    assert registry.ming.region_id == "130681001001"
    row = _audit("person", registry.ming.pk, "move")
    assert row.changes["household"] == [registry.zhang.pk, registry.liu.pk]
    assert row.region_code == "130681001001"


@pytest.mark.parametrize(
    ("on", "message"),
    [
        (datetime.date(2027, 6, 1), "迁移日期 2027-06-01 晚于今天"),
        (datetime.date(2005, 1, 1), "迁移日期 2005-01-01 早于张小明在现户的迁入日期 2020-01-01"),
    ],
)
def test_person_move_refuses_a_date_in_the_future_or_before_the_person_joined(
    registry, cast, on, message
):
    with pytest.raises(ValidationError) as refused:
        person_move(
            actor=cast.admin,
            person=registry.ming,
            household=registry.liu,
            relation=Relation.OTHER,
            on=on,
        )

    assert refused.value.message_dict == {"on": [message]}
    registry.ming.refresh_from_db()
    assert registry.ming.household_id == registry.zhang.pk
    assert Membership.objects.filter(person=registry.ming).count() == 1


def test_moving_the_head_out_can_name_the_households_new_head(registry, cast):
    person_move(
        actor=cast.admin,
        person=registry.head,
        household=registry.liu,
        relation=Relation.SPOUSE,
        on=datetime.date(2026, 6, 1),
        successor=registry.li,
    )

    registry.zhang.refresh_from_db()
    assert (registry.zhang.head_id, registry.zhang.head_name) == (registry.li.pk, "李四")
    assert registry.zhang.member_count == 2
    registry.li.refresh_from_db()
    assert registry.li.relation == Relation.HEAD
    assert [
        (m.relation, m.joined_on, m.left_on)
        for m in Membership.objects.filter(person=registry.li).order_by("id")
    ] == [
        (Relation.SPOUSE, datetime.date(2020, 1, 1), datetime.date(2026, 6, 1)),
        (Relation.HEAD, datetime.date(2026, 6, 1), None),
    ]
    row = _audit("household", registry.zhang.pk, "head_change")
    assert row.changes["head_name"] == [None, "李四"]


def test_a_successor_named_in_a_move_gives_the_members_their_relation_to_them(registry, cast):
    person_move(
        actor=cast.admin,
        person=registry.head,
        household=registry.liu,
        relation=Relation.SPOUSE,
        successor=registry.ming,
    )

    assert Person.objects.get(pk=registry.li.pk).relation == Relation.PARENT
    row = _audit("household", registry.zhang.pk, "head_change")
    assert row.changes["relations"][1] == [{"name": "李四", "relation": "parent"}]


def test_person_move_refuses_a_successor_who_cannot_take_over(registry, cast):
    with pytest.raises(ValidationError, match="只有迁出户主时"):
        person_move(
            actor=cast.admin,
            person=registry.ming,
            household=registry.liu,
            relation=Relation.OTHER,
            successor=registry.li,
        )
    with pytest.raises(ValidationError, match="刘芳 不是本户成员"):
        person_move(
            actor=cast.admin,
            person=registry.head,
            household=registry.liu,
            relation=Relation.SPOUSE,
            successor=registry.liu.head,
        )

    registry.zhang.refresh_from_db()
    assert registry.zhang.head_name == "张三"
    assert Membership.objects.filter(left_on__isnull=False).count() == 0


def test_moving_the_head_out_leaves_the_household_without_one(registry, cast):
    person_move(
        actor=cast.admin, person=registry.head, household=registry.liu, relation=Relation.SPOUSE
    )

    registry.zhang.refresh_from_db()
    assert registry.zhang.head is None
    assert registry.zhang.head_name == ""
    assert registry.zhang.member_count == 2


def test_person_move_refuses(registry, cast):
    with pytest.raises(ValidationError, match="此人已在该户"):
        person_move(
            actor=cast.admin, person=registry.li, household=registry.zhang, relation=Relation.SPOUSE
        )
    with pytest.raises(ValidationError, match="与户主关系“cousin”不是可选值"):
        person_move(actor=cast.admin, person=registry.li, household=registry.liu, relation="cousin")
    with pytest.raises(ValidationError, match="目标户已有户主"):
        person_move(
            actor=cast.admin, person=registry.li, household=registry.liu, relation=Relation.HEAD
        )
    with pytest.raises(PermissionDenied):  # the target is out of the cadre's reach
        person_move(
            actor=cast.village, person=registry.li, household=registry.liu, relation=Relation.OTHER
        )
    with pytest.raises(PermissionDenied):
        person_move(
            actor=cast.viewer, person=registry.li, household=registry.liu, relation=Relation.OTHER
        )
    assert Membership.objects.filter(person=registry.li).count() == 1


# household_head_change


def test_household_head_change_makes_a_member_head_and_keeps_the_history(registry, cast):
    old_head = registry.head
    household_head_change(
        actor=cast.village,
        household=registry.zhang,
        person=registry.ming,
        old_head_relation=Relation.PARENT,
        on=datetime.date(2026, 6, 10),
    )

    zhang = Household.objects.get(pk=registry.zhang.pk)
    assert (zhang.head_id, zhang.head_name, zhang.head_initials) == (
        registry.ming.pk,
        "张小明",
        "zxm",
    )
    assert zhang.member_count == 3
    assert Person.objects.get(pk=old_head.pk).relation == Relation.PARENT
    history = Membership.objects.filter(household=zhang).order_by("person_id", "id")
    assert [(m.person.name, m.relation, m.joined_on, m.left_on) for m in history] == [
        ("张三", Relation.HEAD, datetime.date(2020, 1, 1), datetime.date(2026, 6, 10)),
        ("张三", Relation.PARENT, datetime.date(2026, 6, 10), None),
        ("李四", Relation.SPOUSE, datetime.date(2020, 1, 1), datetime.date(2026, 6, 10)),
        ("李四", Relation.PARENT, datetime.date(2026, 6, 10), None),  # his mother
        ("张小明", Relation.CHILD, datetime.date(2020, 1, 1), datetime.date(2026, 6, 10)),
        ("张小明", Relation.HEAD, datetime.date(2026, 6, 10), None),
    ]
    row = _audit("household", zhang.pk, "head_change")
    assert row.actor == cast.village
    assert row.changes == {
        "head_name": ["张三", "张小明"],
        "old_head_relation": [None, Relation.PARENT],
        "on": [None, "2026-06-10"],
        "relations": [
            [{"name": "李四", "relation": "spouse"}],
            [{"name": "李四", "relation": "parent"}],
        ],
    }
    # A move dated between the arrival and the change would leave the records overlapping:
    # refused, naming the change of head, not an arrival.
    with pytest.raises(ValidationError) as refused:
        person_move(
            actor=cast.admin,
            person=Person.objects.get(pk=registry.ming.pk),
            household=registry.liu,
            relation=Relation.SPOUSE,
            on=datetime.date(2026, 6, 1),
        )
    assert refused.value.message_dict["on"] == [
        "迁移日期 2026-06-01 早于张小明在现户的户主变更日期 2026-06-10"
    ]


def test_household_head_change_names_a_head_for_a_household_left_without_one(registry, cast):
    person_move(
        actor=cast.admin, person=registry.head, household=registry.liu, relation=Relation.SPOUSE
    )
    zhang = Household.objects.get(pk=registry.zhang.pk)

    household_head_change(actor=cast.village, household=zhang, person=registry.li)

    zhang.refresh_from_db()
    assert (zhang.head_id, zhang.head_name, zhang.member_count) == (registry.li.pk, "李四", 2)
    assert _audit("household", zhang.pk, "head_change").changes["head_name"] == [None, "李四"]


@pytest.mark.parametrize(
    ("who", "options", "field", "message"),
    [
        ("liu_head", {}, "person", "刘芳 不是本户成员"),
        ("head", {}, "person", "张三 已是户主"),
        ("ming", {"old_head_relation": ""}, "old_head_relation", "请选择原户主张三与新户主的关系"),
        ("ming", {"old_head_relation": Relation.HEAD}, "old_head_relation", "请选择原户主张三"),
        ("ming", {"on": datetime.date(2026, 6, 16)}, "on", "变更日期 2026-06-16 晚于今天"),
        (
            "ming",
            {"on": datetime.date(2019, 5, 1)},
            "on",
            "变更日期 2019-05-01 早于张小明在现户的迁入日期 2020-01-01",
        ),
        ("deceased", {}, "person", "张小明 的状态是“已故”，不能作为户主"),
    ],
)
def test_household_head_change_refuses(registry, cast, who, options, field, message):
    if who == "deceased":
        Person.objects.filter(pk=registry.ming.pk).update(status=PersonStatus.DECEASED)
        registry.ming.refresh_from_db()
    person = {
        "liu_head": registry.liu.head,
        "head": registry.head,
        "ming": registry.ming,
        "deceased": registry.ming,
    }[who]

    with pytest.raises(ValidationError) as refused:
        household_head_change(
            actor=cast.admin,
            household=registry.zhang,
            person=person,
            **({"old_head_relation": Relation.PARENT} | options),
        )

    assert message in refused.value.message_dict[field][0]
    assert Household.objects.get(pk=registry.zhang.pk).head_name == "张三"
    assert Membership.objects.count() == 5
    assert not AuditLog.objects.filter(action="head_change").exists()


def test_household_head_change_refuses_read_only_and_out_of_reach(registry, cast):
    with pytest.raises(PermissionDenied):
        household_head_change(
            actor=cast.viewer,
            household=registry.zhang,
            person=registry.ming,
            old_head_relation=Relation.PARENT,
        )
    with pytest.raises(PermissionDenied):
        household_head_change(
            actor=cast.township,
            household=registry.zhang,
            person=registry.ming,
            old_head_relation=Relation.PARENT,
        )
    assert Household.objects.get(pk=registry.zhang.pk).head_name == "张三"


@pytest.mark.parametrize(
    ("new_head", "members", "expected"),
    [
        # The son takes over: his mother is his parent, his sister his sibling, his
        # grandmother his grandparent; with his sister in the household, her child and the
        # daughter-in-law could be either's: 其他.
        (
            Relation.CHILD,
            {1: "head", 2: "spouse", 3: "child", 4: "parent", 5: "grandchild", 6: "child_in_law"},
            {1: "parent", 2: "parent", 3: "sibling", 4: "grandparent", 5: "other", 6: "other"},
        ),
        # The only child: the grandchildren are his, the daughter-in-law his wife.
        (
            Relation.CHILD,
            {2: "spouse", 5: "grandchild", 6: "child_in_law", 7: "sibling"},
            {2: "parent", 5: "child", 6: "spouse", 7: "other"},
        ),
        # The widow: the children stay hers, his parents are her parents-in-law, which the
        # registry files as 父母 (公公, 婆婆); his sister has no word of the roll (其他).
        (
            Relation.SPOUSE,
            {1: "head", 3: "child", 4: "parent", 5: "grandchild", 6: "child_in_law", 7: "sibling"},
            {1: "spouse", 3: "child", 4: "parent", 5: "grandchild", 6: "child_in_law", 7: "other"},
        ),
        # The daughter-in-law, her husband gone: his parents are hers (公公, 婆婆: 父母), his
        # children hers; his grandparents and his brother's wife, no word of the roll.
        (
            Relation.CHILD_IN_LAW,
            {1: "head", 2: "spouse", 4: "parent", 5: "grandchild", 6: "child_in_law"},
            {1: "parent", 2: "parent", 4: "other", 5: "child", 6: "other"},
        ),
        # The old head's father: his wife and son, and the son's family one generation down.
        (
            Relation.PARENT,
            {1: "head", 2: "spouse", 3: "child", 4: "parent", 7: "sibling"},
            {1: "child", 2: "child_in_law", 3: "grandchild", 4: "spouse", 7: "child"},
        ),
        (Relation.OTHER, {1: "head", 2: "spouse"}, {1: "other", 2: "other"}),
    ],
)
def test_suggested_relations_follow_from_the_relations_to_the_old_head(new_head, members, expected):
    assert suggested_relations(new_head, members) == expected


def _history(person) -> list[tuple]:
    return [
        (m.relation, m.joined_on, m.left_on, m.reason)
        for m in Membership.objects.filter(person=person).order_by("id")
    ]


def test_a_head_change_gives_the_other_members_their_relation_to_the_new_head(registry, cast):
    day = datetime.date(2026, 6, 10)

    household_head_change(
        actor=cast.village,
        household=registry.zhang,
        person=registry.ming,
        old_head_relation=Relation.PARENT,
        on=day,
    )

    assert Person.objects.get(pk=registry.li.pk).relation == Relation.PARENT  # his mother
    assert _history(registry.li) == [
        (Relation.SPOUSE, datetime.date(2020, 1, 1), day, "户主变更"),
        (Relation.PARENT, day, None, "户主变更"),
    ]
    row = _audit("household", registry.zhang.pk, "head_change")
    assert row.changes["relations"] == [
        [{"name": "李四", "relation": "spouse"}],
        [{"name": "李四", "relation": "parent"}],
    ]
    assert AuditLog.objects.filter(action="head_change").count() == 1


def test_a_head_change_takes_the_members_relations_given(registry, cast):
    household_head_change(
        actor=cast.village,
        household=registry.zhang,
        person=registry.ming,
        old_head_relation=Relation.PARENT,
        relations={registry.li.pk: Relation.OTHER},
    )

    assert Person.objects.get(pk=registry.li.pk).relation == Relation.OTHER
    assert _audit("household", registry.zhang.pk, "head_change").changes["relations"][1] == [
        {"name": "李四", "relation": "other"}
    ]


def test_a_member_whose_relation_stays_the_same_keeps_their_record(registry, cast):
    household_head_change(
        actor=cast.village,
        household=registry.zhang,
        person=registry.li,
        old_head_relation=Relation.SPOUSE,
    )

    assert Person.objects.get(pk=registry.ming.pk).relation == Relation.CHILD  # his mother's
    assert len(_history(registry.ming)) == 1
    assert "relations" not in _audit("household", registry.zhang.pk, "head_change").changes


def test_a_household_left_without_a_head_gets_relations_to_the_new_one(registry, cast):
    # 张三 moved out; his son becomes head, and his wife, still 配偶 of no one, his mother.
    person_move(
        actor=cast.admin, person=registry.head, household=registry.liu, relation=Relation.SPOUSE
    )
    zhang = Household.objects.get(pk=registry.zhang.pk)

    household_head_change(actor=cast.village, household=zhang, person=registry.ming)

    assert Person.objects.get(pk=registry.li.pk).relation == Relation.PARENT


def test_a_head_change_gives_members_no_longer_living_there_their_relation_too(registry, cast):
    # 张三's daughter died and his wife moved away: both are still on the household's roll.
    daughter = person_add(
        actor=None,
        household=registry.zhang,
        data=PersonInput(name="张小红", id_number=NEW_ID, relation=Relation.CHILD),
        on=datetime.date(2020, 1, 1),
    )
    set_status(daughter, PersonStatus.DECEASED)
    set_status(registry.li, PersonStatus.MOVED_OUT)

    household_head_change(
        actor=cast.village,
        household=registry.zhang,
        person=registry.ming,
        old_head_relation=Relation.PARENT,
        relations={registry.li.pk: Relation.OTHER},
        on=datetime.date(2026, 6, 10),
    )

    assert Person.objects.get(pk=daughter.pk).relation == Relation.SIBLING  # the new head's
    assert Person.objects.get(pk=registry.li.pk).relation == Relation.OTHER
    assert _history(daughter)[-1] == (
        Relation.SIBLING,
        datetime.date(2026, 6, 10),
        None,
        "户主变更",
    )
    assert _audit("household", registry.zhang.pk, "head_change").changes["relations"][1] == [
        {"name": "李四", "relation": "other"},
        {"name": "张小红", "relation": "sibling"},
    ]


def test_a_move_naming_the_new_head_takes_the_members_relations_given(registry, cast):
    person_move(
        actor=cast.admin,
        person=registry.head,
        household=registry.liu,
        relation=Relation.SPOUSE,
        successor=registry.ming,
        relations={registry.li.pk: Relation.OTHER},
    )

    assert Person.objects.get(pk=registry.li.pk).relation == Relation.OTHER
    with pytest.raises(ValidationError) as refused:
        person_move(
            actor=cast.admin,
            person=registry.li,
            household=registry.liu,
            relation=Relation.OTHER,
            relations={registry.ming.pk: Relation.CHILD},
        )
    assert refused.value.message_dict == {
        "successor": ["填写原户成员与新户主的关系时，须指定原户新户主"]
    }


@pytest.mark.parametrize(
    ("who", "relation", "message"),
    [
        ("li", Relation.HEAD, "一户只能有一位户主"),
        ("li", "cousin", "与户主关系“cousin”不是可选值"),
        ("liu_head", Relation.OTHER, "该人员不是本户成员"),
        ("ming", Relation.OTHER, "张小明 是新户主"),
        ("head", Relation.PARENT, "原户主张三与新户主的关系请在“原户主改为”中填写"),
    ],
)
def test_a_head_change_refuses_a_members_relation_on_that_member(
    registry, cast, who, relation, message
):
    person = {
        "li": registry.li,
        "liu_head": registry.liu.head,
        "ming": registry.ming,
        "head": registry.head,
    }[who]

    with pytest.raises(ValidationError) as refused:
        household_head_change(
            actor=cast.admin,
            household=registry.zhang,
            person=registry.ming,
            old_head_relation=Relation.PARENT,
            relations={person.pk: relation},
        )

    assert refused.value.message_dict == {f"relation_{person.pk}": [message]}
    assert Household.objects.get(pk=registry.zhang.pk).head_name == "张三"
    assert Membership.objects.count() == 5
    assert not AuditLog.objects.filter(action="head_change").exists()


def test_person_update_points_a_new_head_to_the_head_change(registry, cast):
    with pytest.raises(ValidationError) as refused:
        person_update(
            actor=cast.village, person=registry.li, data=_as_input(registry.li, relation="head")
        )

    assert refused.value.message_dict == {"relation": ["更换户主请在户页面办理“户主变更”"]}


# category_grant, category_end, grants_on


def test_category_grant_to_a_person_with_grade(registry, cast):
    disabled = Category.objects.get(code="disabled")

    grant = category_grant(
        actor=cast.village,
        category=disabled,
        person=registry.li,
        start=datetime.date(2024, 5, 1),
        grade="二级",
        document=" 残疾人证 ",
    )

    assert (grant.region_id, grant.document, grant.grade) == (WANQUANZHUANG, "残疾人证", "二级")
    row = _audit("categorygrant", grant.pk, "grant")
    assert row.changes["category"] == [None, "disabled"]
    assert row.changes["person"] == [None, registry.li.pk]


@pytest.mark.parametrize(
    ("code", "target", "options", "field", "message"),
    [
        ("disabled", "zhang", {"grade": "一级"}, "category", "是人员类别"),
        ("dibao", "li", {}, "category", "是户类别"),
        ("disabled", "li", {}, "grade", "须填写等级"),
        ("dibao", "zhang", {"grade": "二级"}, "grade", "“低保”不分等级，请不要填写等级"),
        ("disabled", "li", {"grade": "五级"}, "grade", "等级“五级”不是可选值，应为一级、二级"),
        ("dibao", "liu", {}, "start", "该时段已认定"),  # 低保 since 2026-02-01
        ("dibao", "zhang", {"start": datetime.date(2026, 7, 1)}, "start", "晚于今天"),
        ("dibao", "zhang", {"end": datetime.date(2026, 3, 1)}, "end", "不能早于起始日期"),
    ],
)
def test_category_grant_refuses(registry, cast, code, target, options, field, message):
    whom = {"household": getattr(registry, target)} if target != "li" else {"person": registry.li}

    with pytest.raises(ValidationError) as refused:
        category_grant(
            actor=cast.admin,
            category=Category.objects.get(code=code),
            **({"start": datetime.date(2026, 4, 1)} | options | whom),
        )

    assert message in refused.value.message_dict[field][0]
    assert CategoryGrant.objects.count() == 2


def test_category_grant_refuses_read_only_and_out_of_reach(registry, cast):
    dibao = registry.dibao
    with pytest.raises(PermissionDenied):
        category_grant(
            actor=cast.viewer,
            category=dibao,
            household=registry.zhang,
            start=datetime.date(2026, 5, 1),
        )
    with pytest.raises(PermissionDenied):
        category_grant(
            actor=cast.village,
            category=dibao,
            household=registry.liu,
            start=datetime.date(2026, 5, 1),
        )


def test_category_end_closes_the_period_once(registry, cast):
    grant = registry.liu.categories.get()

    category_end(actor=cast.township, grant=grant, end=datetime.date(2026, 6, 1), reason="收入超标")
    with pytest.raises(ValidationError, match="该认定已经终止"):
        category_end(actor=cast.township, grant=grant, end=datetime.date(2026, 6, 2))

    grant.refresh_from_db()
    assert (grant.end, grant.end_reason) == (datetime.date(2026, 6, 1), "收入超标")
    assert _audit("categorygrant", grant.pk, "end").changes == {
        "end": [None, "2026-06-01"],
        "end_reason": [None, "收入超标"],
    }


def test_category_end_refuses_an_end_before_the_start_and_other_users(registry, cast):
    grant = registry.liu.categories.get()

    with pytest.raises(ValidationError, match="不能早于起始日期 2026-02-01"):
        category_end(actor=cast.township, grant=grant, end=datetime.date(2026, 1, 1))
    with pytest.raises(PermissionDenied):
        category_end(actor=cast.village, grant=grant, end=datetime.date(2026, 6, 1))
    with pytest.raises(PermissionDenied):
        category_end(actor=cast.viewer, grant=grant, end=datetime.date(2026, 6, 1))


def test_who_was_on_dibao_on_the_first_of_march(registry, cast):
    march = grants_on(cast.admin, registry.dibao, datetime.date(2026, 3, 1))
    february = grants_on(cast.admin, registry.dibao, datetime.date(2026, 2, 10))
    last_day = grants_on(cast.admin, registry.dibao, datetime.date(2026, 2, 15))

    assert [g.household for g in march] == [registry.liu]
    assert {g.household for g in february} == {registry.zhang, registry.liu}
    assert [g.household for g in last_day.filter(household=registry.zhang)] == [registry.zhang]
    assert not grants_on(cast.village, registry.dibao, datetime.date(2026, 3, 1)).exists()
    on_march = household_list(
        cast.admin, HouseholdFilter(category=registry.dibao, on=datetime.date(2026, 3, 1))
    )
    assert list(on_march) == [registry.liu]


# dwelling_assess


def test_dwelling_assess_keeps_the_history_and_shows_the_latest(registry, cast):
    dwelling_assess(
        actor=cast.village,
        household=registry.zhang,
        grade="D",
        assessed_on=datetime.date(2026, 6, 1),
    )
    # A late entry of an older assessment does not replace the newer grade.
    dwelling_assess(
        actor=cast.village,
        household=registry.zhang,
        grade="B",
        assessed_on=datetime.date(2025, 9, 1),
    )

    dwelling = Dwelling.objects.get(household=registry.zhang)
    assert (dwelling.grade, dwelling.assessed_on) == ("D", datetime.date(2026, 6, 1))
    assert list(Assessment.objects.filter(dwelling=dwelling).values_list("grade", flat=True)) == [
        "D",
        "C",
        "B",
    ]
    rows = AuditLog.objects.filter(entity="households.dwelling", action="assess").order_by("id")
    assert rows[1].changes["grade"] == ["C", "D"]
    assert rows[1].actor == cast.village


def test_dwelling_assess_refuses(registry, cast):
    with pytest.raises(ValidationError, match="晚于今天"):
        dwelling_assess(
            actor=cast.admin,
            household=registry.zhang,
            grade="A",
            assessed_on=datetime.date(2026, 7, 1),
        )
    with pytest.raises(ValidationError, match="危房等级“E”不存在"):
        dwelling_assess(
            actor=cast.admin,
            household=registry.zhang,
            grade="E",
            assessed_on=datetime.date(2026, 6, 1),
        )
    with pytest.raises(ValidationError, match="受损原因"):
        dwelling_assess(
            actor=cast.admin,
            household=registry.zhang,
            grade="A",
            assessed_on=datetime.date(2026, 6, 1),
            cause="war",
        )
    with pytest.raises(PermissionDenied):
        dwelling_assess(
            actor=cast.viewer,
            household=registry.zhang,
            grade="A",
            assessed_on=datetime.date(2026, 6, 1),
        )
    with pytest.raises(PermissionDenied):
        dwelling_assess(
            actor=cast.township,
            household=registry.zhang,
            grade="A",
            assessed_on=datetime.date(2026, 6, 1),
        )
    assert Assessment.objects.count() == 1


# personal_reveal


def test_personal_reveal_gives_the_values_and_audits_the_view_not_the_values(registry, cast):
    values = personal_reveal(actor=cast.admin, person=registry.li)

    assert values == {"id_number": LI_ID, "phone": LI_PHONE}
    row = _audit("person", registry.li.pk, "view_personal")
    assert row.actor == cast.admin
    assert row.changes == {"id_number": [None, "(已查看)"], "phone": [None, "(已查看)"]}


def test_personal_reveal_refuses_without_the_permission_or_out_of_reach(registry, cast):
    with pytest.raises(PermissionDenied, match="没有查看完整个人信息的权限"):
        personal_reveal(actor=cast.village, person=registry.head)
    with pytest.raises(ValidationError, match="不在您的管辖范围内"):
        personal_reveal(actor=cast.outsider, person=registry.head)

    assert not AuditLog.objects.filter(action="view_personal").exists()
    assert ZHANG_PHONE  # the module's check after each test greps the audit rows


def test_a_move_made_by_someone_else_meanwhile_is_not_made_twice(cast):
    from minqing.households.models import Household, Membership, Person
    from minqing.households.people import PersonInput
    from minqing.households.services import household_create, person_move
    from minqing.lib.idcard import make_id_number
    from minqing.regions.models import Region

    village = Region.objects.get(code="130681107228")
    first = household_create(
        actor=cast.village,
        region=village,
        address="1组",
        head=PersonInput(
            name="甲", id_number=make_id_number("130681", datetime.date(1960, 1, 1), 1)
        ),
        members=[
            PersonInput(
                name="乙",
                relation="child",
                id_number=make_id_number("130681", datetime.date(1990, 1, 1), 2),
            )
        ],
    )
    second = household_create(
        actor=cast.village,
        region=village,
        address="2组",
        head=PersonInput(
            name="丙", id_number=make_id_number("130681", datetime.date(1961, 1, 1), 3)
        ),
    )
    third = household_create(
        actor=cast.village,
        region=village,
        address="3组",
        head=PersonInput(
            name="丁", id_number=make_id_number("130681", datetime.date(1962, 1, 1), 4)
        ),
    )
    stale = Person.objects.get(name="乙")  # what the second clerk loaded
    person_move(
        actor=cast.village, person=Person.objects.get(name="乙"), household=second, relation="other"
    )

    with pytest.raises(ValidationError, match="刚被他人迁移"):
        person_move(actor=cast.village, person=stale, household=third, relation="other")

    assert Membership.objects.filter(person=stale, left_on__isnull=True).count() == 1
    assert Household.objects.get(pk=first.pk).member_count == 1
    assert Person.objects.get(pk=stale.pk).household_id == second.pk


# household_list: the two plans (selectors.SPARSE) give the same households as the rule


@pytest.mark.parametrize("sparse", [1, 10**9], ids=["walk the roll", "list the rare filter"])
@pytest.mark.parametrize(
    "category, q", [("dibao", ""), ("", "张"), ("", "zs"), ("dibao", "刘"), ("dibao", "李")]
)
def test_both_plans_of_the_list_agree_with_the_rule(
    registry, cast, monkeypatch, sparse, category, q
):
    from minqing.households import selectors

    monkeypatch.setattr(selectors, "SPARSE", sparse)
    day = datetime.date(2026, 3, 1)
    held = Category.objects.get(code=category) if category else None
    listed = household_list(cast.admin, HouseholdFilter(category=held, on=day, q=q))

    def meets(household: Household) -> bool:
        people = Person.objects.filter(household=household)
        named = not q or any(p.name.startswith(q) or p.name_initials.startswith(q) for p in people)
        grants = grants_on(cast.admin, held, day).filter(household=household) if held else None
        return named and (held is None or grants.exists())

    expected = [h for h in selectors.households_in_reach(cast.admin) if meets(h)]
    assert sorted(h.pk for h in listed) == sorted(h.pk for h in expected)
