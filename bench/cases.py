"""The case ledger at a county's scale on PostgreSQL: 1,000,000 cases over 涿州市's villages
(``BENCH_CASES`` for another size), written by one ``INSERT ... SELECT generate_series``.

cases.sweep
    1,000,000 open cases of which 5,000 have just passed their deadline: one
    ``services.sweep()`` (claim, mark overdue, history rows, audit rows, notices to the leader
    and the unit). Target ≤ 2 s. Baseline: the bare UPDATE of the same 5,000 rows.

cases.ledger
    The ledger page's query for the county admin (``case_list`` + ``for_rows`` + the first
    keyset page of 50 + masking) under each filter of the page, 200 runs each; p95 against the
    same SQL statements replayed on the raw cursor. Target p95 ≤ 50 ms.

cases.figures
    The figures of the county by township for a year (``figures_by_group``), 30 runs; p50.
    Target ≤ 200 ms. Baseline: the same SQL on the raw cursor.

The database is ``BENCH_PG_URL`` (default postgresql://postgres@127.0.0.1:5432/
minqing_bench_cases), dropped and created afresh, and dropped at the end. All three
benchmarks share one load (the first that runs makes it).
"""

import atexit
import datetime
import os
import statistics
import time
from types import SimpleNamespace

from bench import Figure, Result
from bench._support import fresh_postgres, measure, migrate, use_database

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/minqing_bench_cases"
CASES = int(os.environ.get("BENCH_CASES", "1000000"))
NEWLY_OVERDUE = 5000
SWEEP_TARGET = 2.0
LEDGER_TARGET = 0.050
FIGURES_TARGET = 0.200
LEDGER_RUNS = int(os.environ.get("BENCH_LEDGER_RUNS", "200"))
FIGURES_RUNS = 30

_state = SimpleNamespace(ctx=None, loaded=False, now=None, load_seconds=None)


def _ensure_loaded():
    if _state.loaded:
        return
    # Read now, not at import: ``--pg URL`` sets it after the runner imported this module.
    _state.ctx = fresh_postgres(os.environ.get("BENCH_PG_URL") or DEFAULT_PG_URL)
    url = _state.ctx.__enter__()
    # Dropped at exit while Python still runs (left to the garbage collector, it was not).
    atexit.register(_state.ctx.__exit__, None, None, None)
    use_database(url)
    migrate()
    from django.db import connection

    from minqing.accounts.models import OrgUnit, UnitKind
    from minqing.accounts.roles import Role
    from minqing.accounts.services import user_create
    from minqing.regions.models import Region
    from minqing.regions.services import read_region_file, regions_load

    regions_load(rows=read_region_file(), edition=2023, within="130681")
    county = Region.objects.get(code="130681000000")
    units = [
        OrgUnit.objects.create(name=r.short_name, kind=UnitKind.TOWNSHIP, region=r)
        for r in Region.objects.filter(parent=county).order_by("code")
    ]
    leaders = [
        user_create(
            actor=None,
            username=f"leader{i}",
            full_name=f"领导{i}",
            role=Role.TOWNSHIP,
            reach=unit.region_id[:9],
            password="Bench-password-2026",
            unit=unit,
        )
        for i, unit in enumerate(units)
    ]
    _state.admin = user_create(
        actor=None,
        username="admin",
        full_name="张建国",
        role=Role.COUNTY_ADMIN,
        reach="130681",
        password="Bench-password-2026",
        can_view_personal=True,
    )
    villages = list(
        Region.objects.filter(level=5, code__startswith="130681").values_list("code", flat=True)
    )
    _state.now = now = datetime.datetime(2026, 11, 30, 10, tzinfo=datetime.UTC)
    _state.unit_id, _state.leader_id = units[3].pk, leaders[3].pk
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM cases_casecategory WHERE parent_id IS NOT NULL ORDER BY id")
        categories = [r[0] for r in cur.fetchall()]
        # Every case open; due dates spread over the next 30 days, except the first 5,000,
        # which passed theirs an hour ago and have not been swept yet.
        cur.execute(
            """
            INSERT INTO cases_case (
                number, title, text, source, source_ref, kind, category_id, level, region_id,
                unit_id, leader_id, public, status, version, registered_at, outcome, answer,
                due_at, escalate_at, sweep_at, overdue, escalated_count, sent_back_count,
                extension_count, reopened_count, supervised, last_rating, mediation, flags, updated_at)
            SELECT
                '130681-' || (2025 + i %% 2) || '-' || lpad(i::text, 7, '0'),
                '群众诉求第' || i || '号', '村东头的路灯坏了，晚上出行不便（' || i || '）',
                'visit', '', (ARRAY['need','dispute','hazard','petition'])[1 + i %% 4],
                (%(categories)s::bigint[])[1 + i %% %(ncat)s],
                (ARRAY['village','village','township','county'])[1 + i %% 4],
                (%(villages)s::varchar[])[1 + (i::bigint * 7919) %% %(nvil)s],
                (%(units)s::bigint[])[1 + i %% %(nunit)s],
                (%(leaders)s::bigint[])[1 + (i / 3) %% %(nlead)s],
                i %% 2 = 0,
                (ARRAY['assigned','accepted','in_progress','answered','verified'])[1 + i %% 5],
                1,
                %(now)s::timestamptz - make_interval(secs => (i::float / %(n)s) * 730 * 86400),
                '', '',
                CASE WHEN i <= %(overdue)s THEN %(now)s::timestamptz - interval '1 hour'
                     ELSE %(now)s::timestamptz + make_interval(secs => 3600 + (i %% 30) * 86400) END,
                CASE WHEN i <= %(overdue)s THEN %(now)s::timestamptz + interval '3 days'
                     ELSE %(now)s::timestamptz + make_interval(secs => (i %% 30 + 4) * 86400) END,
                CASE WHEN i <= %(overdue)s THEN %(now)s::timestamptz - interval '1 hour'
                     ELSE %(now)s::timestamptz + make_interval(secs => 3600 + (i %% 30) * 86400) END,
                false, (i %% 50 = 0)::int, (i %% 40 = 0)::int, (i %% 30 = 0)::int, 0,
                i %% 200 = 0, (ARRAY['', 'satisfied', 'basic', 'not', 'satisfied'])[1 + i %% 5],
                CASE WHEN i %% 4 = 1 THEN (ARRAY['agreement','agreement','no_agreement'])[1 + i %% 3]
                     ELSE '' END,
                0,
                %(now)s::timestamptz
            FROM generate_series(1, %(n)s) AS i
            """,
            {
                "categories": categories,
                "ncat": len(categories),
                "villages": villages,
                "nvil": len(villages),
                "units": [u.pk for u in units],
                "nunit": len(units),
                "leaders": [u.pk for u in leaders],
                "nlead": len(leaders),
                "now": now,
                "n": CASES,
                "overdue": NEWLY_OVERDUE,
            },
        )
    # Written by SQL, not through the services: the figures' flags and tally from scratch.
    from minqing.cases.figures import figures_rebuild

    figures_rebuild()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE cases_case")
        cur.execute("VACUUM ANALYZE cases_casetally")
    _state.load_seconds = time.perf_counter() - started
    _state.loaded = True


