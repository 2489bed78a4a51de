import pytest

from minqing.accounts.models import OrgUnit, UnitKind
from minqing.accounts.services import orgunit_create
from minqing.audit.models import AuditLog
from minqing.regions.models import Region
from minqing.testing import WANQUANZHUANG, YONGQING, ZHUOZHOU


@pytest.fixture
def units(cast):
    county = Region.objects.get(code=ZHUOZHOU.ljust(12, "0"))
    village = Region.objects.get(code=WANQUANZHUANG)
    other = Region.objects.get(code=YONGQING.ljust(12, "0"))
    office = orgunit_create(
        actor=cast.admin, name="涿州市民情活动办", kind=UnitKind.COUNTY, region=county
    )
    orgunit_create(
        actor=None, name="万全庄村两委", kind=UnitKind.VILLAGE, region=village, parent=office
    )
    orgunit_create(actor=None, name="永清县民政局", kind=UnitKind.DEPARTMENT, region=other)
    return office


def test_county_admin_lists_the_units_of_their_county_only(cast, units, client_for):
    html = client_for(cast.admin).get("/accounts/units/").content.decode()
    assert "涿州市民情活动办" in html
    assert "万全庄村两委" in html
    assert "永清县民政局" not in html


def test_creating_a_unit_is_audited_with_its_actor(cast, units):
    row = AuditLog.objects.get(entity="accounts.orgunit", entity_id=str(units.pk))
    assert row.actor == cast.admin
    assert row.changes["name"] == [None, "涿州市民情活动办"]


def test_a_unit_outside_the_admins_reach_cannot_be_created(cast):
    other = Region.objects.get(code=YONGQING.ljust(12, "0"))
    with pytest.raises(Exception, match="没有在该区划下创建单位的权限"):
        orgunit_create(actor=cast.admin, name="越权单位", kind=UnitKind.DEPARTMENT, region=other)
    assert not OrgUnit.objects.filter(name="越权单位").exists()


@pytest.mark.parametrize("who", ["supervisor", "dept", "township", "village", "paired", "viewer"])
def test_only_user_managers_see_the_units_page(cast, units, client_for, who):
    assert client_for(getattr(cast, who)).get("/accounts/units/").status_code == 403


def test_the_units_page_is_read_only(cast, units, client_for):
    assert client_for(cast.admin).post("/accounts/units/").status_code == 405


def test_the_units_page_costs_a_fixed_number_of_queries(
    cast, units, client_for, django_assert_max_num_queries
):
    client = client_for(cast.admin)
    with django_assert_max_num_queries(8):
        client.get("/accounts/units/")
