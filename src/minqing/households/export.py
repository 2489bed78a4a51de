"""Export of a filtered household list as a roll (.xlsx) in the import's column layout
(roll.py), so that a full export re-imports unchanged (a household without a head too: its
rows carry roll.NO_HEAD).

Streamed in constant memory: households are read from a server-side cursor in chunks of
CHUNK, each chunk's people and categories by raw queries on their indexed columns, and the
rows written a row at a time (lib/excel.py ``write_xlsx``) to a temporary file. ID numbers and phones are masked unless the
user may see personal data AND asked for full values, which leaves an audit row; sensitive
categories (残疾, 信访户) are left out for a user who may not see personal data.
"""

import datetime
import itertools
import tempfile
from collections.abc import Iterator

from django.db import connection, transaction
from django.utils import timezone

from minqing.accounts.access import require_personal
from minqing.audit.services import audit_record
from minqing.households import roll
from minqing.households.models import Category, CategoryGrant, Person, Relation
from minqing.households.selectors import HouseholdFilter, household_list
from minqing.lib.crypto import decrypt
from minqing.lib.excel import write_xlsx
from minqing.lib.masking import mask_id_number, mask_phone
from minqing.regions.models import Region

CHUNK = 2000
_RELATION_ORDER = {value: i for i, value in enumerate(Relation.values)}
_HOUSEHOLD_FIELDS = (
    "id",
    "region_id",
    "address",
    "head_id",
    "dwelling__grade",
    "dwelling__assessed_on",
    "dwelling__cause",
    "dwelling__ground_floor_flooded",
)
_PERSON_COLUMNS = (
    "id",
    "household_id",
    "name",
    "id_cipher",
    "phone_cipher",
    "sex",
    "birth_date",
    "status",
    "relation",
)