def _workload() -> str:
    return f"{CASES:,} cases on PostgreSQL (loaded in {_state.load_seconds:.0f} s)"


def _percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


def run_sweep() -> Result:
    _ensure_loaded()
    from django.db import connection

    from minqing.cases import services

    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM cases_case WHERE status NOT IN ('closed','merged')")
        open_cases = cur.fetchone()[0]
    with measure() as span:
        report = services.sweep(now=_state.now)
    ours = Figure(
        label="services.sweep()",
        seconds=span.seconds,
        cpu_seconds=span.cpu_seconds,
        rows=len(report.marked_overdue),
        peak_rss=span.peak_rss,
        start_rss=span.start_rss,
        note=report.summary(),
    )
    # Baseline: the bare UPDATE of the same rows, put back first.
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE cases_case SET overdue = false, sweep_at = due_at WHERE id <= %s",
            [NEWLY_OVERDUE],
        )
        with measure() as bare_span:
            cur.execute(
                "UPDATE cases_case SET overdue = true, sweep_at = escalate_at, "
                "version = version + 1 WHERE sweep_at <= %s AND NOT overdue",
                [_state.now],
            )
    bare = Figure(
        label="bare UPDATE of the same rows", seconds=bare_span.seconds, rows=NEWLY_OVERDUE
    )
    return Result(
        name="cases.sweep",
        workload=f"{open_cases:,} open cases, {NEWLY_OVERDUE:,} newly overdue; " + _workload(),
        ours=ours,
        target_seconds=SWEEP_TARGET,
        target_label=f"<= {SWEEP_TARGET:g} s",
        baseline=bare,
        baseline_name="bare UPDATE",
        figures=[ours, bare],
        notes=[f"marked {len(report.marked_overdue):,}, escalated {len(report.escalated):,}"],
    )


