import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from minqing.audit.models import AuditLog
from minqing.households.models import Household, Person, PersonStatus
from minqing.households.services import household_close
from minqing.relief import services
from minqing.relief.models import Entitlement, MatchMode, ProgrammeKind
from minqing.relief.rules import clean_condition, describe
from minqing.relief.seeds import DIBAO_LINES, line_inputs
from minqing.relief.selectors import rule_preview
from minqing.testing import set_status

from .conftest import approved_list


def _granted(entitlement_list) -> set[tuple[str, str]]:
    return {
        (e.household.head_name, e.line.code)
        for e in entitlement_list.entitlements.select_related("household", "line")
    }


def test_flood_rules_grant_rebar_and_sand_by_grade_cash_and_waivers(cast, village):
    cycle = village.flood.cycles.get()
    entitlement_list = services.list_compute(actor=cast.admin, programme=village.flood, cycle=cycle)
    assert _granted(entitlement_list) == {
        ("王大山", "d_rebar"),
        ("王大山", "d_sand"),
        ("王大山", "winter_cash"),
        ("王大山", "property_fee"),
        ("王大山", "heating_fee"),
        ("李二河", "c_sand"),
        ("李二河", "winter_cash"),
        ("赵小桥", "winter_cash"),
        ("赵小桥", "property_fee"),
        ("赵小桥", "heating_fee"),
    }  # not 周外县 of another county, not 孙平安 who was not hit
    assert entitlement_list.ruleset.version == 1
    assert AuditLog.objects.filter(entity="relief.list", action="compute").count() == 1


def test_first_matching_line_only_leaves_a_household_to_its_first_line(cast, village):
    lines = line_inputs(
        [
            {
                "code": "d",
                "label": "D",
                "kind": "cash",
                "condition": {"grades": ["D"]},
                "amount_fen": 500,
            },
            {
                "code": "hit",
                "label": "受灾",
                "kind": "cash",
                "condition": {"categories": ["disaster_hit"]},
                "amount_fen": 100,
            },
        ]
    )
    services.ruleset_create(
        actor=cast.admin, programme=village.flood, match=MatchMode.FIRST, lines=lines
    )
    entitlement_list = services.list_compute(
        actor=cast.admin, programme=village.flood, cycle=village.flood.cycles.get()
    )
    assert _granted(entitlement_list) == {("王大山", "d"), ("李二河", "hit"), ("赵小桥", "hit")}
    preview = rule_preview(village.flood, lines, MatchMode.FIRST, datetime.date(2026, 6, 15))
    assert [p["households"] for p in preview] == [1, 2]


def test_conditions_on_members_ages_and_categories_on_the_cycles_day(cast, village):
    lines = line_inputs(
        [
            {
                "code": "old",
                "label": "有老人",
                "kind": "cash",
                "condition": {"age_min": 70},
                "amount_fen": 1,
            },
            {
                "code": "big",
                "label": "3人以上",
                "kind": "cash",
                "condition": {"members_min": 3},
                "amount_fen": 1,
            },
            {
                "code": "kid",
                "label": "有儿童",
                "kind": "cash",
                "condition": {"age_max": 12},
                "amount_fen": 1,
            },
        ]
    )
    counts = [
        p["households"]
        for p in rule_preview(village.flood, lines, MatchMode.ALL, datetime.date(2026, 6, 15))
    ]
    assert counts == [1, 1, 1]  # 李老汉 is 76, 李二河's household has 3, 李小河 is 11
    # 李小河 turns 13 before 2028-06-15: no child there then.
    later = rule_preview(village.flood, lines, MatchMode.ALL, datetime.date(2028, 6, 15))
    assert [p["households"] for p in later] == [1, 1, 0]
    not_dibao = line_inputs(
        [
            {
                "code": "n",
                "label": "非低保",
                "kind": "cash",
                "condition": {"not_categories": ["dibao"]},
                "amount_fen": 1,
            }
        ]
    )
    on_new_year = rule_preview(village.flood, not_dibao, MatchMode.ALL, datetime.date(2026, 1, 1))
    assert on_new_year[0]["households"] == 3  # 王大山, 李二河, 赵小桥; not 孙平安
    dibao = line_inputs(DIBAO_LINES)
    assert (
        rule_preview(village.flood, dibao, MatchMode.FIRST, datetime.date(2026, 1, 1))[0][
            "households"
        ]
        == 1
    )
    assert (
        rule_preview(village.flood, dibao, MatchMode.FIRST, datetime.date(2026, 3, 1))[0][
            "households"
        ]
        == 0
    )


