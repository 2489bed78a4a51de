"""Two posts of one phone's entry at the same moment: real threads on the real database."""

import pytest

from minqing.outreach.models import Enrolment, Visit
from minqing.outreach.services import visit_log, visit_post
from minqing.outreach.tests.conftest import visit_input
from minqing.testing import run_at_once


@pytest.mark.parametrize("by_ids", [False, True], ids=["visit_log", "visit_post"])
def test_the_same_entry_posted_twice_at_once_makes_one_visit_and_both_get_it(
    flushable_db, world, cast, by_ids
):
    for n in range(5):  # each round a new entry; one lost race would show
        data = visit_input(client_id=f"phone-9:{n}")

        def post(data=data):
            if by_ids:  # as the API posts it
                return visit_post(
                    actor=cast.paired,
                    campaign_id=world.campaign.pk,
                    household_id=world.zhao.pk,
                    data=data,
                )
            return visit_log(
                actor=cast.paired, campaign=world.campaign, household=world.zhao, data=data
            )

        results = run_at_once(post, post)
        assert sorted(created for _visit, created in results) == [False, True]
        assert results[0][0].pk == results[1][0].pk
    assert Visit.objects.filter(household=world.zhao).count() == 5
    enrolment = Enrolment.objects.get(campaign=world.campaign, household=world.zhao)
    assert enrolment.visits == 5
