"""The demo county's outreach: a running 暖冬行动 over the whole county and a 灾后重建走访 of
the flooded townships, paired cadres for every household, and a history of visits with real
gaps (cadres who stopped visiting, must-visit households overdue, households never visited).

Deterministic for a seed and a day; idempotent: a campaign that exists is left as it is. The
bulk of the history is written in bulk and counted once (campaign_recount); the last few
visits go through visit_log, among them one impossible sequence for the supervisors to find.
"""

import datetime
import random
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from minqing.accounts.models import OrgUnit, UnitKind, User
from minqing.accounts.roles import Role
from minqing.households.generate import FLOODED_TOWNSHIPS
from minqing.households.models import Household
from minqing.outreach.models import (
    DEFAULT_ASPECTS,
    Campaign,
    CampaignKind,
    Enrolment,
    Need,
    PairingKind,
    Visit,
)
from minqing.outreach.services import (
    VisitInput,
    campaign_create,
    campaign_recount,
    pairing_create,
    pairings_assign,
    pairings_spread,
    visit_log,
)
from minqing.regions.models import Level, Region, prefix_q

COUNTY = "130681"
WANQUANZHUANG = "130681107228"
HOUSEHOLDS_PER_CADRE = 30
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = [
    "建华",
    "秀兰",
    "志强",
    "海燕",
    "立新",
    "红梅",
    "国庆",
    "丽娟",
    "文博",
    "晓东",
    "春生",
    "玉兰",
    "振宇",
    "桂芳",
    "德明",
    "淑珍",
    "永刚",
    "雪梅",
    "宏伟",
    "慧敏",
]
FOUND = [
    "取暖煤不够过冬",
    "屋顶漏雨",
    "老人独居，行动不便",
    "孩子上学有困难",
    "低保待遇未到账",
    "院墙开裂",
    "供暖设备损坏",
    "就医报销不清楚",
    "家中无劳动力",
    "生活基本稳定",
]
PROMISED = ["下周送棉被", "联系村委会维修", "协助申请临时救助", "帮助咨询医保政策", ""]
NEEDS = ["申请临时救助", "维修取暖设备", "修缮房屋", "办理低保", "协调就医", "申请危房改造"]


def _campaigns(today: datetime.date) -> list[dict]:
    return [
        {
            "name": f"{today.year}年暖冬行动",
            "kind": CampaignKind.WARM_WINTER,
            "start": today - datetime.timedelta(days=50),
            "end": today + datetime.timedelta(days=70),
            "regions": [COUNTY],
            "rounds": 2,
            "must_visit": [
                {"category": c, "every_days": 30}
                for c in ("tekun", "petitioner", "party_rep", "able_earner", "retired_cadre")
            ],
            "report_day": 20,
        },
        {
            "name": "“23·7”洪灾灾后重建走访",
            "kind": CampaignKind.POST_DISASTER,
            "start": today - datetime.timedelta(days=120),
            "end": today + datetime.timedelta(days=30),
            "regions": list(FLOODED_TOWNSHIPS),
            "rounds": 3,
            "must_visit": [
                {"category": "disaster_hit", "every_days": 21},
                {"category": "tekun", "every_days": 30},
            ],
            "report_day": 20,
        },
    ]