def test_a_bad_condition_is_refused_in_chinese_naming_the_line(cast, village):
    with pytest.raises(ValidationError, match="第 1 条规则：“grades”中的 E 无法识别"):
        services.clean_lines(
            line_inputs(
                [
                    {
                        "code": "x",
                        "label": "x",
                        "kind": "cash",
                        "condition": {"grades": ["E"]},
                        "amount_fen": 1,
                    }
                ]
            )
        )
    with pytest.raises(ValidationError, match="无法识别的条件 colour"):
        clean_condition({"colour": "red"})
    with pytest.raises(ValidationError, match="“age_min”大于“age_max”"):
        clean_condition({"age_min": 80, "age_max": 60})
    with pytest.raises(ValidationError, match="现金金额应大于 0"):
        services.clean_lines(line_inputs([{"code": "x", "label": "x", "kind": "cash"}]))
    assert describe({"grades": ["D"], "categories": ["disaster_hit"]}) == "危房等级 D且受灾户"


def test_a_rule_change_is_a_new_version_and_old_lists_keep_theirs(cast, village):
    cycle = village.flood.cycles.get()
    first = approved_list(cast.admin, village.flood, cycle=cycle)
    rows = [
        {
            "code": "winter_cash",
            "label": "受灾户过冬补助1500元",
            "kind": "cash",
            "condition": {"categories": ["disaster_hit"]},
            "amount_fen": 150000,
        }
    ]
    v2 = services.ruleset_create(
        actor=cast.admin, programme=village.flood, match="all", lines=line_inputs(rows), note="提标"
    )
    assert v2.version == 2
    correction = services.list_compute(
        actor=cast.admin, programme=village.flood, cycle=cycle, corrects=first, note="提高补助标准"
    )
    assert correction.corrects == first and correction.ruleset == v2
    assert first.ruleset.version == 1
    assert {e.line.amount_fen for e in first.entitlements.filter(line__code="winter_cash")} == {
        100000
    }
    assert {e.line.amount_fen for e in correction.entitlements.all()} == {150000}


def test_the_list_moves_through_review_notice_and_approval_in_order(cast, village, time_machine):
    cycle = village.flood.cycles.get()
    entitlement_list = services.list_compute(actor=cast.admin, programme=village.flood, cycle=cycle)
    with pytest.raises(ValidationError, match="不能改为“已批准”"):
        services.list_transition(actor=cast.admin, entitlement_list=entitlement_list, to="approved")
    services.list_transition(actor=cast.admin, entitlement_list=entitlement_list, to="reviewed")
    with pytest.raises(ValidationError, match="公示期至少 1 天"):
        services.list_transition(actor=cast.admin, entitlement_list=entitlement_list, to="notice")
    services.list_transition(
        actor=cast.admin, entitlement_list=entitlement_list, to="notice", notice_days=7
    )
    objection = services.objection_record(
        actor=cast.village,
        entitlement_list=entitlement_list,
        household=village.c,
        raised_by="村民甲",
        text="李二河家房屋已自行修好",
    )
    with pytest.raises(ValidationError, match="公示期到 2026-06-22 结束"):
        services.list_transition(actor=cast.admin, entitlement_list=entitlement_list, to="approved")
    time_machine.move_to(datetime.datetime(2026, 6, 23, 9, 0), tick=False)
    with pytest.raises(ValidationError, match="还有未处理的异议"):
        services.list_transition(actor=cast.admin, entitlement_list=entitlement_list, to="approved")
    services.objection_decide(
        actor=cast.admin, objection=objection, decision="upheld", answer="经核实属实"
    )
    services.list_transition(actor=cast.admin, entitlement_list=entitlement_list, to="approved")
    assert set(
        entitlement_list.entitlements.filter(excluded=True).values_list("line__code", flat=True)
    ) == {"c_sand", "winter_cash"}
    assert list(entitlement_list.steps.values_list("status", flat=True)) == [
        "computed",
        "reviewed",
        "notice",
        "approved",
    ]
    assert AuditLog.objects.filter(entity="relief.list", action="transition").count() == 3


