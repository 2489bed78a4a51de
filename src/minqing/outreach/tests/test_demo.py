"""The demo county's outreach: two campaigns, every household paired, a history with gaps."""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from minqing.accounts.models import User
from minqing.outreach.models import Campaign, CampaignKind, Enrolment, Flag, Pairing, Visit
from minqing.outreach.selectors import coverage, my_households


def demo() -> str:
    out = io.StringIO()
    call_command("demo", households=300, seed=1, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo_county(db, time_machine):
    time_machine.move_to(datetime.datetime(2026, 12, 2, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    return demo()


def test_the_demo_runs_two_campaigns_with_every_household_paired(demo_county):
    kinds = set(Campaign.objects.values_list("kind", flat=True))
    assert kinds == {CampaignKind.WARM_WINTER, CampaignKind.POST_DISASTER}
    for campaign in Campaign.objects.all():
        total = coverage(campaign, "130681")[""]
        assert total.households > 0
        assert total.unpaired == 0
        assert 0 < total.rounds[0] < total.households  # visited, but not everyone: gaps
        assert total.visits == Visit.objects.filter(campaign=campaign).count()
    assert Enrolment.objects.filter(next_due__isnull=False).exists()
    assert "暖冬行动" in demo_county


def test_the_demo_paired_cadre_has_households_in_his_village(demo_county):
    zhao = User.objects.get(username="baolian")
    rows = my_households(zhao)
    assert rows and {r.region_id for r in rows} == {"130681107228"}


def test_the_demo_shows_a_flagged_impossible_sequence(demo_county):
    assert Visit.objects.filter(client_id__startswith="demo-").exists()
    assert Flag.objects.filter(kind="auto", reason__contains="10 分钟内").exists()


def test_rerunning_the_demo_changes_nothing(demo_county):
    counts = (Visit.objects.count(), Pairing.objects.count(), Enrolment.objects.count())
    output = demo()
    assert (Visit.objects.count(), Pairing.objects.count(), Enrolment.objects.count()) == counts
    assert "已存在" in output


def test_a_demo_built_before_the_morning_round_still_shows_the_flagged_sequence(db, time_machine):
    time_machine.move_to(datetime.datetime(2026, 12, 2, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    demo()
    flagged = Visit.objects.filter(flags__kind="auto", client_id__startswith="demo-")
    assert flagged.exists()
    assert max(v.visited_at for v in Visit.objects.all()) < datetime.datetime.now(
        ZoneInfo("Asia/Shanghai")
    )


def test_households_added_to_the_demo_later_are_enrolled_unpaired(demo_county):
    warm = Campaign.objects.get(kind=CampaignKind.WARM_WINTER)
    before = coverage(warm, "130681")[""]
    call_command("demo", households=100, seed=2, stdout=io.StringIO())
    after = coverage(warm, "130681")[""]
    added = after.households - before.households
    assert added > 0 and after.unpaired == before.unpaired + added
    assert Enrolment.objects.filter(campaign=warm).count() == after.households
