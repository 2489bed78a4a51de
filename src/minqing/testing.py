"""The named cast every test module uses, built in code (no fixtures files):

- ``admin``      张建国, county admin of 涿州市 (130681), may see personal data in full
- ``supervisor`` 李秀英, 督查 of 涿州市
- ``dept``       王志强, officer of 民政局 (涿州市)
- ``township``   刘海燕, officer of 双塔街道 (130681001)
- ``village``    陈立军, cadre of 万全庄村, 刁窝镇 (130681107228)
- ``paired``     赵明, paired cadre in 刁窝镇 (130681107)
- ``viewer``     孙丽, read-only, 涿州市
- ``outsider``   周强, county admin of 永清县 (131023), which has a 万全庄村 of its own
"""

import threading
from dataclasses import dataclass
from functools import cache

from django.core.exceptions import ValidationError
from django.db import connection

from minqing.accounts.models import User
from minqing.accounts.roles import Role
from minqing.accounts.services import user_create
from minqing.households.categories import seed_categories
from minqing.households.models import Category
from minqing.regions.codes import prefix_of
from minqing.regions.models import Region
from minqing.regions.services import read_region_file, regions_load

ZHUOZHOU = "130681"
YONGQING = "131023"
SHUANGTA = "130681001"
DIAOWO = "130681107"
WANQUANZHUANG = "130681107228"
OTHER_WANQUANZHUANG = "131023103202"
PASSWORD = "Cast-password-2023"


@cache
def _cast_region_rows() -> tuple[tuple[str, str], ...]:
    """The two counties and their ancestors, read once per test run."""
    return tuple(
        (code, name)
        for code, name in read_region_file()
        if code.startswith((ZHUOZHOU, YONGQING))
        or ZHUOZHOU.startswith(prefix_of(code))
        or YONGQING.startswith(prefix_of(code))
    )


def ensure_cast_regions() -> None:
    # A transactional test (the browser test) empties the tables, the seeded categories
    # too; put them back.
    if not Region.objects.filter(code=WANQUANZHUANG.ljust(12, "0")).exists():
        regions_load(rows=_cast_region_rows(), edition=2023)
    if not Category.objects.exists():
        seed_categories(Category)


@dataclass
class Cast:
    admin: User
    supervisor: User
    dept: User
    township: User
    village: User
    paired: User
    viewer: User
    outsider: User


def _user(username, full_name, role, reach, *, personal=False) -> User:
    return user_create(
        actor=None,
        username=username,
        full_name=full_name,
        role=role,
        reach=reach,
        password=PASSWORD,
        can_view_personal=personal,
    )


def build_cast() -> Cast:
    ensure_cast_regions()
    return Cast(
        admin=_user("admin", "张建国", Role.COUNTY_ADMIN, ZHUOZHOU, personal=True),
        supervisor=_user("supervisor", "李秀英", Role.SUPERVISOR, ZHUOZHOU),
        dept=_user("dept", "王志强", Role.DEPARTMENT, ZHUOZHOU),
        township=_user("township", "刘海燕", Role.TOWNSHIP, SHUANGTA),
        village=_user("village", "陈立军", Role.VILLAGE, WANQUANZHUANG),
        paired=_user("paired", "赵明", Role.PAIRED, DIAOWO),
        viewer=_user("viewer", "孙丽", Role.VIEWER, ZHUOZHOU),
        outsider=_user("outsider", "周强", Role.COUNTY_ADMIN, YONGQING, personal=True),
    )


def run_at_once(*calls):
    """Run the calls in threads released together; each result or error message."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except ValidationError as error:
            results[i] = error.messages[0]
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def set_status(person, status: str) -> None:
    """``person`` (moved out, deceased ...) through the registry's service, as a clerk would."""
    from minqing.households.models import Person
    from minqing.households.people import PersonInput
    from minqing.households.services import person_update

    current = Person.objects.get(pk=person.pk)
    person_update(
        actor=None,
        person=current,
        data=PersonInput(
            name=current.name,
            id_number=current.id_number,
            relation=current.relation,
            phone=current.phone,
            status=status,
        ),
    )