def _chunks(iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _household_rows(qs) -> Iterator[tuple]:
    """The households of ``qs`` (values_list) streamed from a server-side cursor where the
    database has one, without the ORM's per-row converters (dates stay as the driver gives
    them: text on SQLite, dates on PostgreSQL)."""
    sql, params = qs.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield from rows


def _select(cursor, sql: str, ids: list, params=()) -> list[tuple]:
    """``sql`` with ``{ids}`` replaced by one placeholder per id (a chunk's ids: a few
    thousand, within both databases' limits)."""
    cursor.execute(sql.format(ids=", ".join(["%s"] * len(ids))), [*ids, *params])
    return cursor.fetchall()


def roll_rows(
    user, filters: HouseholdFilter, *, full: bool, day: datetime.date | None = None
) -> Iterator[list[str]]:
    """The roll's rows for the households ``user`` sees through ``filters``, one per person,
    household by household.

    A county's roll is 700k rows: each chunk of households costs two raw queries (the
    members, the categories held on ``day``), not ORM-built IN lists, and the rows are made
    in one tight loop (bench/households.py)."""
    day = day or timezone.localdate()
    categories = Category.objects.all()
    if not user.can_view_personal:
        categories = categories.filter(sensitive=False)
    names = {c.pk: (c.name, c.order) for c in categories}
    regions: dict[str, str] = {}
    show_id = (lambda v: v) if full else mask_id_number
    show_phone = (lambda v: v) if full else mask_phone
    format_categories, format_region, roll_row = (
        roll.format_categories,
        roll.format_region,
        roll.roll_row,
    )
    relation_order = _RELATION_ORDER
    no_head = roll.NO_HEAD

    quote = connection.ops.quote_name
    person_sql = (
        # The birth date as text on both databases: no per-row date converter.
        f"SELECT {', '.join(quote(c) if c != 'birth_date' else 'CAST(birth_date AS TEXT)' for c in _PERSON_COLUMNS)}"
        f" FROM {quote(Person._meta.db_table)} WHERE household_id IN ({{ids}})"
    )
    grant_table = quote(CategoryGrant._meta.db_table)
    # The categories the user may see are picked here, not in the SQL: with a category
    # list SQLite would walk the (category, period) index over every grant of the county
    # for each chunk instead of looking the chunk's owners up.
    held_sql = f" AND start <= %s AND ({quote('end')} IS NULL OR {quote('end')} >= %s)"
    day_param = connection.ops.adapt_datefield_value(day)
    household_grants_sql = (
        f"SELECT household_id, category_id, grade FROM {grant_table}"
        f" WHERE household_id IN ({{ids}}){held_sql}"
    )
    person_grants_sql = (
        f"SELECT person_id, category_id, grade FROM {grant_table}"
        f" WHERE person_id IN ({{ids}}){held_sql}"
    )

    households = _household_rows(
        household_list(user, filters).order_by("region_id", "id").values_list(*_HOUSEHOLD_FIELDS)
    )
    with connection.cursor() as cursor:
        for chunk in _chunks(households, CHUNK):
            ids = [h[0] for h in chunk]
            missing = {h[1] for h in chunk} - regions.keys()
            if missing:
                regions.update(
                    Region.objects.filter(code__in=missing).values_list("code", "short_name")
                )
            people: dict[int, list] = {}
            for person in _select(cursor, person_sql, ids):
                people.setdefault(person[1], []).append(person)
            person_ids = [p[0] for members in people.values() for p in members]
            held: dict[tuple[str, int], list] = {}
            for kind, sql, owners in (
                ("h", household_grants_sql, ids),
                ("p", person_grants_sql, person_ids),
            ):
                if not owners:
                    continue
                for owner, category_id, grade in _select(
                    cursor, sql, owners, (day_param, day_param)
                ):
                    if category_id in names:
                        name, order = names[category_id]
                        held.setdefault((kind, owner), []).append((name, grade, order))
            for hid, region, address, head_id, grade, assessed_on, cause, flooded in chunk:
                members = sorted(
                    people.get(hid, ()),
                    key=lambda p: (relation_order.get(p[8], 99), p[6] or "9999", p[0]),
                )
                head = next((p for p in members if p[0] == head_id), None)
                # A household without a head says so: left blank, its rows would read as
                # the members of the head row above them (roll.py).
                head_name = head[2] if head else no_head
                head_number = show_id(decrypt(head[3])) if head and head[3] else ""
                region_text = format_region(regions.get(region, ""), region)
                household_categories = format_categories(held.get(("h", hid), []))
                # A household never assessed and never flooded says nothing here.
                flooded = flooded if (grade or flooded) else None
                for person in members:
                    pid, _hid, name, id_cipher, phone_cipher, sex, birth, status, relation = person
                    categories = held.get(("p", pid))  # most people hold none
                    yield roll_row(
                        head_name=head_name,
                        head_id_number=head_number,
                        name=name,
                        id_number=(
                            head_number
                            if person is head
                            else (show_id(decrypt(id_cipher)) if id_cipher else "")
                        ),
                        relation=relation,
                        sex=sex,
                        birth_date=birth,
                        phone=show_phone(decrypt(phone_cipher)) if phone_cipher else "",
                        status=status,
                        region=region_text,
                        address=address,
                        household_categories=household_categories,
                        person_categories=format_categories(categories) if categories else "",
                        grade=grade or "",
                        assessed_on=assessed_on,
                        cause=cause or "",
                        flooded=flooded,
                    )


def export_households(*, user, filters: HouseholdFilter, full: bool = False):
    """The roll as an open temporary .xlsx file (deleted when closed) and its row count.
    ``full`` needs the personal-data permission and is recorded in the audit log."""
    if full:
        require_personal(user)
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (the response closes it)
    try:
        count = write_xlsx(
            handle, roll.HEADERS, roll_rows(user, filters, full=full), sheet_name="户籍花名册"
        )
        if full:
            with transaction.atomic():
                audit_record(
                    actor=user,
                    action="export_personal",
                    entity="households.household",
                    region_code=filters.region or user.reach,
                    changes={"rows": [None, count], "filters": [None, _describe(filters)]},
                )
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle, count


def _describe(filters: HouseholdFilter) -> dict:
    return {
        key: value
        for key, value in {
            "region": filters.region,
            "category": filters.category.code if filters.category else "",
            "on": filters.on.isoformat() if filters.on else "",
            "grade": filters.grade,
            "members_min": filters.members_min,
            "members_max": filters.members_max,
            "q": "…" if filters.q else "",  # a search may be an ID number: not logged
            "state": filters.state,
        }.items()
        if value not in ("", None)
    }