def _cadres(rng: random.Random, households: list[Household]) -> dict[str, list[User]]:
    """Paired cadres per township (one per HOUSEHOLDS_PER_CADRE households), created once.
    They have no password: they stand for the county's cadres, not for demo logins."""
    per_township: dict[str, int] = {}
    for h in households:
        per_township[h.region_id[:9]] = per_township.get(h.region_id[:9], 0) + 1
    units = {u.region_id[:9]: u for u in OrgUnit.objects.filter(kind=UnitKind.TOWNSHIP)}
    wanted, existing = (
        [],
        set(User.objects.filter(username__startswith="bl").values_list("username", flat=True)),
    )
    for township, n in sorted(per_township.items()):
        for i in range(max(1, n // HOUSEHOLDS_PER_CADRE)):
            username = f"bl{township[6:]}{i:02d}"
            if username not in existing:
                wanted.append(
                    User(
                        username=username,
                        full_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                        role=Role.PAIRED,
                        reach=township,
                        unit=units.get(township),
                        password=make_password(None),
                    )
                )
    User.objects.bulk_create(wanted)
    result: dict[str, list[User]] = {}
    for user in User.objects.filter(username__startswith="bl", role=Role.PAIRED).order_by(
        "username"
    ):
        result.setdefault(user.reach, []).append(user)
    return result


def _pair(campaign: Campaign, cadres: dict[str, list[User]], households: list[Household]) -> None:
    by_township: dict[str, list[Household]] = {}
    for h in households:
        if campaign.covers(h.region_id):
            by_township.setdefault(h.region_id[:9], []).append(h)
    start = campaign.start
    zhao = User.objects.filter(username="baolian").first()
    for township, group in sorted(by_township.items()):
        if zhao is not None and township == WANQUANZHUANG[:9]:
            mine = [h for h in group if h.region_id == WANQUANZHUANG]
            if mine:
                pairings_assign(
                    actor=None, campaign=campaign, households=mine, cadre=zhao, start=start
                )
            group = [h for h in group if h.region_id != WANQUANZHUANG]
        if group:
            pairings_spread(
                actor=None,
                campaign=campaign,
                households=group,
                cadres=cadres[township],
                start=start,
            )
    admin = User.objects.filter(username="admin").first()
    departments = list(OrgUnit.objects.filter(kind=UnitKind.DEPARTMENT).order_by("id"))
    townships = Region.objects.filter(prefix_q("code", COUNTY), level=Level.TOWNSHIP).order_by(
        "code"
    )
    for i, township in enumerate(t for t in townships if campaign.covers(t.code)):
        if admin is not None and i < 2:
            pairing_create(
                actor=None,
                campaign=campaign,
                kind=PairingKind.LEADER_TOWNSHIP,
                region=township,
                cadre=admin,
                start=start,
            )
        village = (
            Region.objects.filter(parent=township, level=Level.VILLAGE).order_by("code").first()
        )
        if village is not None and departments:
            pairing_create(
                actor=None,
                campaign=campaign,
                kind=PairingKind.DEPARTMENT_VILLAGE,
                region=village,
                unit=departments[i % len(departments)],
                start=start,
            )


def _when(rng, tz, day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(rng.randint(8, 17), rng.randint(0, 59)), tz)


def _history(rng: random.Random, campaign: Campaign, today: datetime.date) -> tuple[int, int]:
    """Bulk visits up to yesterday: most cadres keep at it, some stopped two weeks ago, a
    few never started; must-visit households mostly seen within their period."""
    tz = ZoneInfo("Asia/Shanghai")
    enrolments = list(
        Enrolment.objects.filter(campaign=campaign).select_related("household").order_by("id")
    )
    diligence = {}
    visits, needs = [], []
    span = (today - campaign.start).days
    for e in enrolments:
        if e.cadre_id not in diligence:
            diligence[e.cadre_id] = rng.choices(["good", "stopped", "never"], [80, 15, 5])[0]
        kind = diligence[e.cadre_id]
        if kind == "never" or span < 2:
            continue
        last_day = today - datetime.timedelta(days=15 if kind == "stopped" else 1)
        if last_day <= campaign.start:
            continue
        days = []
        if rng.random() < 0.85:
            days.append(
                campaign.start
                + datetime.timedelta(days=rng.randint(0, (last_day - campaign.start).days))
            )
            for _round in range(1, campaign.rounds):
                if rng.random() < 0.45:
                    days.append(
                        campaign.start
                        + datetime.timedelta(days=rng.randint(0, (last_day - campaign.start).days))
                    )
        if e.must_every_days and kind == "good" and rng.random() < 0.8:
            recent = max(campaign.start, today - datetime.timedelta(days=e.must_every_days - 3))
            days.append(
                recent + datetime.timedelta(days=rng.randint(0, max(0, (last_day - recent).days)))
            )
        for k, day in enumerate(sorted(days), start=1):
            found = rng.choice(FOUND)
            visit = Visit(
                campaign=campaign,
                household=e.household,
                region_id=e.region_id,
                author_id=e.cadre_id,
                visited_at=_when(rng, tz, day),
                address=e.household.address,
                round=k,
                aspects=rng.sample(campaign.aspects or DEFAULT_ASPECTS, rng.randint(1, 4)),
                family=rng.choice(["三口之家", "老两口", "独居", "四世同堂", "五口之家"]),
                thinking=rng.choice(["对政策满意", "希望多来看看", "有些顾虑", "情绪稳定"]),
                difficulty=found if "稳定" not in found else "",
                help_needed=rng.choice(NEEDS) if rng.random() < 0.4 else "",
                found=found,
                promised=rng.choice(PROMISED),
                confirmed_at=_when(rng, tz, day) if rng.random() < 0.4 else None,
                confirm_method="code" if rng.random() < 0.4 else "",
            )
            visit.confirm_method = "code" if visit.confirmed_at else ""
            visits.append(visit)
            if rng.random() < 0.25:
                needs.append((visit, rng.choice(NEEDS)))
    Visit.objects.bulk_create(visits, batch_size=1000)
    Need.objects.bulk_create(
        [
            Need(visit=v, household_id=v.household_id, region_id=v.region_id, text=t)
            for v, t in needs
        ],
        batch_size=1000,
    )
    campaign_recount(campaign=campaign)
    return len(visits), len(needs)


def _today_visits(campaign: Campaign, today: datetime.date) -> int:
    """The latest morning's visits (today's once its last is past, else yesterday's), through
    the service; one cadre logs two villages five minutes apart, which the system flags."""
    tz = ZoneInfo("Asia/Shanghai")
    morning = datetime.datetime.combine(today, datetime.time(8, 30), tz)
    if morning + datetime.timedelta(minutes=5 + 20 * 4) > timezone.now():  # built before then
        morning -= datetime.timedelta(days=1)
    rows = list(
        Enrolment.objects.filter(campaign=campaign, cadre__isnull=False)
        .select_related("household", "cadre")
        .order_by("cadre_id", "region_id", "id")
    )
    by_cadre: dict[int, list[Enrolment]] = {}
    for e in rows:
        by_cadre.setdefault(e.cadre_id, []).append(e)
    done = 0
    # The first cadre visits two villages: one paired in two if there is one, else one whose
    # reach holds another village of the campaign.
    spread = sorted(by_cadre.items(), key=lambda item: (len({e.region_id for e in item[1]}) < 2,))
    for n, (cadre_id, group) in enumerate(spread[:5]):
        picks = group[:2]
        if n == 0:
            first, reach = group[0], group[0].cadre.reach
            other = next(
                (
                    e
                    for e in group + rows
                    if e.region_id != first.region_id and e.region_id.startswith(reach)
                ),
                None,
            )
            picks = [first] if other is None else [first, other]
        for i, e in enumerate(picks):
            visited_at = morning + datetime.timedelta(minutes=5 * i + 20 * n)
            visit_log(
                actor=group[0].cadre,
                campaign=campaign,
                household=e.household,
                data=VisitInput(
                    visited_at=visited_at,
                    aspects=campaign.aspects[:2],
                    found="入户了解过冬准备情况",
                    client_id=f"demo-{campaign.pk}-{cadre_id}-{i}",
                ),
            )
            done += 1
    return done


def build_demo_outreach(*, seed: int = 1) -> str:
    today = timezone.localdate()
    households = list(Household.objects.filter(prefix_q("region_id", COUNTY)).order_by("id"))
    if not households:
        return ""
    rng = random.Random(f"outreach:{seed}")
    cadres = _cadres(rng, households)
    lines = []
    for spec in _campaigns(today):
        if Campaign.objects.filter(name=spec["name"]).exists():
            lines.append(f"走访活动“{spec['name']}”已存在，未改动。")
            continue
        campaign = campaign_create(actor=None, **spec)
        _pair(campaign, cadres, households)
        visits, needs = _history(rng, campaign, today)
        visits += _today_visits(campaign, today)
        enrolled = Enrolment.objects.filter(campaign=campaign)
        lines.append(
            f"走访活动“{campaign.name}”：在册 {enrolled.count():,} 户全部包联，"
            f"走访 {visits:,} 户次、诉求 {needs:,} 条；"
            f"尚未走访 {enrolled.filter(visits=0).count():,} 户，"
            f"必访户逾期 {enrolled.filter(next_due__lt=today).count():,} 户。"
        )
    return "\n".join(lines)
