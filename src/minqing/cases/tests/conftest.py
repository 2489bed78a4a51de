import pytest

from minqing.accounts.models import OrgUnit, UnitKind
from minqing.accounts.roles import Role
from minqing.accounts.services import user_create
from minqing.cases.models import CaseCategory, DeadlineRule
from minqing.cases.taxonomy import seed_taxonomy
from minqing.regions.models import Region
from minqing.testing import DIAOWO, PASSWORD, WANQUANZHUANG


@pytest.fixture(autouse=True)
def _taxonomy(request):
    """A transactional test empties the seeded tables; put the taxonomy back."""
    for name in ("transactional_db", "db"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
            if not DeadlineRule.objects.exists():
                seed_taxonomy(CaseCategory, DeadlineRule)
            return


@pytest.fixture
def diaowo(cast):
    """刁窝镇's officer and the units of 刁窝镇 and 万全庄村."""
    township = OrgUnit.objects.create(
        name="刁窝镇人民政府",
        kind=UnitKind.TOWNSHIP,
        region=Region.objects.get(code=DIAOWO + "000"),
    )
    OrgUnit.objects.create(
        name="万全庄村两委",
        kind=UnitKind.VILLAGE,
        region=Region.objects.get(code=WANQUANZHUANG),
        parent=township,
    )
    return user_create(
        actor=None,
        username="diaowo",
        full_name="高峰",
        role=Role.TOWNSHIP,
        reach=DIAOWO,
        password=PASSWORD,
        unit=township,
    )
