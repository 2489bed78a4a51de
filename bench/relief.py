"""Relief at 涿州市's size, on PostgreSQL (``--pg`` / BENCH_PG_URL; default
``postgresql://postgres@127.0.0.1:5432/minqing_bench_relief``, dropped and created, dropped at
the end), or on a scratch SQLite file when no PostgreSQL is given.

The roll: the generated 涿州市 households (``BENCH_HOUSEHOLDS``, default 230,000 ≈ 700,000
people) written in bulk with what eligibility reads (region, member count, birth dates and
status, dwellings, categories), without ID numbers or phones, which no rule reads.

relief.eligibility
    ``list_compute`` of the flood programme (seeds.FLOOD_LINES: six lines, "all matching") and
    of a 低保 month (one line, categories on a date) over every household: one INSERT … SELECT
    per line. Target ≤ 5 s for the flood rule set on PostgreSQL. The baseline is the bare SQL
    a developer would write by hand to select the same households (one SELECT per line with
    joins, rows fetched), checked to give the same counts.

``BENCH_RELIEF_KEEP=1``: keep the PostgreSQL database after the run and reuse its roll in
the next one (a developer's shortcut: loading 230,000 households takes minutes).

relief.pay
    1,000 concurrent handover requests for 500 households (each household's winter cash asked
    for twice, by two clerks, in shuffled order) through ``payment_handover`` on 16 threads,
    each with its own connection. Reports the throughput and checks that every household was
    paid exactly once and every second request was told "already paid".
"""

import atexit
import datetime
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from bench import Figure, Result
from bench import _households as H
from bench._support import close_database, fresh_postgres, measure, use_database

ELIGIBILITY_TARGET = 5.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/minqing_bench_relief"
PAY_HOUSEHOLDS = 500
PAY_THREADS = 16
SQLITE_THREADS = 4  # one writer at a time: more threads only queue longer for the lock
BATCH = 5000

_state: dict = {}


def _pg_url() -> str | None:
    url = os.environ.get("BENCH_PG_URL")
    if url and url.rstrip("/").endswith("/minqing_bench"):
        return url.rstrip("/") + "_relief"  # the shared default: keep to our own database
    return url or None


def _load_roll(households: int) -> None:
    """The generated roll, in bulk: households, people (no personal data), dwellings, grants."""
    from django.db import transaction

    from minqing.households.generate import generate_households
    from minqing.households.models import (
        Category,
        CategoryGrant,
        Dwelling,
        Household,
        Person,
        PersonStatus,
    )

    categories = dict(Category.objects.values_list("code", "id"))
    present = {PersonStatus.RESIDENT, PersonStatus.AWAY}
    records = generate_households(H.villages(), households, seed=H.SEED)
    while True:
        batch = [r for _i, r in zip(range(BATCH), records, strict=False)]
        if not batch:
            break
        with transaction.atomic():
            rows = Household.objects.bulk_create(
                Household(
                    region_id=r.region,
                    address=r.address,
                    head_name=r.head.name,
                    member_count=sum(1 for p in r.members if p.status in present),
                )
                for r in batch
            )
            people, dwellings, grants = [], [], []
            for household, record in zip(rows, batch, strict=True):
                for p in record.members:
                    people.append(
                        Person(
                            name=p.name,
                            sex=p.sex,
                            birth_date=p.birth_date,
                            status=p.status,
                            relation=p.relation,
                            household=household,
                            region_id=record.region,
                        )
                    )
                d = record.dwelling
                dwellings.append(
                    Dwelling(
                        household=household,
                        region_id=record.region,
                        grade=d.grade,
                        assessed_on=d.assessed_on,
                        cause=d.cause,
                        ground_floor_flooded=d.ground_floor_flooded,
                    )
                )
                grants += [
                    CategoryGrant(
                        category_id=categories[g.code],
                        household=household,
                        region_id=record.region,
                        start=g.start,
                        end=g.end,
                    )
                    for g in record.categories
                ]
            Person.objects.bulk_create(people, batch_size=BATCH)
            Dwelling.objects.bulk_create(dwellings, batch_size=BATCH)
            CategoryGrant.objects.bulk_create(grants, batch_size=BATCH)


def _database() -> SimpleNamespace:
    """One loaded database per process, shared by both benchmarks."""
    if "db" in _state:
        use_database(_state["db"].url)
        return _state["db"]
    H.ensure_django()
    url = _pg_url()
    reuse = os.environ.get("BENCH_RELIEF_KEEP") == "1"
    if url and not reuse:
        context = fresh_postgres(url)
        url = context.__enter__()
        atexit.register(context.__exit__, None, None, None)  # drop it when the run ends
    elif not url:
        _path, url = H.fresh_sqlite("relief")
    admin = H.prepare_database(url)
    households = H.households_wanted()
    started = time.perf_counter()
    from minqing.households.models import Household

    if not Household.objects.exists():  # BENCH_RELIEF_KEEP=1: a roll loaded by an earlier run
        _load_roll(households)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    db = SimpleNamespace(
        url=url,
        admin=admin,
        households=households,
        vendor=connection.vendor,
        load_seconds=time.perf_counter() - started,
    )
    _state["db"] = db
    return db


