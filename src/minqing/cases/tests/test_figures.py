"""The figures read from the monthly tally agree with counting the cases themselves, after a
generated history of every kind of change (registration, dispatch, send-back, escalation by
hand and by the sweep, answer, verification, return contacts that reopen, closing, merging,
extensions, mediation, refused moves), for every period shape and grouping."""

import contextlib
import datetime
import io
import random
from collections import Counter

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from minqing.accounts.models import OrgUnit
from minqing.cases import services
from minqing.cases.figures import FIGURES, by_region, by_unit, figures_by_group, figures_rebuild
from minqing.cases.models import (
    TALLY_COUNTS,
    Case,
    CaseTally,
    CaseUnitTally,
    Outcome,
    Rating,
    Status,
)
from minqing.regions.models import Level, Region, prefix_q
from minqing.testing import DIAOWO, SHUANGTA, WANQUANZHUANG

TZ = datetime.timezone(datetime.timedelta(hours=8))
CATEGORIES = ["utilities.power", "housing.repair", "property.neighbour", "relief.temporary"]


def counted(user, group, start, end) -> dict:
    """The straightforward computation: each figure's conditions counted over the cases."""
    scope = Case.objects.filter(prefix_q("region_id", user.reach))
    period = scope
    if start:
        period = period.filter(registered_at__gte=start)
    if end:
        period = period.filter(registered_at__lt=end)
    result: dict = {}
    for name, figure in FIGURES.items():
        rows = period if figure.in_period else scope
        for part in ("num", "den") if figure.denominator else ("num",):
            keys = rows.filter(figure.rows(part)).values_list(group.field, flat=True)
            for key, n in Counter(group.key(k) for k in keys).items():
                result.setdefault(key, {}).setdefault(name, [0, 0])[part == "den"] = n
    return result


def read(groups: dict) -> dict:
    """figures_by_group's result in counted's shape, zeros left out."""
    result: dict = {}
    for key, cells in groups.items():
        for name, cell in cells.items():
            if cell.value or cell.total:
                result.setdefault(key, {})[name] = [cell.value, cell.total or 0]
    return result


def tally_rows() -> set:
    """Both tallies' rows, without those whose cases all moved elsewhere."""
    rows = {(None, *row) for row in CaseTally.objects.values_list("month", "region", *TALLY_COUNTS)}
    rows |= set(CaseUnitTally.objects.values_list("unit", "month", "region", *TALLY_COUNTS))
    return {row for row in rows if any(row[3:])}


