"""The demo county's year of cases: every page has something real to show."""

import io

from django.core.management import call_command

from minqing.accounts.models import User
from minqing.cases.models import Case, CaseEvent, Dispute, Status
from minqing.outreach.models import Need


def test_the_demo_fills_a_believable_year_of_cases(db, client_for):
    out = io.StringIO()
    call_command("demo", households=400, seed=1, stdout=out)
    assert "案件台账：生成" in out.getvalue()
    cases = Case.objects.all()
    assert cases.count() >= 100
    statuses = set(cases.values_list("status", flat=True))
    assert {Status.CLOSED, Status.MERGED} <= statuses
    assert cases.filter(status=Status.CLOSED).count() > cases.count() / 2
    assert cases.filter(supervised=True).exists()
    assert Dispute.objects.filter(result="agreement").exists()
    assert cases.exclude(status__in=[Status.CLOSED, Status.MERGED]).exists()
    # Every closed case was verified by someone and called back.
    closed = cases.filter(status=Status.CLOSED)
    assert not closed.filter(verified_by__isnull=True).exists()
    assert not closed.filter(contacts__isnull=True).exists()
    assert CaseEvent.objects.filter(action="close").count() == closed.count()
    admin = User.objects.get(username="admin")
    client = client_for(admin)
    newest = Case.objects.order_by("-id").first()
    assert newest.number in client.get("/cases/").content.decode()
    for url in ("/cases/", "/cases/mine/", "/cases/board/", "/cases/figures/"):
        assert client.get(url).status_code == 200
    # Recent visit needs were raised as cases the way a cadre raises them: each linked both ways.
    assert "走访诉求立案" in out.getvalue()
    raised = Need.objects.exclude(case_number="")
    assert raised.exists()
    for need in raised[:20]:
        case = Case.objects.get(number=need.case_number)
        assert (case.source, case.source_ref) == ("visit", f"outreach.need:{need.pk}")
        assert case.household_id == need.household_id
    # A rerun adds nothing.
    before = cases.count()
    call_command("demo", households=400, seed=1, stdout=io.StringIO())
    assert Case.objects.count() == before
