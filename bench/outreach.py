"""Outreach at 涿州市's size: 230,000 households (``BENCH_HOUSEHOLDS``), one campaign of 3
rounds with ≈ 700,000 visits, 2,300 paired cadres, 5% of households must-visit.

The data is written in bulk (households without people: coverage never reads them), then
counted once by the services' own rebuild (``_rebuild_tallies``, ``rebuild_activity``).

outreach.coverage
    The coverage page's figures for the county admin: the county total with its townships
    (``coverage_with_table``, what the page and the API run), the county by village, and one township by village.
    On SQLite, and on PostgreSQL when ``--pg`` / ``BENCH_PG_URL`` is given. p50 against the
    same SQL statements replayed on the raw cursor. Targets: p50 ≤ 300 ms on SQLite, ≤ 100 ms
    on PostgreSQL, for every case.

outreach.post
    ``POST /api/outreach/visits`` (one visit per request, a token per cadre, each cadre posting
    to their own households) through gunicorn (3 workers × 4 threads, ``--reuse-port``) on
    loopback, driven by a small asyncio load tool in another process (bench/_load.py) with 32
    concurrent keep-alive clients for ``BENCH_POST_SECONDS`` (default 20 s). On PostgreSQL if given, else SQLite. Prints
    requests, errors, visits/s, p50/p99, and the CPU per request of the server, the database
    backends and the load tool (the figure the machine's other load moves least). Three modes:
    flat out (closed loop: the most visits/s; its latency is mostly queue, 32 ÷ rate on
    average), 300 visits/s offered (open loop, latency from each request's scheduled time,
    as wrk2 measures it), and batches of 10. Target ≥ 300 visits/s flat out and p99 ≤ 100 ms
    at 300/s offered, 32 clients.
"""

import atexit
import datetime
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bench import Figure, Result
from bench import _households as H
from bench._support import (
    ROOT,
    close_database,
    fresh_postgres,
    migrate,
    sqlite_url,
    use_database,
)

COUNTY = "130681"
TZ = ZoneInfo("Asia/Shanghai")
HOUSEHOLDS_PER_CADRE = 100
ROUNDS = 3
RUNS = int(os.environ.get("BENCH_COVERAGE_RUNS", "50"))
SQLITE_TARGET, PG_TARGET = 0.300, 0.100
POST_SECONDS = float(os.environ.get("BENCH_POST_SECONDS", "20"))
POST_CLIENTS = int(os.environ.get("BENCH_POST_CLIENTS", "32"))
POST_RATE_TARGET, POST_P99_TARGET = 300.0, 0.100
PASSWORD = "Bench-password-2023"


# ---------------------------------------------------------------------------------------------
# The workload


