"""Export of a filtered household list as a roll (.xlsx) in the import's column layout
(roll.py), so that a full export re-imports unchanged.

Streamed in constant memory: households are read in chunks of CHUNK (``.iterator``), each
chunk's people and categories in one query each, and the rows written by XlsxWriter's
``constant_memory`` mode to a temporary file. ID numbers and phones are masked unless the
user may see personal data AND asked for full values, which leaves an audit row; sensitive
categories (残疾, 信访户) are left out for a user who may not see personal data.
"""

import datetime
import itertools
import tempfile
from collections.abc import Iterator

from django.db import transaction
from django.db.models import Q
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
_PERSON_FIELDS = (
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


def roll_rows(
    user, filters: HouseholdFilter, *, full: bool, day: datetime.date | None = None
) -> Iterator[list[str]]:
    """The roll's rows for the households ``user`` sees through ``filters``, one per person,
    household by household."""
    day = day or timezone.localdate()
    categories = Category.objects.all()
    if not user.can_view_personal:
        categories = categories.filter(sensitive=False)
    names = {c.pk: (c.name, c.order) for c in categories}
    regions: dict[str, str] = {}
    show_id = (lambda v: v) if full else mask_id_number
    show_phone = (lambda v: v) if full else mask_phone

    households = (
        household_list(user, filters)
        .order_by("region_id", "id")
        .values_list(*_HOUSEHOLD_FIELDS)
        .iterator(chunk_size=CHUNK)
    )
    for chunk in _chunks(households, CHUNK):
        ids = [h[0] for h in chunk]
        missing = {h[1] for h in chunk} - regions.keys()
        if missing:
            regions.update(
                Region.objects.filter(code__in=missing).values_list("code", "short_name")
            )
        people: dict[int, list] = {}
        for person in Person.objects.filter(household_id__in=ids).values_list(*_PERSON_FIELDS):
            people.setdefault(person[1], []).append(person)
        held: dict[tuple[str, int], list] = {}
        grants = (
            # The members' ids are in hand: two IN lists on the grant's own indexed columns,
            # not an OR across a join (16 of 51 s of a county export before).
            CategoryGrant.objects.filter(
                Q(household_id__in=ids)
                | Q(person_id__in=[p[0] for members in people.values() for p in members])
            )
            .filter(category_id__in=names, start__lte=day)
            .exclude(end__lt=day)
            .values_list("household_id", "person_id", "category_id", "grade")
        )
        for household_id, person_id, category_id, grade in grants:
            key = ("h", household_id) if household_id else ("p", person_id)
            held.setdefault(key, []).append((*names[category_id][:1], grade, names[category_id][1]))
        for hid, region, address, head_id, grade, assessed_on, cause, flooded in chunk:
            members = sorted(
                people.get(hid, ()),
                key=lambda p: (_RELATION_ORDER.get(p[8], 99), p[6] or datetime.date.max, p[0]),
            )
            head = next((p for p in members if p[0] == head_id), None)
            head_number = show_id(decrypt(head[3])) if head and head[3] else ""
            region_text = roll.format_region(regions.get(region, ""), region)
            household_categories = roll.format_categories(held.get(("h", hid), []))
            for person in members:
                yield roll.roll_row(
                    head_name=head[2] if head else "",
                    head_id_number=head_number,
                    name=person[2],
                    id_number=(
                        head_number
                        if person is head
                        else (show_id(decrypt(person[3])) if person[3] else "")
                    ),
                    relation=person[8],
                    sex=person[5],
                    birth_date=person[6],
                    phone=show_phone(decrypt(person[4])) if person[4] else "",
                    status=person[7],
                    region=region_text,
                    address=address,
                    household_categories=household_categories,
                    person_categories=roll.format_categories(held.get(("p", person[0]), [])),
                    grade=grade or "",
                    assessed_on=assessed_on,
                    cause=cause or "",
                    # A household never assessed and never flooded says nothing here.
                    flooded=flooded if (grade or flooded) else None,
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
        }.items()
        if value not in ("", None)
    }
