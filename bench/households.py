"""The household registry at 涿州市's size: a generated roll of 230,000 households / ≈ 700,000
people (``BENCH_HOUSEHOLDS`` or ``--households N`` for a smaller one), see _households.py.

households.import
    The roll as .xlsx in the import layout (roll.COLUMNS), imported into a fresh SQLite
    database by ``importer.import_roll`` (target ≤ 30 s). The peer: django-import-export 4.4.3,
    a ModelResource for Person (+ Household) the way a Django team would write it, reading
    the same .xlsx through its XLSX format (tablib/openpyxl) and ``import_data(dataset,
    dry_run=False)``. Where the peer would take longer than a few minutes it runs on the
    first ``BENCH_PEER_ROWS`` rows (default 20,000) and is extrapolated linearly; minqing is
    timed on the same slice too, so there is a like-for-like ratio as well.

households.list
    The list page's query on the loaded roll, for the county admin: ``household_list(user,
    HouseholdFilter(...))`` with the grade column, newest first, the first page of 50
    (``keyset_page``) and the region and category names (``decorate_household_rows``),
    200 runs for each filter and search; p50/p95 (target p95 ≤ 50 ms) against the same SQL
    statements replayed through the raw DB-API cursor. With ``--pg`` also on PostgreSQL,
    the roll loaded into a scratch database by the importer (or BENCH_LOADED_PG).

households.export
    Every household as .xlsx through the export (``export.py``): time and peak memory
    (target ≤ 20 s), and the same export of a roll a quarter the size, to show that the peak
    does not grow with the data (constant memory).
"""

import contextlib
import datetime
import json
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

from bench import Figure, Result
from bench import _households as H
from bench._support import (
    ROOT,
    close_database,
    fmt_mb,
    fresh_postgres,
    measure,
    migrate,
    redact,
    sqlite_url,
    use_database,
)

