"""What the household benchmarks share: the generated 涿州市 roll, written as .xlsx in the
import layout (minqing.households.roll), and a database loaded with it, each made once per
process and reused by the next benchmark that needs it.

Size: ``BENCH_HOUSEHOLDS`` (or ``python -m bench --households N``), default 230,000 households
(≈ 700,000 people, 涿州市's size). Use e.g. 20000 for a quick run.
"""

import base64
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench._support import bench_tmpdir, close_database, migrate, sqlite_url, use_database

# Fixed, public keys for the personal data the benchmarks write (not the developer's, never a
# real one): a database loaded by one run stays readable by the next (BENCH_LOADED_DB). Set
# before Django reads them; the keyring is read on first use.
_BENCH_KEY = base64.b64encode(hashlib.sha256(b"minqing-bench-data-key").digest()).decode()
_BENCH_HASH_KEY = base64.b64encode(hashlib.sha256(b"minqing-bench-hash-key").digest()).decode()
if not os.environ.get("MINQING_DATA_KEYS"):
    os.environ["MINQING_DATA_KEYS"] = f"1:{_BENCH_KEY}"
    os.environ["MINQING_HASH_KEY"] = _BENCH_HASH_KEY

COUNTY = "130681"
FULL_HOUSEHOLDS = 230_000
SEED = 1
ADMIN = "bench-admin"


def households_wanted() -> int:
    raw = os.environ.get("BENCH_HOUSEHOLDS", "").replace("_", "").replace(",", "")
    return int(raw) if raw else FULL_HOUSEHOLDS


_tmp: tempfile.TemporaryDirectory | None = None


def scratch_dir() -> Path:
    """A directory for this process's rolls and databases, removed when the process ends."""
    global _tmp
    if _tmp is None:
        _tmp = tempfile.TemporaryDirectory(prefix="minqing-bench-households-", dir=bench_tmpdir())
    return Path(_tmp.name)


def ensure_django() -> None:
    """Set Django up (on a scratch database) if no benchmark has yet."""
    from django.apps import apps

    if not apps.ready:
        use_database(sqlite_url(scratch_dir() / "setup.sqlite3"))


# ---------------------------------------------------------------------------------------------
# The roll


def villages():
    """涿州市's villages from the packaged region file (the same list ``county_villages``
    reads from a database that has the county loaded)."""
    from minqing.households.generate import Village
    from minqing.regions.codes import level_of, parent_of, short_name
    from minqing.regions.services import read_region_file

    names = {code: name for code, name in read_region_file() if code.startswith(COUNTY)}
    return [
        Village(code, short_name(name), short_name(names[parent_of(code)]))
        for code, name in sorted(names.items())
        if level_of(code) == 5
    ]


def roll_rows(records: Iterable, village_names: dict[str, str]) -> Iterator[list[str]]:
    """One row per person in the roll's column order (roll.COLUMNS), household columns
    repeated on every member's row, current categories only (a roll shows what holds now)."""
    from minqing.households.categories import CATEGORIES
    from minqing.households.roll import format_categories, format_region, roll_row

    names = {code: (name, order) for order, (code, name, *_rest) in enumerate(CATEGORIES)}

    def held(grants) -> str:
        current = [(*names[g.code], g.grade) for g in grants if g.end is None]
        return format_categories([(name, grade, order) for name, order, grade in current])

    for household in records:
        head = household.head
        dwelling = household.dwelling
        region = format_region(village_names[household.region], household.region)
        household_categories = held(household.categories)
        for person in household.members:
            yield roll_row(
                head_name=head.name,
                head_id_number=head.id_number,
                name=person.name,
                id_number=person.id_number,
                relation=person.relation,
                sex=person.sex,
                birth_date=person.birth_date,
                phone=person.phone,
                status=person.status,
                region=region,
                address=household.address,
                household_categories=household_categories,
                person_categories=held(person.categories),
                grade=dwelling.grade,
                assessed_on=dwelling.assessed_on,
                cause=dwelling.cause,
                flooded=dwelling.ground_floor_flooded if dwelling.grade else None,
            )


@dataclass
class Roll:
    path: Path
    households: int
    people: int
    generate_seconds: float  # generating the records and writing the .xlsx
    sample_tail: str = ""  # the last four of one person's ID number, for a search
    # The first households, kept for slices (up to KEEP_ROWS people): the rest is streamed.
    first: list = field(default_factory=list, repr=False)
    slices: dict[int, "Roll"] = field(default_factory=dict, repr=False)


