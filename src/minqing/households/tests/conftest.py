"""A small registry next to the cast, the same in every test module of the households app:

- ``zhang``   张三's household in 万全庄村 (刁窝镇): 张三 (head), 李四 (spouse), 张小明 (child);
              低保 from 2025-01-01 to 2026-02-15, dwelling graded C
- ``liu``     刘芳's household in 文兴街社区 (双塔街道); 低保 since 2026-02-01
- ``other``   another 张三 in the outsider's 万全庄村 (永清县)

and, where a test asks for ``headless``, 乙户主's household in 万全庄村, which its head left.

Tests run on 2026-06-15 (Asia/Shanghai), so that dates in the spring are in the past.
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from minqing.households.models import Category, Household, Person, Relation
from minqing.households.people import PersonInput
from minqing.households.services import (
    category_grant,
    dwelling_assess,
    household_create,
    person_move,
)
from minqing.lib.idcard import make_id_number
from minqing.regions.models import Region
from minqing.testing import OTHER_WANQUANZHUANG, WANQUANZHUANG

TODAY = datetime.date(2026, 6, 15)
WENXINGJIE = "130681001001"  # 文兴街社区, 双塔街道


def _id_ending_in_x(region6: str, birth: datetime.date) -> str:
    """A number whose check digit is X: its last four cannot hide in a hex hash."""
    for sequence in range(1, 1000):
        number = make_id_number(region6, birth, sequence)
        if number.endswith("X") and int(number[16]) % 2:  # and a man's
            return number
    raise AssertionError("no sequence gives X")


ZHANG_ID = _id_ending_in_x("130681", datetime.date(1958, 4, 9))
ZHANG_PHONE = "13812345678"
LI_ID = make_id_number("130681", datetime.date(1960, 2, 3), 22)
LI_PHONE = "13987654321"
MING_ID = make_id_number("130681", datetime.date(1985, 6, 15), 33)
LIU_ID = make_id_number("130681", datetime.date(1970, 11, 30), 44)
LIU_PHONE = "13700001111"
OTHER_ID = make_id_number("131023", datetime.date(1962, 7, 1), 55)
OTHER_PHONE = "15811112222"
YI_HEAD_ID = make_id_number("130681", datetime.date(1966, 3, 8), 71)
YI_MEMBER_ID = make_id_number("130681", datetime.date(1995, 9, 1), 72)


@dataclass
class Registry:
    zhang: Household
    liu: Household
    other: Household
    li: Person  # 张三's wife
    ming: Person  # their son
    dibao: Category

    @property
    def head(self) -> Person:
        return self.zhang.head


@pytest.fixture
def today(time_machine):
    time_machine.move_to(
        datetime.datetime(2026, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False
    )
    return TODAY


@pytest.fixture
def registry(cast, today) -> Registry:
    zhang = household_create(
        actor=None,
        region=Region.objects.get(code=WANQUANZHUANG),
        address="万全庄村东街8号",
        head=PersonInput(name="张三", id_number=ZHANG_ID, phone=ZHANG_PHONE),
        members=[
            PersonInput(name="李四", id_number=LI_ID, phone=LI_PHONE, relation=Relation.SPOUSE),
            PersonInput(name="张小明", id_number=MING_ID, relation=Relation.CHILD),
        ],
        on=datetime.date(2020, 1, 1),
    )
    liu = household_create(
        actor=None,
        region=Region.objects.get(code=WENXINGJIE),
        address="文兴街12号院3单元",
        head=PersonInput(name="刘芳", id_number=LIU_ID, phone=LIU_PHONE),
    )
    other = household_create(
        actor=None,
        region=Region.objects.get(code=OTHER_WANQUANZHUANG),
        address="永清县万全庄村",
        head=PersonInput(name="张三", id_number=OTHER_ID, phone=OTHER_PHONE),
    )
    dibao = Category.objects.get(code="dibao")
    category_grant(
        actor=None,
        category=dibao,
        household=zhang,
        start=datetime.date(2025, 1, 1),
        end=datetime.date(2026, 2, 15),
        document="涿民〔2025〕3号",
    )
    category_grant(actor=None, category=dibao, household=liu, start=datetime.date(2026, 2, 1))
    dwelling_assess(
        actor=None,
        household=zhang,
        grade="C",
        assessed_on=datetime.date(2026, 5, 20),
        appraiser="涿州市房屋安全鉴定站",
        cause="flood",
        ground_floor_flooded=True,
    )
    people = {p.name: p for p in zhang.members.all()}
    return Registry(
        zhang=Household.objects.get(pk=zhang.pk),
        liu=liu,
        other=other,
        li=people["李四"],
        ming=people["张小明"],
        dibao=dibao,
    )


@pytest.fixture
def headless(registry, today):
    """乙户主's household in 万全庄村, at 张三's address, with 乙成员; 乙户主 then moved to
    刘芳's household (an ordinary 迁移), which leaves 乙成员 in a household without a head,
    exported right under 张三's rows."""
    yi = household_create(
        actor=None,
        region=Region.objects.get(code=WANQUANZHUANG),
        address="万全庄村东街8号",
        head=PersonInput(name="乙户主", id_number=YI_HEAD_ID),
        members=[PersonInput(name="乙成员", id_number=YI_MEMBER_ID, relation=Relation.CHILD)],
    )
    person_move(actor=None, person=yi.head, household=registry.liu, relation=Relation.OTHER)
    yi.refresh_from_db()
    assert yi.head is None
    return yi


FULL_VALUES = [ZHANG_ID, ZHANG_PHONE, LI_ID, LI_PHONE, MING_ID, LIU_ID, LIU_PHONE]


def assert_no_personal_data(body: str | bytes) -> None:
    """Neither a whole ID number nor a whole phone of the registry appears in ``body``."""
    text = body.decode() if isinstance(body, bytes) else body
    for value in [*FULL_VALUES, OTHER_ID, OTHER_PHONE]:
        assert value not in text, f"{value} leaked"