def _programme(admin, name, kind, lines, match, exclusive=""):
    from minqing.regions.models import Region
    from minqing.relief import services
    from minqing.relief.seeds import line_inputs

    county = Region.objects.get(code=H.COUNTY.ljust(12, "0"))
    programme = services.programme_create(
        actor=admin,
        name=name,
        kind=kind,
        region=county,
        regions=[county],
        starts_on=datetime.date(2023, 10, 1),
        exclusive_group=exclusive,
    )
    services.ruleset_create(actor=admin, programme=programme, match=match, lines=line_inputs(lines))
    return programme


# The hand-written SQL for the same households (what a developer would write without rules).
_BARE = {
    "d_rebar": "SELECT h.id FROM households_household h JOIN households_dwelling d ON d.household_id = h.id WHERE d.grade = 'D' AND h.region_id >= '130681' AND h.region_id < '130682'",
    "d_sand": "SELECT h.id FROM households_household h JOIN households_dwelling d ON d.household_id = h.id WHERE d.grade = 'D' AND h.region_id >= '130681' AND h.region_id < '130682'",
    "c_sand": "SELECT h.id FROM households_household h JOIN households_dwelling d ON d.household_id = h.id WHERE d.grade = 'C' AND h.region_id >= '130681' AND h.region_id < '130682'",
    "winter_cash": "SELECT DISTINCT g.household_id FROM households_categorygrant g JOIN households_category c ON c.id = g.category_id WHERE c.code = 'disaster_hit' AND g.start <= %s AND (g.\"end\" IS NULL OR g.\"end\" >= %s) AND g.region_id >= '130681' AND g.region_id < '130682'",
    "property_fee": "SELECT h.id FROM households_household h JOIN households_dwelling d ON d.household_id = h.id WHERE d.ground_floor_flooded AND h.region_id >= '130681' AND h.region_id < '130682'",
    "heating_fee": "SELECT h.id FROM households_household h JOIN households_dwelling d ON d.household_id = h.id WHERE d.ground_floor_flooded AND h.region_id >= '130681' AND h.region_id < '130682'",
    "dibao_monthly": "SELECT DISTINCT g.household_id FROM households_categorygrant g JOIN households_category c ON c.id = g.category_id WHERE c.code = 'dibao' AND g.start <= %s AND (g.\"end\" IS NULL OR g.\"end\" >= %s) AND g.region_id >= '130681' AND g.region_id < '130682'",
}


def _bare(codes, on) -> tuple[float, dict[str, int]]:
    from django.db import connection

    counts = {}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for code in codes:
            sql = _BARE[code]
            cursor.execute(sql, [on, on] if "%s" in sql else None)
            counts[code] = len(cursor.fetchall())
    return time.perf_counter() - started, counts


def run_eligibility() -> Result:
    db = _database()
    from django.db.models import Count

    from minqing.relief import services
    from minqing.relief.models import ProgrammeKind
    from minqing.relief.seeds import DIBAO_LINES, DIBAO_MATCH, FLOOD_LINES, FLOOD_MATCH

    tag = f"{time.time_ns()}"
    flood = _programme(db.admin, f"洪灾救助 {tag}", ProgrammeKind.ONE_OFF, FLOOD_LINES, FLOOD_MATCH)
    dibao = _programme(db.admin, f"低保 {tag}", ProgrammeKind.MONTHLY, DIBAO_LINES, DIBAO_MATCH)
    month = services.cycle_create(
        actor=db.admin, programme=dibao, label="2024-06", on=datetime.date(2024, 6, 1)
    )
    figures, notes = [], []
    results = {}
    for label, programme, cycle, lines in (
        ("ours: flood rule set (6 lines), list_compute", flood, flood.cycles.get(), FLOOD_LINES),
        ("ours: 低保 month (1 line), list_compute", dibao, month, DIBAO_LINES),
    ):
        with measure() as span:
            entitlement_list = services.list_compute(
                actor=db.admin, programme=programme, cycle=cycle
            )
        counts = dict(
            entitlement_list.entitlements.values("line__code")
            .annotate(n=Count("id"))
            .values_list("line__code", "n")
        )
        rows = sum(counts.values())
        figures.append(
            Figure(
                label=label,
                seconds=span.seconds,
                cpu_seconds=span.cpu_seconds,
                rows=rows,
                peak_rss=span.peak_rss,
                start_rss=span.start_rss,
            )
        )
        with measure() as bare_span:
            bare_seconds, bare_counts = _bare([line["code"] for line in lines], cycle.on)
        figures.append(
            Figure(
                label="  bare SQL, the same households",
                seconds=bare_seconds,
                cpu_seconds=bare_span.cpu_seconds,
                rows=sum(bare_counts.values()),
            )
        )
        same = all(counts.get(code, 0) == n for code, n in bare_counts.items())
        notes.append(
            f"{label.split(':')[1].split(',')[0].strip()}: per line {counts}; bare SQL {'gives the same counts' if same else f'DIFFERS: {bare_counts}'}"
        )
        results[programme.pk] = (figures[-2], figures[-1])
    ours, bare = results[flood.pk]
    notes.insert(0, f"roll loaded in {db.load_seconds:.0f} s ({db.vendor})")
    close_database()
    return Result(
        name="relief.eligibility",
        workload=f"{db.households:,} households on {db.vendor}",
        ours=ours,
        target_seconds=ELIGIBILITY_TARGET if db.vendor == "postgresql" else None,
        target_label=f"<= {ELIGIBILITY_TARGET:g} s for the flood rule set on PostgreSQL",
        baseline=bare,
        baseline_name="bare SQL",
        figures=figures,
        notes=notes,
    )


