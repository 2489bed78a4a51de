"""A small flooded village next to the cast, the same in every test module of relief:

- ``d``      王大山's household in 万全庄村 (刁窝镇): grade D, flood, ground floor flooded, 受灾户
- ``c``      李二河's household in 万全庄村: grade C, flood, 受灾户, three members (one born 1950)
- ``b``      赵小桥's household in 文兴街社区 (双塔街道): grade B, ground floor flooded, 受灾户
- ``plain``  孙平安's household in 万全庄村: no damage, 低保 from 2025-01-01 to 2026-02-15
- ``other``  an outsider's grade-D, 受灾户 household in 永清县's 万全庄村

with the flood programme of 涿州市 (seeds.FLOOD_LINES, version 1, one cycle) and a depot
stocked with 100 t of sand and 10 t of rebar. Tests run on 2026-06-15 (Asia/Shanghai).
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from minqing.households.models import Category, Household, Relation
from minqing.households.people import PersonInput
from minqing.households.services import category_grant, dwelling_assess, household_create
from minqing.lib.idcard import make_id_number
from minqing.regions.models import Region
from minqing.relief import services
from minqing.relief.models import Depot, Material, Programme, ProgrammeKind
from minqing.relief.seeds import FLOOD_LINES, FLOOD_MATCH, line_inputs
from minqing.testing import OTHER_WANQUANZHUANG, WANQUANZHUANG, ZHUOZHOU

TODAY = datetime.date(2026, 6, 15)
WENXINGJIE = "130681001001"
FLOOD = datetime.date(2023, 8, 1)


@dataclass
class Village:
    d: Household
    c: Household
    b: Household
    plain: Household
    other: Household
    flood: Programme
    depot: Depot
    sand: Material
    rebar: Material


def make_household(code, name, seq, *, members=(), grade="", flooded=False, hit=False):
    household = household_create(
        actor=None,
        region=Region.objects.get(code=code),
        address=f"{name}家",
        head=PersonInput(
            name=name,
            id_number=make_id_number(code[:6], datetime.date(1970, 1, 1), seq),
        ),
        members=members,
        on=datetime.date(2020, 1, 1),
    )
    if grade:
        dwelling_assess(
            actor=None,
            household=household,
            grade=grade,
            assessed_on=datetime.date(2023, 8, 20),
            cause="flood" if hit else "",
            ground_floor_flooded=flooded,
        )
    if hit:
        category_grant(
            actor=None,
            category=Category.objects.get(code="disaster_hit"),
            household=household,
            start=FLOOD,
        )
    return Household.objects.get(pk=household.pk)


@pytest.fixture(autouse=True)
def _photos_in_tmp(settings, tmp_path):
    """Handover and milestone photos go under VAR_DIR/relief: a scratch one per test."""
    settings.VAR_DIR = tmp_path


@pytest.fixture
def today(time_machine):
    time_machine.move_to(
        datetime.datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False
    )
    return TODAY


def build_village(cast) -> Village:
    d = make_household(WANQUANZHUANG, "王大山", 1, grade="D", flooded=True, hit=True)
    c = make_household(
        WANQUANZHUANG,
        "李二河",
        2,
        members=[
            PersonInput(
                name="李老汉",
                id_number=make_id_number("130681", datetime.date(1950, 3, 1), 3),
                relation=Relation.PARENT,
            ),
            PersonInput(
                name="李小河",
                id_number=make_id_number("130681", datetime.date(2015, 5, 1), 4),
                relation=Relation.CHILD,
            ),
        ],
        grade="C",
        hit=True,
    )
    b = make_household(WENXINGJIE, "赵小桥", 5, grade="B", flooded=True, hit=True)
    plain = make_household(WANQUANZHUANG, "孙平安", 6)
    category_grant(
        actor=None,
        category=Category.objects.get(code="dibao"),
        household=plain,
        start=datetime.date(2025, 1, 1),
        end=datetime.date(2026, 2, 15),
    )
    other = make_household(OTHER_WANQUANZHUANG, "周外县", 7, grade="D", flooded=True, hit=True)
    county = Region.objects.get(code=ZHUOZHOU.ljust(12, "0"))
    flood = services.programme_create(
        actor=cast.admin,
        name="涿州市洪灾救助",
        kind=ProgrammeKind.ONE_OFF,
        region=county,
        regions=[county],
        starts_on=datetime.date(2023, 10, 1),
        budget_fen=100_000_000,
        exclusive_group="flood2023",
    )
    services.ruleset_create(
        actor=cast.admin, programme=flood, match=FLOOD_MATCH, lines=line_inputs(FLOOD_LINES)
    )
    depot = services.depot_create(actor=cast.admin, name="刁窝镇救灾物资库", region=county)
    sand = Material.objects.get(name="沙子")
    rebar = Material.objects.get(name="钢筋")
    services.stock_receive(
        actor=cast.admin, depot=depot, material=sand, quantity=100, source="省调拨"
    )
    services.stock_receive(
        actor=cast.admin, depot=depot, material=rebar, quantity=10, source="省调拨"
    )
    return Village(d, c, b, plain, other, flood, depot, sand, rebar)


@pytest.fixture
def village(cast, today) -> Village:
    return build_village(cast)


def approved_list(actor, programme, *, cycle=None):
    """Compute, review, post for 7 days and approve (moving the clock past the notice)."""
    cycle = cycle or programme.cycles.get()
    entitlement_list = services.list_compute(actor=actor, programme=programme, cycle=cycle)
    services.list_transition(actor=actor, entitlement_list=entitlement_list, to="reviewed")
    services.list_transition(
        actor=actor, entitlement_list=entitlement_list, to="notice", notice_days=7
    )
    entitlement_list.notice_from -= datetime.timedelta(days=7)
    entitlement_list.save(update_fields=["notice_from"])
    return services.list_transition(actor=actor, entitlement_list=entitlement_list, to="approved")
