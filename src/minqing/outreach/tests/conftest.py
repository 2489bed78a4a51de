"""A small county for outreach tests, next to the cast (minqing.testing):

- 万全庄村 (刁窝镇): 张三 (特困: a 五必访 household, every 14 days), 王五, 赵六, 钱七
- 东张村 (刁窝镇): 孙八
- 文兴街社区 (双塔街道): 刘芳
- 永清县's 万全庄村: 周九 (out of every 涿州市 user's reach)

The campaign 暖冬行动 covers 涿州市 from 2026-06-01 to 2026-09-30 in 3 rounds. Tests run on
2026-06-15 10:00 (Asia/Shanghai); 张三 was first due on 2026-06-15, so not yet overdue.
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from minqing.households.models import Category, Household
from minqing.households.people import PersonInput
from minqing.households.services import category_grant, household_create
from minqing.lib.idcard import make_id_number
from minqing.outreach.models import Campaign, CampaignKind
from minqing.outreach.services import VisitInput, campaign_create, pairings_assign
from minqing.regions.models import Region
from minqing.testing import OTHER_WANQUANZHUANG, WANQUANZHUANG

TZ = ZoneInfo("Asia/Shanghai")
TODAY = datetime.date(2026, 6, 15)
START = datetime.date(2026, 6, 1)  # the world's campaign's first day
DONGZHANG = "130681107200"
WENXINGJIE = "130681001001"
ZHANG_PHONE = "13812345678"


def at(day: int, hour: int = 9, minute: int = 0, month: int = 6) -> datetime.datetime:
    return datetime.datetime(2026, month, day, hour, minute, tzinfo=TZ)


def visit_input(**kwargs) -> VisitInput:
    kwargs.setdefault("visited_at", at(15, 9))
    return VisitInput(**kwargs)


@dataclass
class World:
    campaign: Campaign
    zhang: Household
    wang: Household
    zhao: Household
    qian: Household
    sun: Household
    liu: Household
    zhou: Household

    @property
    def wanquanzhuang(self) -> list[Household]:
        return [self.zhang, self.wang, self.zhao, self.qian]


@pytest.fixture
def today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 6, 15, 10, 0, tzinfo=TZ), tick=False)
    return TODAY


def _household(code: str, name: str, address: str, n: int, phone: str = "") -> Household:
    return household_create(
        actor=None,
        region=Region.objects.get(code=code),
        address=address,
        head=PersonInput(
            name=name,
            id_number=make_id_number(code[:6], datetime.date(1950 + n, 1, 1), n),
            phone=phone,
        ),
        on=datetime.date(2020, 1, 1),
    )


@pytest.fixture
def world(cast, today) -> World:
    zhang = _household(WANQUANZHUANG, "张三", "万全庄村东街2号", 1, ZHANG_PHONE)
    wang = _household(WANQUANZHUANG, "王五", "万全庄村东街10号", 2)
    zhao = _household(WANQUANZHUANG, "赵六", "万全庄村西街1号", 3)
    qian = _household(WANQUANZHUANG, "钱七", "万全庄村东街4号", 4)
    sun = _household(DONGZHANG, "孙八", "东张村前街1号", 5)
    liu = _household(WENXINGJIE, "刘芳", "文兴街12号院", 6)
    zhou = _household(OTHER_WANQUANZHUANG, "周九", "永清县万全庄村", 7)
    category_grant(
        actor=None,
        category=Category.objects.get(code="tekun"),
        household=zhang,
        start=datetime.date(2024, 1, 1),
    )
    campaign = campaign_create(
        actor=cast.admin,
        name="2026年暖冬行动",
        kind=CampaignKind.WARM_WINTER,
        start=datetime.date(2026, 6, 1),
        end=datetime.date(2026, 9, 30),
        regions=["130681"],
        rounds=3,
        must_visit=[{"category": "tekun", "every_days": 14}],
    )
    return World(campaign, zhang, wang, zhao, qian, sun, liu, zhou)


@pytest.fixture
def paired(world, cast) -> World:
    """赵明 holds the four households of 万全庄村."""
    pairings_assign(
        actor=cast.admin,
        campaign=world.campaign,
        households=world.wanquanzhuang,
        cadre=cast.paired,
        start=START,
    )
    return world