def _close_most():
    """Most cases of a real ledger are struck off: for the ledger and figures lines."""
    from django.db import connection

    if getattr(_state, "closed", False):
        return
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE cases_case SET status = 'closed', due_at = NULL, sweep_at = NULL, "
            "escalate_at = NULL, closed_at = registered_at + interval '9 days', "
            "accepted_on_time = (id %% 10 <> 0), answered_on_time = (id %% 7 <> 0) "
            "WHERE id %% 10 < 7 AND id > %s",
            [NEWLY_OVERDUE],
        )
    # The figures' flags and tally, as the services keep them, after that bare UPDATE.
    from minqing.cases.figures import figures_rebuild

    figures_rebuild()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE cases_case")
        cur.execute("VACUUM ANALYZE cases_casetally")
    _state.closed = True


def _time_calls(call, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def run_ledger() -> Result:
    _ensure_loaded()
    _close_most()
    from django.db import connection
    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from minqing.cases.filters import case_filter_from_params
    from minqing.cases.selectors import ledger_page

    admin = _state.admin
    day = (_state.now + datetime.timedelta(days=3)).date().isoformat()
    cases = {
        "no filter": "",
        "status=in_progress": "status=in_progress",
        "level=township&category=relief": "level=township&category=relief",
        "overdue": "overdue=1",
        "unit": f"unit={_state.unit_id}",
        "leader": f"leader={_state.leader_id}",
        "due_before": f"due_before={day}",
        "township+open": "region=130681107&status=open",
        "supervised": "supervised=1",
    }
    figures, p95s, ratios = [], [], []
    for label, query in cases.items():
        params = QueryDict(query)

        def page(params=params):
            filters, _e = case_filter_from_params(admin, params)
            return ledger_page(admin, filters, params, size=50)

        with CaptureQueriesContext(connection) as captured:
            page()
        statements = [q["sql"] for q in captured.captured_queries]

        def bare(statements=statements):
            with connection.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)
                    cur.fetchall()

        ours = _time_calls(page, LEDGER_RUNS)
        base = _time_calls(bare, LEDGER_RUNS)
        p95, base95 = _percentile(ours, 0.95), _percentile(base, 0.95)
        p95s.append(p95)
        ratios.append(p95 / base95 if base95 else 0)
        figures.append(
            Figure(
                label=f"{label}: p50 {statistics.median(ours) * 1000:.1f} ms, "
                f"p95 {p95 * 1000:.1f} ms (bare p95 {base95 * 1000:.1f} ms)",
                seconds=p95,
            )
        )
    worst = max(range(len(p95s)), key=lambda i: p95s[i])
    ours = Figure(label="worst filter p95", seconds=p95s[worst])
    base = Figure(label="its bare SQL p95", seconds=p95s[worst] / ratios[worst])
    return Result(
        name="cases.ledger",
        workload=_workload() + f"; {LEDGER_RUNS} runs per filter",
        ours=ours,
        target_seconds=LEDGER_TARGET,
        target_label="p95 <= 50 ms",
        baseline=base,
        baseline_name="bare SQL",
        figures=figures,
    )


def run_figures() -> Result:
    _ensure_loaded()
    _close_most()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from minqing.cases.figures import by_region, figures_by_group

    end = _state.now
    start = end - datetime.timedelta(days=365)

    def compute():
        return figures_by_group(_state.admin, group=by_region(9), start=start, end=end)

    with CaptureQueriesContext(connection) as captured:
        groups = compute()
    statements = [q["sql"] for q in captured.captured_queries]

    def bare():
        with connection.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
                cur.fetchall()

    ours = _time_calls(compute, FIGURES_RUNS)
    base = _time_calls(bare, FIGURES_RUNS)
    mine = Figure(
        label=f"county by township ({len(groups)} groups), p50", seconds=statistics.median(ours)
    )
    bare_figure = Figure(label="same SQL on the raw cursor, p50", seconds=statistics.median(base))
    return Result(
        name="cases.figures",
        workload=_workload() + f"; {FIGURES_RUNS} runs",
        ours=mine,
        target_seconds=FIGURES_TARGET,
        target_label="p50 <= 200 ms",
        baseline=bare_figure,
        baseline_name="bare SQL",
        figures=[mine, bare_figure],
    )


BENCHMARKS = [
    SimpleNamespace(
        NAME="cases.sweep",
        DESCRIPTION="the sweep over 1M open cases with 5,000 newly overdue (PostgreSQL)",
        run=run_sweep,
    ),
    SimpleNamespace(
        NAME="cases.ledger",
        DESCRIPTION="the ledger page's query under each "
        "filter, 1M cases, p95 against bare SQL (PostgreSQL)",
        run=run_ledger,
    ),
    SimpleNamespace(
        NAME="cases.figures",
        DESCRIPTION="the county's figures by township, 1M cases, p50 (PostgreSQL)",
        run=run_figures,
    ),
]