def test_an_approved_list_never_changes_only_a_linked_correction(cast, village):
    entitlement_list = approved_list(cast.admin, village.flood)
    before = list(Entitlement.objects.filter(entitlement_list=entitlement_list).values())
    with pytest.raises(ValidationError, match="如需调整请生成更正名单"):
        services.list_compute(
            actor=cast.admin, programme=village.flood, cycle=entitlement_list.cycle
        )
    with pytest.raises(ValidationError, match="只有公示中的名单可以登记异议"):
        services.objection_record(
            actor=cast.admin, entitlement_list=entitlement_list, raised_by="甲", text="乙"
        )
    with pytest.raises(ValidationError, match="请说明更正原因"):
        services.list_compute(
            actor=cast.admin,
            programme=village.flood,
            cycle=entitlement_list.cycle,
            corrects=entitlement_list,
        )
    assert list(Entitlement.objects.filter(entitlement_list=entitlement_list).values()) == before


def test_only_writers_within_reach_set_up_programmes(cast, village):
    with pytest.raises(PermissionDenied):
        services.ruleset_create(actor=cast.viewer, programme=village.flood, match="all", lines=[])
    with pytest.raises(PermissionDenied):
        services.list_compute(
            actor=cast.village, programme=village.flood, cycle=village.flood.cycles.get()
        )


def test_a_monthly_programme_has_a_cycle_per_month(cast, village):
    county = village.flood.region
    dibao = services.programme_create(
        actor=cast.admin,
        name="低保金",
        kind=ProgrammeKind.MONTHLY,
        region=county,
        regions=[county],
        starts_on=datetime.date(2026, 1, 1),
    )
    services.ruleset_create(
        actor=cast.admin, programme=dibao, match="first", lines=line_inputs(DIBAO_LINES)
    )
    january = services.cycle_create(
        actor=cast.admin, programme=dibao, label="2026-01", on=datetime.date(2026, 1, 1)
    )
    march = services.cycle_create(
        actor=cast.admin, programme=dibao, label="2026-03", on=datetime.date(2026, 3, 1)
    )
    with pytest.raises(ValidationError, match="批次“2026-03”已存在"):
        services.cycle_create(
            actor=cast.admin, programme=dibao, label="2026-03", on=datetime.date(2026, 3, 1)
        )
    assert _granted(services.list_compute(actor=cast.admin, programme=dibao, cycle=january)) == {
        ("孙平安", "dibao_monthly")
    }
    assert _granted(services.list_compute(actor=cast.admin, programme=dibao, cycle=march)) == set()


@pytest.mark.parametrize(
    ("closed_on", "paid"), [(datetime.date(2023, 9, 1), False), (datetime.date(2026, 6, 1), True)]
)
def test_a_household_closed_by_the_cycles_day_is_on_no_list(cast, village, closed_on, paid):
    set_status(Person.objects.get(pk=village.b.head_id), PersonStatus.MOVED_OUT)
    household_close(
        actor=cast.admin,
        household=Household.objects.get(pk=village.b.pk),
        reason="全户迁出",
        on=closed_on,
    )
    cycle = village.flood.cycles.get()  # 2023-10-01
    entitlement_list = services.list_compute(actor=cast.admin, programme=village.flood, cycle=cycle)
    names = {name for name, _line in _granted(entitlement_list)}
    assert ("赵小桥" in names) is paid
    assert {"王大山", "李二河"} <= names