def _load(households: int, seed: int = 1) -> dict:
    """Regions, cadres, households, a campaign with enrolments, pairings and visits."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from minqing.accounts.models import User
    from minqing.accounts.roles import Role
    from minqing.households.models import Category, CategoryGrant, Household
    from minqing.outreach.models import Campaign, Enrolment, Pairing, PairingKind, Visit
    from minqing.outreach.services import _rebuild_tallies, rebuild_activity
    from minqing.regions.models import Region
    from minqing.regions.services import read_region_file, regions_load

    migrate()
    regions_load(rows=read_region_file(), edition=2023, within=COUNTY)
    rng = random.Random(seed)
    villages = list(
        Region.objects.filter(level=5, code__startswith=COUNTY, retired_in__isnull=True)
        .order_by("code")
        .values_list("code", flat=True)
    )
    today = timezone.localdate()
    start = today - datetime.timedelta(days=90)
    admin = User.objects.create(
        username="bench-admin",
        full_name="基准",
        role=Role.COUNTY_ADMIN,
        reach=COUNTY,
        password=make_password(PASSWORD),
    )
    # Households, by village (a village's households have consecutive ids, like a roll).
    village_of = sorted(rng.choice(villages) for _ in range(households))
    for i in range(0, households, 5000):
        Household.objects.bulk_create(
            [
                Household(region_id=v, address=f"{n}号", head_name=f"户{n}")
                for n, v in enumerate(village_of[i : i + 5000], start=i)
            ]
        )
    rows = list(Household.objects.order_by("id").values_list("id", "region_id"))
    # Cadres: one per HOUSEHOLDS_PER_CADRE households, each over a run of neighbours.
    cadres = User.objects.bulk_create(
        [
            User(
                username=f"cadre{n:05d}",
                full_name=f"干部{n}",
                role=Role.PAIRED,
                reach=rows[n * HOUSEHOLDS_PER_CADRE][1][:9],
                password=make_password(None),
            )
            for n in range(max(1, households // HOUSEHOLDS_PER_CADRE))
        ]
    )
    tekun = Category.objects.get(code="tekun")
    must = set(rng.sample([pk for pk, _ in rows], households // 20))
    CategoryGrant.objects.bulk_create(
        [
            CategoryGrant(category=tekun, household_id=pk, region_id=r, start=start)
            for pk, r in rows
            if pk in must
        ],
        batch_size=5000,
    )
    campaign = Campaign.objects.create(
        name="暖冬行动（基准）",
        kind="warm_winter",
        start=start,
        end=today + datetime.timedelta(days=30),
        regions=[COUNTY],
        rounds=ROUNDS,
        must_visit=[{"category": "tekun", "every_days": 30}],
        aspects=["生活", "生产"],
    )
    enrolments, pairings, visits_total = [], [], 0
    visit_batch: list = []
    span_minutes = (today - start).days * 24 * 60 - 24 * 60

    def flush():
        nonlocal visit_batch
        Visit.objects.bulk_create(visit_batch, batch_size=5000)
        visit_batch = []

    for index, (pk, region) in enumerate(rows):
        cadre = cadres[min(index // HOUSEHOLDS_PER_CADRE, len(cadres) - 1)]
        # ≈ 3 visits a household on average, with real gaps: 8% never visited.
        n = 0 if rng.random() < 0.08 else rng.choice([1, 2, 3, 3, 4, 4, 5])
        times = sorted(
            datetime.datetime.combine(start, datetime.time(8), TZ)
            + datetime.timedelta(minutes=rng.randint(0, span_minutes))
            for _ in range(n)
        )
        for k, at in enumerate(times, start=1):
            visit_batch.append(
                Visit(
                    campaign=campaign,
                    household_id=pk,
                    region_id=region,
                    author=cadre,
                    visited_at=at,
                    address=f"{index}号",
                    round=k,
                    aspects=["生活"],
                )
            )
        visits_total += n
        every = 30 if pk in must else None
        last = times[-1] if times else None
        due = None
        if every:
            since = timezone.localdate(last) if last else start
            due = since + datetime.timedelta(days=every)
        enrolments.append(
            Enrolment(
                campaign=campaign,
                household_id=pk,
                region_id=region,
                visits=n,
                last_visit_at=last,
                must_every_days=every,
                next_due=due,
                cadre=cadre,
            )
        )
        pairings.append(
            Pairing(
                campaign=campaign,
                kind=PairingKind.CADRE_HOUSEHOLD,
                region_id=region,
                household_id=pk,
                cadre=cadre,
                start=start,
            )
        )
        if len(visit_batch) >= 50_000:
            flush()
    flush()
    Enrolment.objects.bulk_create(enrolments, batch_size=5000)
    Pairing.objects.bulk_create(pairings, batch_size=5000)
    _rebuild_tallies(campaign)
    rebuild_activity(campaign)
    from django.db import connection

    with connection.cursor() as cursor:
        # On PostgreSQL, VACUUM as autovacuum does soon after a bulk insert (PostgreSQL >= 13):
        # it marks the pages all-visible, which index-only scans need.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "campaign": campaign.pk,
        "admin": admin.pk,
        "visits": visits_total,
        "households": households,
        "cadres": len(cadres),
    }


# ---------------------------------------------------------------------------------------------
# Coverage


def _timed(fn, runs: int) -> list[float]:
    for _ in range(3):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _coverage_on(label: str, target: float) -> Result:
    from bench.households import _Capture, _raw_runner

    _url, info = _database(label)
    from django.db import connection

    from minqing.outreach.models import Campaign
    from minqing.outreach.selectors import coverage, coverage_with_table

    campaign = Campaign.objects.get(pk=info["campaign"])
    cases = [
        (
            "county total + townships",
            lambda: coverage_with_table(campaign, COUNTY),
        ),
        ("county by village", lambda: coverage(campaign, COUNTY, by=12)),
        (
            "刁窝镇 by village",
            lambda: coverage_with_table(campaign, "130681107"),
        ),
    ]
    figures, worst, worst_bare = [], None, None
    for name, fn in cases:
        capture = _Capture()
        with connection.execute_wrapper(capture):
            fn()
        ours = _timed(fn, RUNS)
        bare = _timed(_raw_runner(capture.statements), RUNS)
        figure = Figure(
            label=f"{name} ({label})",
            seconds=statistics.median(ours),
            note=f"p50 {statistics.median(ours) * 1000:.1f} ms, p95 {_p(ours, 0.95) * 1000:.1f} ms; "
            f"bare SQL p50 {statistics.median(bare) * 1000:.1f} ms; {len(capture.statements)} "
            f"queries; ratio {statistics.median(ours) / statistics.median(bare):.2f}x",
        )
        bare_figure = Figure(label="  bare SQL, same statements", seconds=statistics.median(bare))
        figures += [figure, bare_figure]
        if worst is None or figure.seconds > worst.seconds:
            worst, worst_bare = figure, bare_figure
    close_database()
    return Result(
        name=f"outreach.coverage.{label}",
        workload=f"{info['households']:,} households, {info['visits']:,} visits, "
        f"{info['cadres']:,} cadres, {ROUNDS} rounds",
        ours=worst,
        target_seconds=target,
        target_label=f"p50 <= {target * 1000:g} ms on {label} for every case",
        baseline=worst_bare,
        baseline_name="bare SQL",
        figures=figures,
        notes=[
            f"{RUNS} runs per case after 3 warm-up runs; seconds column = p50",
            f"target and ratio: the slowest case, {worst.label}",
        ],
    )


_loaded: dict[str, tuple[str, dict]] = {}


def _database(kind: str) -> tuple[str, dict]:
    """A database of the given kind ("sqlite" or "postgresql") loaded with the workload, made
    once per process: the coverage and the posting benchmarks share it. A PostgreSQL one is
    dropped when the process ends."""
    if kind not in _loaded:
        if kind == "sqlite":
            path = H.scratch_dir() / "outreach.sqlite3"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            url = sqlite_url(path)
        else:
            url = _pg_url()
            context = fresh_postgres(url)
            context.__enter__()
            atexit.register(context.__exit__, None, None, None)
        use_database(url)
        _loaded[kind] = (url, _load(H.households_wanted()))
    url, info = _loaded[kind]
    use_database(url)
    return url, info


def run_coverage_sqlite() -> Result:
    H.ensure_django()
    return _coverage_on("sqlite", SQLITE_TARGET)


def _pg_url() -> str | None:
    url = os.environ.get("BENCH_PG_URL")
    if not url:
        return None
    if url.rstrip("/").endswith("/minqing_bench"):
        return url.rstrip("/") + "_outreach"  # the shared default: keep to our own database
    return url


def run_coverage_pg() -> Result:
    if _pg_url() is None:
        raise RuntimeError("outreach.coverage.postgresql needs --pg or BENCH_PG_URL")
    H.ensure_django()
    return _coverage_on("postgresql", PG_TARGET)


# ---------------------------------------------------------------------------------------------
# Posting visits through gunicorn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> int:
    """How many sockets listen on this loopback port (Linux: /proc/net/tcp)."""
    suffix = f":{port:04X}"
    with open("/proc/net/tcp") as table:
        next(table)
        return sum(1 for line in table if (f := line.split())[1].endswith(suffix) and f[3] == "0A")


def _post_plan(info: dict, clients: int) -> list[dict]:
    """A token per client (a cadre), and the cadre's households to post to."""
    from minqing.accounts.models import User
    from minqing.accounts.services import token_create
    from minqing.outreach.models import Enrolment

    plan = []
    cadres = list(User.objects.filter(username__startswith="cadre").order_by("id")[::7][:clients])
    for cadre in cadres:
        _token, raw = token_create(user=cadre, name="bench")
        households = list(
            Enrolment.objects.filter(campaign_id=info["campaign"], cadre=cadre)
            .order_by("region_id", "id")
            .values_list("household_id", flat=True)[:1]
        )
        plan.append({"token": raw, "household": households[0]})
    return plan