class History:
    """Random moves through the services, as the people of the cast would make them."""

    def __init__(self, cast, diaowo, rng):
        self.cast, self.rng = cast, rng
        villages = Region.objects.filter(level=Level.VILLAGE).order_by("code")
        self.villages = [
            Region.objects.get(code=WANQUANZHUANG),
            villages.filter(code__startswith=DIAOWO).exclude(code=WANQUANZHUANG).first(),
            villages.filter(code__startswith=SHUANGTA).first(),
        ]
        self.units = list(OrgUnit.objects.all())
        # Who handles a case: the nearest of the cast that reaches its village.
        self.handlers = [cast.village, diaowo, cast.township]

    def pick(self, cases) -> Case | None:
        ids = list(cases.order_by("pk").values_list("pk", flat=True))
        return Case.objects.get(pk=self.rng.choice(ids)) if ids else None

    def handler(self, case: Case):
        return next(h for h in self.handlers if h.reaches(case.region_id))

    def register(self):
        rng = self.rng
        return services.case_register(
            self.cast.admin,
            source="visit",
            region=rng.choice(self.villages),
            text=f"群众反映的问题{rng.randint(1, 10**6)}",
            category_code=rng.choice(CATEGORIES),
        )

    def move(self, case: Case) -> None:
        cast, rng = self.cast, self.rng
        admin, village = cast.admin, self.handler(case)
        moves = {
            Status.REGISTERED: ["assign", "assign", "assign", "escalate", "merge"],
            Status.ASSIGNED: ["accept", "accept", "accept", "send_back", "escalate"],
            Status.SENT_BACK: ["assign"],
            Status.ESCALATED: ["assign"],
            Status.ACCEPTED: ["answer", "start", "extend", "escalate", "mediate"],
            Status.IN_PROGRESS: ["answer", "extend", "merge", "mediate"],
            Status.REOPENED: ["answer"],
            Status.ANSWERED: ["verify", "verify", "contact"],
            Status.VERIFIED: ["contact", "close"],
            Status.CLOSED: ["reopen", "mediate"],
        }.get(case.status, ["close"])
        name = rng.choice(moves)
        if name == "assign":
            unit = rng.choice([*self.units, None])
            services.case_assign(actor=admin, case=case, unit=unit, handler=village)
        elif name == "accept":
            services.case_accept(actor=village, case=case)
        elif name == "send_back":
            services.case_send_back(actor=village, case=case, reason="非本村职责", basis="职责清单")
        elif name == "start":
            services.case_start(actor=village, case=case)
        elif name == "answer":
            outcome = rng.choice(Outcome.values)
            services.case_answer(actor=village, case=case, outcome=outcome, answer="已办理")
        elif name == "verify":
            services.case_verify(actor=admin, case=case, passed=rng.random() < 0.8, note="复核")
        elif name == "contact":
            rating = rng.choice(Rating.values)
            services.return_contact_record(actor=admin, case=case, rating=rating, method="phone")
        elif name == "close":
            services.case_close(actor=admin, case=case)
        elif name == "escalate":
            services.case_escalate(actor=admin, case=case, reason="需上级协调")
        elif name == "merge":
            into = Case.objects.exclude(pk=case.pk).exclude(status__in=["closed", "merged"])
            into = self.pick(into)
            if into is not None:
                services.case_merge(actor=admin, case=case, into=into, reason="重复反映")
        elif name == "reopen":
            services.case_reopen(actor=admin, case=case, reason="问题反复")
        elif name == "extend":
            extension = services.extension_request(
                actor=village, case=case, workdays=3, reason="需协调"
            )
            services.extension_decide(actor=admin, extension=extension, approve=rng.random() < 0.7)
        elif name == "mediate":
            self.mediate(case)

    def mediate(self, case: Case) -> None:
        village, today = self.handler(case), datetime.date.today()
        services.dispute_party_add(actor=village, case=case, name="张三", role="applicant")
        case = Case.objects.get(pk=case.pk)
        services.dispute_party_add(actor=village, case=case, name="李四", role="respondent")
        case = Case.objects.get(pk=case.pk)
        services.mediation_session_add(
            actor=village, case=case, held_on=today, place="村委会", record="双方陈述"
        )
        case = Case.objects.get(pk=case.pk)
        result = self.rng.choice(["agreement", "no_agreement", "referred"])
        agreement = services.Agreement(
            facts="相邻通行",
            terms="互让一米",
            performance_method="自行拆除",
            perform_by=today + datetime.timedelta(days=10),
            signed_on=today,
            signatures="张三、李四",
        )
        services.mediation_result_record(
            actor=village, case=case, result=result, on=today, agreement=agreement
        )

    def run(self, start: datetime.datetime, days: int) -> None:
        rng = self.rng
        for day in range(days):
            moment = start + datetime.timedelta(days=day, hours=rng.randint(0, 10))
            with time_machine.travel(moment, tick=False):
                for _ in range(rng.choice([0, 1, 1, 2])):
                    self.register()
                for _ in range(6):
                    case = self.pick(Case.objects.exclude(status=Status.MERGED))
                    if case is None:
                        continue
                    # A refused move changes nothing, the tally included.
                    with contextlib.suppress(ValidationError, PermissionDenied):
                        self.move(case)
                if day % 9 == 0:
                    services.sweep()


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=TZ)


PERIODS = [
    (None, None),
    (at(2026, 9, 1), at(2026, 11, 1)),  # whole months
    (at(2026, 8, 25, 13, 30), at(2026, 11, 3, 8)),  # months and days on both sides
    (at(2026, 9, 10), at(2026, 9, 20)),  # within one month
    (at(2026, 10, 1), None),
    (None, at(2026, 10, 15, 23, 59)),
    (at(2026, 9, 30, 16), at(2026, 10, 1, 16)),  # one day across a month, in UTC too
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_tally_gives_the_figures_of_counting_the_cases(cast, diaowo, seed):
    History(cast, diaowo, random.Random(seed)).run(at(2026, 8, 20, 9), 100)
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {Status.CLOSED, Status.MERGED} <= statuses
    assert Case.objects.filter(escalated_count__gt=0).exists()
    assert Case.objects.filter(reopened_count__gt=0).exists()
    for user in (cast.admin, diaowo, cast.village):
        digits = {6: 9, 9: 12}.get(len(user.reach), 12)
        for group in (by_region(digits), by_unit()):
            for start, end in PERIODS:
                fast = figures_by_group(user, group=group, start=start, end=end)
                assert read(fast) == counted(user, group, start, end), (user, start, end)
    kept = tally_rows()
    assert kept
    figures_rebuild()
    assert tally_rows() == kept


def test_the_rebuild_command_repairs_the_tally(cast, diaowo):
    History(cast, diaowo, random.Random(3)).run(at(2026, 9, 20, 9), 20)
    kept = tally_rows()
    CaseTally.objects.update(received=0)
    CaseUnitTally.objects.filter(unit=0).delete()
    Case.objects.update(flags=0)
    call_command("case_tally_rebuild", stdout=io.StringIO())
    assert tally_rows() == kept
    group = by_region(9)
    assert read(figures_by_group(cast.admin, group=group)) == counted(cast.admin, group, None, None)