KEEP_ROWS = 60_000
_rolls: dict[int, Roll] = {}


def write_roll(path: Path, records: Iterable) -> int:
    """``records`` (GenHousehold) as an .xlsx roll, streamed; returns the number of rows."""
    from minqing.households.roll import HEADERS
    from minqing.lib.excel import write_xlsx

    village_names = {v.code: v.name for v in villages()}
    return write_xlsx(path, HEADERS, roll_rows(records, village_names), sheet_name="户籍花名册")


def roll(households: int) -> Roll:
    """The generated roll of ``households`` households as .xlsx, made once per process."""
    if households in _rolls:
        return _rolls[households]
    from minqing.households.generate import generate_households

    started = time.perf_counter()
    first: list = []
    kept = [0]
    count = [0]
    sample: list[str] = []

    def records():
        for household in generate_households(villages(), households, seed=SEED):
            count[0] += 1
            if kept[0] < KEEP_ROWS:
                first.append(household)
                kept[0] += len(household.members)
            if count[0] == households // 2:
                sample.append(household.members[-1].id_number[-4:])
            yield household

    path = scratch_dir() / f"roll-{households}.xlsx"
    people = write_roll(path, records())
    _rolls[households] = Roll(
        path=path,
        households=count[0],
        people=people,
        generate_seconds=time.perf_counter() - started,
        sample_tail=sample[0] if sample else "",
        first=first,
    )
    return _rolls[households]


def roll_slice(whole: Roll, rows: int) -> Roll:
    """The first whole households of ``whole`` that make at least ``rows`` rows, as .xlsx."""
    if rows in whole.slices:
        return whole.slices[rows]
    records, count = [], 0
    for household in whole.first:
        if count >= rows:
            break
        records.append(household)
        count += len(household.members)
    path = scratch_dir() / f"roll-{whole.households}-first-{count}.xlsx"
    people = write_roll(path, records)
    whole.slices[rows] = Roll(path, len(records), people, 0.0)
    return whole.slices[rows]


# ---------------------------------------------------------------------------------------------
# Databases


def prepare_database(url: str):
    """Point Django at ``url`` (a fresh database), migrate, load 涿州市's regions and make
    the county admin the import runs as. Returns the admin."""
    from minqing.accounts.models import User
    from minqing.accounts.roles import Role
    from minqing.accounts.services import user_create
    from minqing.regions.services import read_region_file, regions_load

    use_database(url)
    migrate()
    regions_load(rows=read_region_file(), edition=2023, within=COUNTY)
    return User.objects.filter(username=ADMIN).first() or user_create(
        actor=None,
        username=ADMIN,
        full_name="基准测试",
        role=Role.COUNTY_ADMIN,
        reach=COUNTY,
        password="Bench-password-2023",
        can_view_personal=True,
    )


def fresh_sqlite(name: str) -> tuple[Path, str]:
    path = scratch_dir() / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path, sqlite_url(path)


def admin_user():
    from minqing.accounts.models import User

    return User.objects.get(username=ADMIN)


_loaded: dict[int, Path] = {}


def remember_loaded(households: int, path: Path) -> None:
    """A database a benchmark loaded with the whole roll, for the next one to read; also
    copied to BENCH_SAVE_LOADED_DB if that is set (for BENCH_LOADED_DB in a later run)."""
    close_database()
    _loaded[households] = path
    keep = os.environ.get("BENCH_SAVE_LOADED_DB")
    if keep and households == households_wanted() and not Path(keep).exists():
        shutil.copyfile(path, keep)


def loaded_database(households: int, *, load) -> Path:
    """A SQLite file holding the generated roll of ``households`` households, made once per
    process (by ``load(roll, user)`` on a fresh database) and then reused read-only."""
    given = os.environ.get("BENCH_LOADED_DB")
    if households not in _loaded and given and households == households_wanted():
        # A database an earlier run loaded (a developer's shortcut): used through a copy,
        # brought up to the current migrations (an index added since, say).
        _loaded[households] = copy_database(Path(given), f"given-{households}")
        use_database(sqlite_url(_loaded[households]))
        migrate()
    if households not in _loaded:
        path, url = fresh_sqlite(f"loaded-{households}")
        user = prepare_database(url)
        load(roll(households), user)
        remember_loaded(households, path)
    path = _loaded[households]
    use_database(sqlite_url(path))
    return path


def copy_database(source: Path, name: str) -> Path:
    close_database()
    target, _url = fresh_sqlite(name)
    shutil.copyfile(source, target)
    return target