def run_pay() -> Result:
    db = _database()
    from django.core.exceptions import ValidationError
    from django.db import connection

    from minqing.relief import services
    from minqing.relief.models import EntitlementList, ListStatus, Payment, ProgrammeKind
    from minqing.relief.seeds import FLOOD_LINES

    tag = f"{time.time_ns()}"
    cash = [line for line in FLOOD_LINES if line["code"] == "winter_cash"]
    programme = _programme(
        db.admin, f"过冬补助 {tag}", ProgrammeKind.ONE_OFF, cash, "all", exclusive=f"g{tag}"
    )
    entitlement_list = services.list_compute(
        actor=db.admin, programme=programme, cycle=programme.cycles.get()
    )
    # Approved without waiting out a notice period: the benchmark is about paying.
    EntitlementList.objects.filter(pk=entitlement_list.pk).update(status=ListStatus.APPROVED)
    chosen = list(entitlement_list.entitlements.order_by("id")[:PAY_HOUSEHOLDS])
    requests = [(e, clerk) for e in chosen for clerk in (0, 1)]
    random.Random(1).shuffle(requests)
    outcomes = {"paid": 0, "already": 0, "other": 0, "error": 0}
    threads = PAY_THREADS if db.vendor == "postgresql" else SQLITE_THREADS
    lock = threading.Lock()

    def pay(request):
        entitlement, _clerk = request
        try:
            services.payment_handover(
                actor=db.admin, entitlement=entitlement, receiver="户主", proof="signature"
            )
            kind = "paid"
        except services.AlreadyPaid:
            kind = "already"
        except ValidationError:
            kind = "other"
        except Exception:  # e.g. SQLite's "database is locked" after its busy timeout
            kind = "error"
        finally:
            connection.close()
        with lock:
            outcomes[kind] += 1

    close_database()
    with measure() as span, ThreadPoolExecutor(threads) as pool:
        list(pool.map(pay, requests))
    paid_once = Payment.objects.filter(programme=programme).values("household").distinct().count()
    payments = Payment.objects.filter(programme=programme).count()
    throughput = len(requests) / span.seconds
    figure = Figure(
        label=f"ours: {len(requests):,} handovers on {threads} threads",
        seconds=span.seconds,
        cpu_seconds=span.cpu_seconds,
        rows=len(requests),
        note=f"{throughput:.0f} requests/s",
    )
    close_database()
    return Result(
        name="relief.pay",
        workload=f"{len(requests):,} concurrent requests for {len(chosen):,} households on {db.vendor}",
        ours=figure,
        figures=[figure],
        notes=[
            f"throughput {throughput:.0f} requests/s",
            f"outcomes: {outcomes['paid']} paid, {outcomes['already']} told already paid, {outcomes['other']} other refusals, {outcomes['error']} errors",
            f"payments in the database: {payments} for {paid_once} households "
            + (
                "(each paid exactly once)"
                if payments == paid_once == len(chosen)
                else "(NOT exactly once)"
            ),
        ],
    )


BENCHMARKS = [
    SimpleNamespace(
        NAME="relief.eligibility",
        DESCRIPTION="eligibility of the flood rule set over 涿州市's 230k households (INSERT … SELECT)",
        run=run_eligibility,
    ),
    SimpleNamespace(
        NAME="relief.pay",
        DESCRIPTION="1,000 concurrent handovers for 500 households: each paid exactly once",
        run=run_pay,
    ),
]
