"""A household closed (销户) leaves the campaigns still running: their coverage, gap lists and
the cadre's list; it takes no visit; reopened, it comes back with its visits and its cadre."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from minqing.households.models import Person, PersonStatus
from minqing.households.services import household_close, household_reopen
from minqing.outreach.models import Enrolment, Visit
from minqing.outreach.selectors import coverage, gap_list, my_households, visit_list
from minqing.outreach.services import visit_log
from minqing.outreach.tests.conftest import at, visit_input
from minqing.testing import DIAOWO, WANQUANZHUANG, set_status


def _figures(world, prefix="130681"):
    total = coverage(world.campaign, prefix)[""]
    return total.households, total.rounds, total.must_visit, total.overdue, total.visits


def _close_zhang(world, cast):
    set_status(Person.objects.get(pk=world.zhang.head_id), PersonStatus.DECEASED)
    world.zhang.refresh_from_db()
    household_close(
        actor=cast.admin, household=world.zhang, reason="户主已故", on=datetime.date(2026, 6, 14)
    )


def test_a_closed_household_leaves_coverage_and_comes_back_when_reopened(
    paired, cast, time_machine
):
    world = paired
    visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.zhang,
        data=visit_input(visited_at=at(10)),
    )
    time_machine.move_to(datetime.datetime(2026, 7, 1, 10, 0, tzinfo=at(1).tzinfo), tick=False)
    # 张三 (特困, every 14 days) was last visited on 10 June: overdue on 1 July.
    assert [e.household_id for e in gap_list(world.campaign, WANQUANZHUANG)] == [world.zhang.pk]
    before = {prefix: _figures(world, prefix) for prefix in ("130681", DIAOWO, WANQUANZHUANG)}
    assert before["130681"] == (6, [1, 0, 0], 1, 1, 1)

    _close_zhang(world, cast)
    for prefix in ("130681", DIAOWO, WANQUANZHUANG):
        households, _rounds, must, overdue, visits = before[prefix]
        # Its visit was made: it stays in the visits figure (and the visit list).
        assert _figures(world, prefix) == (households - 1, [0, 0, 0], must - 1, overdue - 1, 1)
        visits_page = visit_list(cast.admin, campaign=world.campaign, prefix=prefix)
        assert visits_page.count() == visits == 1
    assert list(gap_list(world.campaign, "130681")) == []
    assert world.zhang.pk not in [e.household_id for e in my_households(cast.paired)]
    assert not Enrolment.objects.filter(household=world.zhang).exists()
    with pytest.raises(ValidationError) as refused:
        visit_log(
            actor=cast.paired,
            campaign=world.campaign,
            household=world.zhang,
            data=visit_input(visited_at=at(1, month=7)),
        )
    assert refused.value.messages == ["该户已于 2026-06-14 销户，不再走访"]

    household_reopen(actor=cast.admin, household=world.zhang, reason="误销户")
    for prefix in ("130681", DIAOWO, WANQUANZHUANG):
        assert _figures(world, prefix) == before[prefix]
    enrolment = Enrolment.objects.get(household=world.zhang)
    assert (enrolment.visits, enrolment.cadre, enrolment.last_visit_at) == (1, cast.paired, at(10))
    assert [e.household_id for e in gap_list(world.campaign, WANQUANZHUANG)] == [world.zhang.pk]
    assert world.zhang.pk in [e.household_id for e in my_households(cast.paired)]


def test_a_closed_household_offers_no_visit_and_a_form_open_before_gets_the_reason(
    paired, cast, client_for
):
    world = paired
    client = client_for(cast.paired)
    link = f"/outreach/{world.campaign.pk}/visit/{world.zhang.pk}/"
    assert link in client.get(f"/households/{world.zhang.pk}/").content.decode()
    _close_zhang(world, cast)
    assert link not in client.get(f"/households/{world.zhang.pk}/").content.decode()
    # A form opened before the 销户, saved after it: the reason, not a server error.
    response = client.post(link, {"visited_at": "2026-06-15T09:30", "aspects": ["生活"]})
    assert response.status_code == 302
    assert response["Location"] == f"/households/{world.zhang.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "该户已于 2026-06-14 销户，不再走访" in page
    assert not Visit.objects.filter(household=world.zhang).exists()
