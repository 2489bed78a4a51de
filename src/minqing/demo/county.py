"""The demo county, 涿州市 (130681): real townships and villages from the region data, its
units, one user per role, and a generated household roll (minqing.demo.households).
Deterministic: the same seed gives the same county, and a rerun changes nothing. Later issues
add visits and cases as further steps."""

import random
import string
from dataclasses import dataclass

from minqing.accounts.models import OrgUnit, UnitKind, User
from minqing.accounts.roles import Role
from minqing.accounts.services import orgunit_create, user_create, user_set_password
from minqing.regions.models import Region
from minqing.regions.services import read_region_file, regions_load

COUNTY = "130681"
WANQUANZHUANG = "130681107228"  # the demo village cadre's village: always has households
DEMO_HOUSEHOLDS = 2000  # small enough that ./dev.sh serve starts quickly
DEPARTMENTS = [
    "民政局",
    "住房和城乡建设局",
    "应急管理局",
    "水利局",
    "信访局",
    "农业农村局",
    "自然资源和规划局",
    "教育局",
    "卫生健康局",
    "人力资源和社会保障局",
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    reach: str
    unit: str
    can_view_personal: bool = False


DEMO_USERS = [
    DemoUser("admin", "张建国", Role.COUNTY_ADMIN, COUNTY, "涿州市民情活动办", True),
    DemoUser("duchao", "李秀英", Role.SUPERVISOR, COUNTY, "涿州市督查组"),
    DemoUser("minzheng", "王志强", Role.DEPARTMENT, COUNTY, "民政局", True),
    DemoUser("shuangta", "刘海燕", Role.TOWNSHIP, "130681001", "双塔街道"),
    DemoUser("wanquanzhuang", "陈立军", Role.VILLAGE, "130681107228", "万全庄村两委"),
    DemoUser("baolian", "赵明", Role.PAIRED, "130681107", "刁窝镇"),
    DemoUser("guest", "孙丽", Role.VIEWER, COUNTY, "涿州市民情活动办"),
]


def demo_password(seed: int, username: str) -> str:
    rng = random.Random(f"{seed}:{username}")
    return "Mq-" + "".join(rng.choices(string.ascii_letters + string.digits, k=9))


def build_units() -> dict[str, OrgUnit]:
    county = Region.objects.get(code=COUNTY.ljust(12, "0"))
    existing = {
        (u.region_id, u.name): u for u in OrgUnit.objects.filter(region__code__startswith=COUNTY)
    }

    def unit(name, kind, region, parent=None):
        if (region.code, name) not in existing:
            existing[(region.code, name)] = orgunit_create(
                actor=None, name=name, kind=kind, region=region, parent=parent
            )
        return existing[(region.code, name)]

    office = unit("涿州市民情活动办", UnitKind.COUNTY, county)
    unit("涿州市督查组", UnitKind.SUPERVISION, county, office)
    for name in DEPARTMENTS:
        unit(name, UnitKind.DEPARTMENT, county, office)
    townships = {}
    for region in Region.objects.filter(parent=county, retired_in__isnull=True).order_by("code"):
        townships[region.code] = unit(region.short_name, UnitKind.TOWNSHIP, region, office)
    for region in Region.objects.filter(level=5, code__startswith=COUNTY, retired_in__isnull=True):
        unit(f"{region.short_name}两委", UnitKind.VILLAGE, region, townships.get(region.parent_id))
    return {u.name: u for u in existing.values()}


def build_users(seed: int, units: dict[str, OrgUnit]) -> list[tuple[DemoUser, str]]:
    logins = []
    for spec in DEMO_USERS:
        password = demo_password(seed, spec.username)
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user_create(
                actor=None,
                username=spec.username,
                full_name=spec.full_name,
                role=spec.role,
                reach=spec.reach,
                password=password,
                unit=units[spec.unit],
                can_view_personal=spec.can_view_personal,
            )
        elif not user.check_password(password):
            # Rerun with another seed, or a password changed by hand: print what works.
            user_set_password(actor=None, user=user, password=password, old_password=None)
        logins.append((spec, password))
    return logins


def build_demo(*, seed: int = 1) -> list[tuple[DemoUser, str]]:
    """Regions, units and users (the households are a separate step: build_demo_households)."""
    if not Region.objects.filter(code=COUNTY.ljust(12, "0")).exists():
        regions_load(rows=read_region_file(), edition=2023, within=COUNTY)
    units = build_units()
    return build_users(seed, units)


def build_demo_households(*, seed: int = 1, count: int = DEMO_HOUSEHOLDS):
    """``count`` generated households over the county's villages, more in the flooded
    townships, at least a dozen in 万全庄村; only those not there yet are written."""
    from minqing.demo.households import build_households

    at_least = {WANQUANZHUANG: min(12, count)}
    return build_households(county=COUNTY, count=count, seed=seed, at_least=at_least)