IMPORT_TARGET = 30.0
PEER_TARGET_RATIO = 10.0
LIST_TARGET = 0.050
LIST_RUNS = 200
EXPORT_TARGET = 20.0
PEER_ROWS = int(os.environ.get("BENCH_PEER_ROWS", "20000"))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _figure(label: str, span, *, rows: int | None = None, note: str = "") -> Figure:
    return Figure(
        label=label,
        seconds=span.seconds,
        cpu_seconds=span.cpu_seconds,
        rows=rows,
        peak_rss=span.peak_rss,
        start_rss=span.start_rss,
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# Loading through minqing's importer


def import_with_minqing(path: Path, user):
    """minqing's import of the roll at ``path`` as ``user``, without the web layer."""
    from minqing.households.importer import import_roll

    with path.open("rb") as handle:
        result = import_roll(actor=user, source=handle, filename=path.name)
    if not result.applied:
        sample = "; ".join(f"row {r.row} {r.header}: {r.reason}" for r in result.refusals[:5])
        raise RuntimeError(f"the import refused the generated roll: {sample}")
    return result


def _load(roll: H.Roll, user) -> None:
    import_with_minqing(roll.path, user)


def _counts() -> dict[str, int]:
    from minqing.households.models import CategoryGrant, Dwelling, Household, Person

    return {
        "households": Household.objects.count(),
        "people": Person.objects.count(),
        "dwellings": Dwelling.objects.exclude(grade="").count(),
        "grants": CategoryGrant.objects.count(),
    }


# ---------------------------------------------------------------------------------------------
# The peer: django-import-export


def peer_resource():
    """A PersonResource as a Django team would write it with django-import-export: the roll's
    Chinese headers mapped to fields, each person through ``clean_person`` (encryption and
    hashes: the model cannot be written without them), the household found by its head's ID
    number or created on the head's row, the head and member count kept on the household.
    Default options (transactions, diffs, one row at a time), as the documentation shows.
    It writes people and households only: no memberships, categories or dwellings, which
    minqing's import also writes, so the comparison favours the peer."""
    from import_export import fields, resources, widgets

    from minqing.households.models import Household, Person, PersonStatus, Relation
    from minqing.households.people import PersonInput, clean_person, id_hash
    from minqing.households.roll import parse_relation, parse_sex, parse_status
    from minqing.lib.idcard import parse_id_number
    from minqing.regions.models import Region

    present = (PersonStatus.RESIDENT, PersonStatus.AWAY)
    code_in = re.compile(r"(\d{12})")

    def text(row, header) -> str:
        value = row.get(header)
        return "" if value is None else str(value).strip()

    class PersonResource(resources.ModelResource):
        name = fields.Field(attribute="name", column_name="姓名")
        relation = fields.Field(attribute="relation", column_name="与户主关系")
        status = fields.Field(attribute="status", column_name="人员状态")
        household = fields.Field(
            attribute="household",
            column_name="household",
            widget=widgets.ForeignKeyWidget(Household),
        )
        region = fields.Field(
            attribute="region", column_name="region", widget=widgets.ForeignKeyWidget(Region)
        )
        id_hash = fields.Field(attribute="id_hash", column_name="id_hash")

        class Meta:
            model = Person
            import_id_fields = ("id_hash",)
            fields = ("id_hash", "name", "relation", "status", "household", "region")

        def before_import(self, dataset, **kwargs):
            # Columns the rows fill in below (the natural key, the foreign keys).
            for header in ("id_hash", "household", "region"):
                if header not in dataset.headers:
                    dataset.append_col([None] * len(dataset), header=header)

        def before_import_row(self, row, **kwargs):
            relation = parse_relation(text(row, "与户主关系"))
            status = parse_status(text(row, "人员状态") or "在家居住")
            birth = text(row, "出生日期")
            clean = clean_person(
                PersonInput(
                    name=text(row, "姓名"),
                    id_number=text(row, "身份证号"),
                    relation=relation,
                    phone=text(row, "联系电话"),
                    sex=parse_sex(text(row, "性别")) if text(row, "性别") else "",
                    birth_date=datetime.date.fromisoformat(birth) if birth else None,
                    status=status,
                )
            )
            region = code_in.search(text(row, "所属村（社区）")).group(1)
            head_hash = id_hash(parse_id_number(text(row, "户主身份证号")).number)
            household = Household.objects.filter(head__id_hash=head_hash).first()
            if household is None and relation == Relation.HEAD:
                household = Household.objects.create(
                    region_id=region, address=text(row, "家庭住址")
                )
            row.update(
                id_hash=clean.fields["id_hash"],
                relation=relation,
                status=status,
                household=household.pk if household else None,
                region=region,
            )
            row["与户主关系"], row["人员状态"] = relation, status
            self._clean = clean

        def before_save_instance(self, instance, row, **kwargs):
            for key, value in self._clean.fields.items():
                setattr(instance, key, value)

        def after_save_instance(self, instance, row, **kwargs):
            household = instance.household
            if household is None:
                return
            if instance.relation == Relation.HEAD:
                household.head = instance
                household.head_name = instance.name
                household.head_initials = instance.name_initials
            household.member_count = household.members.filter(status__in=present).count()
            household.save()

    return PersonResource()


def import_with_peer(path: Path) -> tuple[int, int]:
    """django-import-export: the .xlsx into a tablib Dataset (its XLSX format, as its admin
    does), then import_data. Returns (rows, rows in error)."""
    from import_export.formats.base_formats import XLSX
    from tablib.exceptions import InvalidDimensions

    try:
        dataset = XLSX().create_dataset(path.read_bytes())
    except InvalidDimensions:
        dataset = _padded_dataset(path)
    result = peer_resource().import_data(dataset, dry_run=False, raise_errors=True)
    return len(dataset), sum(1 for row in result.rows if row.errors or row.validation_error)


PADDED = []  # set when the peer needed _padded_dataset


def _padded_dataset(path: Path):
    """What XLSX().create_dataset does, with short rows padded to the header's width.

    openpyxl's read-only reader sizes rows by the sheet's <dimension> element; without one it
    returns each row only up to its last non-empty cell, and tablib refuses rows of different
    lengths (InvalidDimensions). minqing's lib/excel.write_xlsx writes no <dimension>."""
    import openpyxl
    import tablib

    PADDED.append(path.name)
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = book.active.rows
    dataset = tablib.Dataset()
    dataset.headers = [cell.value for cell in next(rows)]
    width = len(dataset.headers)
    for row in rows:
        values = [cell.value for cell in row][:width]
        dataset.append(values + [None] * (width - len(values)))
    book.close()
    return dataset


def run_import() -> Result:
    H.ensure_django()
    wanted = H.households_wanted()
    notes: list[str] = []
    figures: list[Figure] = []
    roll = H.roll(wanted)
    figures.append(
        Figure(
            label="generate the roll + write .xlsx (setup)",
            seconds=roll.generate_seconds,
            rows=roll.people,
            note=f"{roll.path.stat().st_size / 1_048_576:.0f} MB",
        )
    )

    # minqing, the whole roll, fresh database
    path, url = H.fresh_sqlite("import-ours")
    user = H.prepare_database(url)
    children = _children_cpu()
    with measure() as span:
        result = import_with_minqing(roll.path, user)
    children = _children_cpu() - children
    counts = _counts()
    ours = _figure(
        "minqing import_roll: .xlsx -> registry",
        span,
        rows=result.rows,
        note=f"{counts['households']:,} households, {counts['people']:,} people; "
        f"+{children:.0f} s CPU in the cleaning pool",
    )
    figures.append(ours)
    notes.append(
        f"minqing wrote households, people, memberships, {counts['dwellings']:,} assessed "
        f"dwellings, {counts['grants']:,} category grants, 1 audit row"
    )
    with measure() as again_span:
        again = import_with_minqing(roll.path, user)
    figures.append(
        _figure(
            "  minqing: the same file again (idempotent)",
            again_span,
            rows=again.rows,
            note=f"created {again.people.created}, updated {again.people.updated}",
        )
    )
    if again.people.created or again.people.updated:
        notes.append("THE SECOND IMPORT CHANGED ROWS")
    H.remember_loaded(wanted, path)

    # the peer, on the whole roll or on a slice
    try:
        import openpyxl  # noqa: F401  (django-import-export reads .xlsx through it)
    except ImportError:
        notes.append(
            "PEER SKIPPED: django-import-export reads .xlsx through openpyxl, which is not "
            "installed (pip install 'django-import-export[xlsx]')"
        )
        return Result(
            name="households.import",
            workload=f"{roll.households:,} households / {roll.people:,} people (.xlsx rows)",
            ours=ours,
            target_seconds=IMPORT_TARGET,
            target_label=f"<= {IMPORT_TARGET:g} s on SQLite",
            figures=figures,
            notes=notes,
        )
    extrapolate = roll.people > PEER_ROWS * 1.5
    part = H.roll_slice(roll, PEER_ROWS) if extrapolate else roll
    if extrapolate:
        _path, url = H.fresh_sqlite("import-ours-slice")
        user = H.prepare_database(url)
        with measure() as slice_span:
            import_with_minqing(part.path, user)
        figures.append(
            _figure(f"minqing, first {part.people:,} rows", slice_span, rows=part.people)
        )
        close_database()
    _path, url = H.fresh_sqlite("import-peer")
    H.prepare_database(url)
    with measure() as peer_span:
        peer_rows, peer_errors = import_with_peer(part.path)
    peer_counts = _counts()
    figures.append(
        _figure(
            f"django-import-export, {'first ' if extrapolate else ''}{peer_rows:,} rows",
            peer_span,
            rows=peer_rows,
            note=f"{peer_counts['households']:,} households, {peer_counts['people']:,} people"
            + (f", {peer_errors} rows in error" if peer_errors else ""),
        )
    )
    close_database()
    if extrapolate:
        factor = roll.people / peer_rows
        peer = Figure(
            label=f"django-import-export, extrapolated x{factor:.1f} to {roll.people:,} rows",
            seconds=peer_span.seconds * factor,
            rows=roll.people,
            note="linear extrapolation (not run at full size)",
        )
        figures.append(peer)
        notes.append(
            f"django-import-export ran on the first {peer_rows:,} rows ({part.households:,} "
            f"households) and was extrapolated linearly to {roll.people:,}: "
            f"{peer_span.seconds:.1f} s x {factor:.1f}; on the same slice minqing took "
            f"{slice_span.seconds:.2f} s, a ratio of {peer_span.seconds / slice_span.seconds:.1f}x"
        )
    else:
        peer = figures[-1]
    faster = peer.seconds / ours.seconds
    notes.append(
        f"minqing is {faster:.1f}x faster than django-import-export (target >= "
        f"{PEER_TARGET_RATIO:g}x: {'OK' if faster >= PEER_TARGET_RATIO else 'MISSED'})"
    )
    notes.append(
        "peer: ModelResource for Person (+ Household), default options, clean_person per "
        "row; writes no memberships, categories or dwellings"
    )
    if PADDED:
        notes.append(
            "django-import-export's XLSX().create_dataset refused the file (InvalidDimensions: "
            "the sheet has no <dimension>, so openpyxl's read-only reader returns short rows); "
            "the peer read it with the same reader and padded the rows"
        )
    return Result(
        name="households.import",
        workload=f"{roll.households:,} households / {roll.people:,} people (.xlsx rows)",
        ours=ours,
        target_seconds=IMPORT_TARGET,
        target_label=f"<= {IMPORT_TARGET:g} s on SQLite",
        baseline=peer,
        baseline_name="django-import-export",
        figures=figures,
        notes=notes,
        invert_ratio=True,
    )


# ---------------------------------------------------------------------------------------------
# The list page


@dataclass
class Timings:
    runs: list[float]
    rows: int

    def p(self, q: float) -> float:
        ordered = sorted(self.runs)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class _Capture:
    def __init__(self):
        self.statements: list[tuple[str, tuple]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)


def _page(user, filters):
    """What the list view runs: the filtered, annotated list, one keyset page of 50, the
    region and category names of its rows."""
    from django.http import QueryDict

    from minqing.households import selectors
    from minqing.lib.paging import keyset_page

    qs = selectors.household_list(user, filters)
    annotate = getattr(selectors, "annotate_for_list", None)
    if annotate:
        qs = annotate(qs)
    # The view's order: LIST_ORDER ascending (the roll's order) where the selectors define
    # it, else newest first.
    order = getattr(selectors, "LIST_ORDER", None)
    if order:
        page = keyset_page(qs, QueryDict(), order=order, size=50, descending=False)
    else:
        page = keyset_page(qs, QueryDict(), order=("id",), size=50)
    decorate = getattr(selectors, "decorate_household_rows", None)
    if decorate:
        decorate(user, page.rows, day=filters.on)
    return page.rows


def _raw_runner(statements):
    """Replay ``statements`` through the DB-API cursor under Django's connection."""
    from django.db import connection

    raw = connection.connection
    if connection.vendor == "sqlite":
        from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX

        statements = [
            (FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%"), params)
            for sql, params in statements
        ]

    def run() -> int:
        cursor = raw.cursor()
        rows = 0
        for sql, params in statements:
            cursor.execute(sql, params)
            rows += len(cursor.fetchall())
        cursor.close()
        return rows

    return run


LIST_BUDGET = float(os.environ.get("BENCH_LIST_BUDGET", "30"))  # seconds per case and side
LIST_TIMEOUT = float(os.environ.get("BENCH_LIST_TIMEOUT", "20"))  # one page, at most


class TooSlow(Exception):
    pass


@contextlib.contextmanager
def _deadline(seconds: float):
    """Abort a statement that runs longer than ``seconds`` (SQLite: a progress handler;
    PostgreSQL: statement_timeout): one case must not hold up the run for an hour."""
    from django.db import OperationalError, connection

    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor == "sqlite":
        limit = [0.0]

        def check() -> int:
            return 1 if time.perf_counter() > limit[0] else 0

        raw.set_progress_handler(check, 10_000)

        def arm():
            limit[0] = time.perf_counter() + seconds

    else:
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")

        def arm():
            pass

    try:
        yield arm
    except OperationalError as error:
        raise TooSlow(str(error)) from None
    except Exception as error:
        if "cancel" in str(error).lower() or "interrupt" in str(error).lower():
            raise TooSlow(str(error)) from None
        raise
    finally:
        if connection.vendor == "sqlite":
            raw.set_progress_handler(None, 10_000)
        else:
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")


def _time(fn, runs: int, arm) -> Timings:
    """``runs`` timed calls after up to 5 warm-up calls; fewer (at least 3) when a call is so
    slow that ``runs`` of them would take more than LIST_BUDGET seconds."""
    started = time.perf_counter()
    for _ in range(5):  # warm
        arm()
        fn()
        if time.perf_counter() - started > LIST_BUDGET / 10:
            break
    arm()
    first = time.perf_counter()
    fn()
    each = time.perf_counter() - first
    runs = max(3, min(runs, int(LIST_BUDGET / max(each, 1e-6))))
    times = []
    for _ in range(runs):
        arm()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    rows = result if isinstance(result, int) else len(result)
    return Timings(times, rows)


def run_list() -> Result:
    H.ensure_django()

    from minqing.households.models import Category, Household, Person
    from minqing.households.selectors import HouseholdFilter

    wanted = H.households_wanted()
    H.loaded_database(wanted, load=_load)
    user = H.admin_user()
    dibao = Category.objects.get(code="dibao")
    households, people = Household.objects.count(), Person.objects.count()
    # The last four of someone's ID number, from the middle of the table.
    tail = Person.objects.filter(pk__gte=people // 2).order_by("pk").first().id_number[-4:]
    cases = [
        ("all (first page)", HouseholdFilter()),
        ("刁窝镇 + grade D", HouseholdFilter(region="130681107", grade="D")),
        ("search 'zs' (initials)", HouseholdFilter(q="zs")),
        ("search '张' (name)", HouseholdFilter(q="张")),
        (f"search '{tail}' (ID/phone tail)", HouseholdFilter(q=tail)),
        ("低保 + search '王'", HouseholdFilter(category=dibao, q="王")),
        (
            "刁窝镇 + 3-5 members + 'l'",
            HouseholdFilter(region="130681107", members_min=3, members_max=5, q="l"),
        ),
    ]
    figures: list[Figure] = []
    notes: list[str] = [f"{LIST_RUNS} runs each after 5 warm-up runs; seconds column = p95"]
    worst, worst_bare = None, None
    for label, filters in cases:
        worst, worst_bare = _list_case(user, label, filters, figures, notes, worst, worst_bare)
    with _postgres_loaded(wanted, notes) as loaded:
        if loaded:  # the same cases on a PostgreSQL database holding the same roll
            user = H.admin_user()
            dibao = Category.objects.get(code="dibao")
            for label, filters in cases:
                filters = replace(filters, category=dibao) if filters.category else filters
                worst, worst_bare = _list_case(
                    user, f"PostgreSQL: {label}", filters, figures, notes, worst, worst_bare
                )
    notes.append(f"the target and the ratio are about the slowest case: {worst.label}")
    close_database()
    return Result(
        name="households.list",
        workload=f"{households:,} households / {people:,} people, county admin, first page of 50",
        ours=worst,
        target_seconds=LIST_TARGET,
        target_label=f"p95 <= {LIST_TARGET * 1000:g} ms for every case",
        baseline=worst_bare,
        baseline_name="bare SQL",
        figures=figures,
        notes=notes,
    )


@contextlib.contextmanager
def _postgres_loaded(households: int, notes: list[str]):
    """Django on a PostgreSQL database holding the roll, if one is asked for (yields True):
    BENCH_LOADED_PG, loaded beforehand and kept; else with --pg (BENCH_PG_URL) a scratch
    database loaded here by the importer (COPY), then VACUUM ANALYZE, dropped at the end."""
    loaded, scratch = os.environ.get("BENCH_LOADED_PG"), os.environ.get("BENCH_PG_URL")
    close_database()
    if loaded:
        use_database(loaded)
        migrate()
        notes.append(f"PostgreSQL: {redact(loaded)} (BENCH_LOADED_PG), loaded beforehand")
        yield True
        return
    if not scratch:
        yield False
        return
    url = _with_suffix(scratch, "_households")
    with fresh_postgres(url):
        user = H.prepare_database(url)
        with measure() as span:
            _load(H.roll(households), user)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        notes.append(
            f"PostgreSQL: {redact(url)} (--pg), loaded here by import_roll in {span.seconds:.0f} s"
            ", then VACUUM ANALYZE"
        )
        yield True


def _with_suffix(url: str, suffix: str) -> str:
    """The URL of a database named like ``url``'s plus ``suffix``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))


def _list_case(user, label, filters, figures, notes, worst, worst_bare):
    """One case of households.list, its figures added; returns the slowest so far."""
    from django.db import connection

    capture = _Capture()
    try:
        with _deadline(LIST_TIMEOUT) as arm:
            arm()
            with connection.execute_wrapper(capture):
                _page(user, filters)
            ours = _time(lambda f=filters: _page(user, f), LIST_RUNS, arm)
            bare = _time(_raw_runner(capture.statements), LIST_RUNS, arm)
    except TooSlow:
        figure = Figure(
            label=label,
            seconds=LIST_TIMEOUT,
            note=f"ABORTED: one page took more than {LIST_TIMEOUT:g} s",
        )
        figures.append(figure)
        notes.append(f"{label}: aborted after {LIST_TIMEOUT:g} s (BENCH_LIST_TIMEOUT)")
        if worst is None or figure.seconds > worst.seconds:
            worst, worst_bare = figure, None
        return worst, worst_bare
    ratio = ours.p(0.95) / bare.p(0.95) if bare.p(0.95) else float("nan")
    figure = Figure(
        label=label,
        seconds=ours.p(0.95),
        note=f"{ours.rows} rows; {len(ours.runs)} runs; p50 {ours.p(0.5) * 1000:.1f} ms, p95 {ours.p(0.95) * 1000:.1f} ms; "
        f"bare SQL p50 {bare.p(0.5) * 1000:.1f} ms, p95 {bare.p(0.95) * 1000:.1f} ms; "
        f"{len(capture.statements)} queries; ratio {ratio:.1f}x",
    )
    figures.append(figure)
    figures.append(Figure(label="  bare SQL, same statements", seconds=bare.p(0.95)))
    if worst is None or figure.seconds > worst.seconds:
        worst, worst_bare = figure, figures[-1]
    return worst, worst_bare


# ---------------------------------------------------------------------------------------------
# The export


def _export_line(label: str, households: int) -> tuple[Figure, int]:
    """The export of the database loaded with ``households``, in a process of its own."""
    path = H.loaded_database(households, load=_load)
    close_database()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bench._export_probe", sqlite_url(path), H.ADMIN],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"the export process failed:\n{done.stderr[-3000:]}")
    got = json.loads(done.stdout.strip().splitlines()[-1])
    figure = Figure(
        label=label,
        seconds=got["seconds"],
        cpu_seconds=got["cpu_seconds"],
        rows=got["rows"],
        peak_rss=got["peak_rss"],
        start_rss=got["start_rss"],
        note=f"RSS before {fmt_mb(got['start_rss'])}, after {fmt_mb(got['after_rss'])}, "
        f"peak {fmt_mb(got['peak_rss'])} (+{fmt_mb(got['peak_rss'] - got['start_rss'])}); "
        f"{got['bytes'] / 1_048_576:.0f} MB file",
    )
    return figure, got["rows"]


def run_export() -> Result:
    H.ensure_django()
    wanted = H.households_wanted()
    quarter = max(wanted // 4, 1)
    small, _rows = _export_line(f"export, a quarter: {quarter:,} households", quarter)
    whole, rows = _export_line(f"export, all {wanted:,} households", wanted)
    growth = (whole.peak_rss or 0) - (whole.start_rss or 0)
    growth_small = (small.peak_rss or 0) - (small.start_rss or 0)
    notes = [
        f"peak above the start: {fmt_mb(growth_small)} for a quarter, {fmt_mb(growth)} for all "
        f"({'constant' if growth <= 1.5 * growth_small + 32 * 1_048_576 else 'GROWS WITH SIZE'})",
        "each export runs in a fresh process (bench/_export_probe.py), so that its peak is "
        "its own; masked values, as the list page's export button makes it",
        "baseline: the same export of a quarter of the data",
    ]
    return Result(
        name="households.export",
        workload=f"{wanted:,} households / {rows:,} rows",
        ours=whole,
        target_seconds=EXPORT_TARGET,
        target_label=f"<= {EXPORT_TARGET:g} s, constant memory",
        baseline=small,
        baseline_name="a quarter of the data",
        figures=[small, whole],
        notes=notes,
    )


BENCHMARKS = [
    SimpleNamespace(
        NAME="households.import",
        DESCRIPTION="import the generated 涿州市 roll (.xlsx) into a fresh SQLite database, "
        "against django-import-export on the same file",
        run=run_import,
    ),
    SimpleNamespace(
        NAME="households.list",
        DESCRIPTION="the household list page's query (filters, search, first page) on the "
        "loaded roll, p50/p95 against the same SQL on the raw cursor",
        run=run_list,
    ),
    SimpleNamespace(
        NAME="households.export",
        DESCRIPTION="export every household as .xlsx: time and peak memory, against a quarter "
        "of the data",
        run=run_export,
    ),
]