def _post_on(label: str) -> Result:
    url, info = _database(label)
    from django.conf import settings

    clients = POST_CLIENTS
    plan = _post_plan(info, clients)
    close_database()
    port = _free_port()
    # The server serves no static file here; an empty folder keeps WhiteNoise from warning.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        # Connections kept for the whole run: a backend that ends mid-run takes its CPU
        # seconds out of the database's sum (60 s, the default, ends them in the third mode).
        DATABASE_URL=f"{url}?conn_max_age=600" if label != "sqlite" else url,
        ALLOWED_HOSTS="127.0.0.1",
        MINQING_HTTPS="0",
        DJANGO_SETTINGS_MODULE="minqing.settings",
        SECRET_KEY="minqing-bench-not-secret",
        MINQING_VAR_DIR=str(settings.VAR_DIR),
        LOG_LEVEL="ERROR",
    )
    workers = int(os.environ.get("BENCH_POST_WORKERS", "3"))
    threads = int(os.environ.get("BENCH_POST_THREADS", "4"))
    worker_class = os.environ.get("BENCH_POST_WORKER_CLASS", "gthread")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "minqing.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            worker_class,
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            # A listening socket per worker, as the README serves it: with one shared socket
            # the clients, connecting at once, could all land on one worker (one core).
            *(["--reuse-port"] if os.environ.get("BENCH_POST_REUSE_PORT", "1") != "0" else []),
            *(
                ["--worker-connections", capped]
                if (capped := os.environ.get("BENCH_POST_WORKER_CONNECTIONS"))
                else []
            ),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        # With --reuse-port each worker opens its own listening socket when it is forked, and
        # a kept-alive connection stays with the socket that took it: clients connecting
        # before the last worker listens would leave it idle (in a run seen here, one worker
        # of three at 4% of a core, the others at 53%). Wait for every worker's socket.
        sockets = workers if "--reuse-port" in server.args else 1
        deadline = time.time() + 30
        while _listening(port) < sockets and time.time() < deadline:
            time.sleep(0.2)
        batch = int(os.environ.get("BENCH_POST_BATCH", "10"))
        modes = {
            "one visit per request": (1, None),
            f"one visit per request at {POST_RATE_TARGET:g}/s offered": (1, POST_RATE_TARGET),
            f"batches of {batch}": (batch, None),
        }
        cpu = {"pgid": server.pid, "database": url.rsplit("/", 1)[1] if label != "sqlite" else None}
        results = {
            what: _drive(port, info, plan, batch, cpu, rate, day)
            for day, (what, (batch, rate)) in enumerate(modes.items())
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    figures, lines = [], []
    for n, (what, stats) in enumerate(results.items()):
        rate = stats["ok"] / stats["seconds"]
        # Each mode is judged on its part of the target: the rate flat out (where the latency
        # is 32 / rate whatever the server does), the p99 at the rate offered; batches have none.
        verdict = (
            f"rate >= {POST_RATE_TARGET:g}/s",
            f"p99 <= {POST_P99_TARGET * 1000:g} ms",
            None,
        )[min(n, 2)]
        met = not stats["errors"] and (
            rate >= POST_RATE_TARGET if n == 0 else stats["p99"] <= POST_P99_TARGET
        )
        note = (
            f"{what}: {stats['requests']:,} requests, {stats['errors']:,} errors, "
            f"{rate:,.0f} visits/s, {stats['requests'] / stats['seconds']:,.0f} requests/s, "
            f"p50 {stats['p50'] * 1000:.1f} ms, p99 {stats['p99'] * 1000:.1f} ms, "
            f"requests per client {min(stats['per_client'])}–{max(stats['per_client'])} -> "
            + (f"{verdict}: {'OK' if met else 'MISSED'}" if verdict else "no target")
        )
        if "cpu" in stats and stats["requests"]:
            per = {k: v / stats["requests"] * 1000 for k, v in stats["cpu"].items()}
            cores = os.cpu_count() or 1
            total = sum(per.values())
            note += (
                f"; CPU per request: server {per['server']:.2f} ms, database "
                f"{per['database']:.2f} ms, load tool {per['load']:.2f} ms (total {total:.2f} ms: "
                f"at most {cores * 1000 / total:,.0f} requests/s on {cores} idle cores)"
            )
        print(f"outreach.post ({label}) {note}", flush=True)
        lines.append(note)
        figures.append(
            Figure(
                label=f"POST visits, {what} ({label})",
                seconds=stats["p99"],
                rows=stats["ok"],
                note=note,
            )
        )
    # The rate is the closed loop's (the most the server does); the p99 is the open loop's at
    # the target rate (the latency a cadre meets while the county posts 300 visits/s).
    closed, opened = list(results.values())[:2]
    single_rate = closed["ok"] / closed["seconds"]
    return Result(
        name=f"outreach.post.{label}",
        workload=f"{info['households']:,} households, {info['visits']:,} visits loaded; "
        f"{clients} concurrent clients, {POST_SECONDS:g} s per mode after a 10 s warm-up; "
        f"gunicorn {workers} workers x {threads} threads",
        ours=figures[1],
        # The seconds compared are the p99 at the target rate; a closed-loop rate below the
        # target, or an error, fails the line as well.
        target_seconds=POST_P99_TARGET
        if single_rate >= POST_RATE_TARGET and not closed["errors"] and not opened["errors"]
        else 0.0,
        target_label=f"one visit per request: >= {POST_RATE_TARGET:g} visits/s flat out "
        f"(measured {single_rate:,.0f}/s), p99 <= {POST_P99_TARGET * 1000:g} ms at "
        f"{POST_RATE_TARGET:g}/s offered, no errors",
        figures=figures,
        notes=lines,
    )


def _drive(port, info, plan, batch: int, cpu: dict, rate: float | None, mode: int) -> dict:
    spec = {
        "cpu": cpu,
        "port": port,
        "seconds": POST_SECONDS,
        "warmup": 10,
        "batch": batch,
        "rate": rate,
        "keep_alive": os.environ.get("BENCH_POST_KEEPALIVE", "1") != "0",
        "campaign": info["campaign"],
        "clients": plan,
        # Each mode posts on its own days, 20 apart: a cadre's visits 11 minutes apart.
        "start": (datetime.date.today() - datetime.timedelta(days=89 - 20 * mode)).isoformat(),
    }
    out = subprocess.run(
        [sys.executable, "-m", "bench._load"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    if out.stderr:
        print(out.stderr[:2000], file=sys.stderr)
    return json.loads(out.stdout)


def run_post() -> Result:
    H.ensure_django()
    return _post_on("sqlite" if _pg_url() is None else "postgresql")


BENCHMARKS = [
    SimpleNamespace(
        NAME="outreach.coverage.sqlite",
        DESCRIPTION="coverage by township and by village at 涿州市 size on SQLite, p50 against "
        "bare SQL",
        run=run_coverage_sqlite,
    ),
    SimpleNamespace(
        NAME="outreach.coverage.postgresql",
        DESCRIPTION="the same on PostgreSQL (needs --pg)",
        run=run_coverage_pg,
    ),
    SimpleNamespace(
        NAME="outreach.post",
        DESCRIPTION="POST visits through gunicorn at 32 concurrent clients on loopback "
        "(PostgreSQL with --pg)",
        run=run_post,
    ),
]
