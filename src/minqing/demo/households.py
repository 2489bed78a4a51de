"""The demo county's households: a generated roll (minqing.households.generate) written in bulk.

Every person still goes through ``clean_person`` (validation, encryption, keyed hashes,
pinyin initials), exactly as the services and the import do; what is bulk is the writing:
batches of ``bulk_create`` for households, people, memberships, dwellings, assessments and
category grants, and ONE audit row for the whole load (entity ``households.demo``), the way
``regions_load`` records a region load. Households any of whose members are already
registered (by ID hash) are skipped, so a rerun with the same seed and size adds nothing.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice

from django.db import connection, transaction

from minqing.audit.services import audit_record
from minqing.households import hooks
from minqing.households.generate import GenHousehold, Village, county_villages, generate_households
from minqing.households.models import (
    Assessment,
    Category,
    CategoryGrant,
    Dwelling,
    Household,
    Membership,
    Person,
    PersonStatus,
)
from minqing.households.people import PersonInput, clean_person, id_hash

# Members counted in 家庭人口 (services.PRESENT).
_PRESENT = frozenset({PersonStatus.RESIDENT, PersonStatus.AWAY})
_BATCH = 1000  # households per round trip
_REGISTERED = datetime.date(2010, 1, 1)  # when the roll was first kept, for the memberships


@dataclass
class WriteResult:
    households: int = 0
    people: int = 0
    skipped: int = 0  # households already there
    grants: int = 0
    assessments: int = 0
    by_village: dict[str, int] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)  # of the households written


def _batches(items: Iterable, size: int):
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _new(batch: list[GenHousehold]) -> list[GenHousehold]:
    """The households of ``batch`` none of whose members is registered yet."""
    hashes = {p.id_number: id_hash(p.id_number) for h in batch for p in h.members}
    found = set(
        Person.objects.filter(id_hash__in=list(hashes.values())).values_list("id_hash", flat=True)
    )
    if not found:
        return batch
    return [h for h in batch if not any(hashes[p.id_number] in found for p in h.members)]


def _write_batch(batch: list[GenHousehold], categories: dict[str, int], result: WriteResult):
    cleaned = [
        [
            clean_person(
                PersonInput(
                    name=p.name,
                    id_number=p.id_number,
                    relation=p.relation,
                    phone=p.phone,
                    sex=p.sex,
                    birth_date=p.birth_date,
                    status=p.status,
                )
            )
            for p in h.members
        ]
        for h in batch
    ]
    households = Household.objects.bulk_create(
        [
            Household(
                region_id=h.region,
                address=h.address,
                head_name=people[0].fields["name"],
                head_initials=people[0].fields["name_initials"],
                member_count=sum(1 for p in people if p.fields["status"] in _PRESENT),
            )
            for h, people in zip(batch, cleaned, strict=True)
        ]
    )
    result.ids += [h.pk for h in households]
    people = Person.objects.bulk_create(
        [
            Person(household_id=household.pk, region_id=household.region_id, **clean.fields)
            for household, members in zip(households, cleaned, strict=True)
            for clean in members
        ]
    )
    # The head is the first member of each household, as the generator yields them.
    heads, offset = [], 0
    for household, members in zip(households, cleaned, strict=True):
        heads.append((people[offset].pk, household.pk))
        offset += len(members)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Household._meta.db_table} SET head_id = %s WHERE id = %s",
            heads,
        )
    Membership.objects.bulk_create(
        [
            Membership(
                person_id=person.pk,
                household_id=person.household_id,
                relation=person.relation,
                joined_on=max(person.birth_date, _REGISTERED),
            )
            for person in people
        ]
    )
    dwellings = Dwelling.objects.bulk_create(
        [
            Dwelling(
                household_id=household.pk,
                region_id=household.region_id,
                grade=h.dwelling.grade,
                assessed_on=h.dwelling.assessed_on,
                appraiser=h.dwelling.appraiser,
                cause=h.dwelling.cause,
                ground_floor_flooded=h.dwelling.ground_floor_flooded,
            )
            for h, household in zip(batch, households, strict=True)
        ]
    )
    assessments = Assessment.objects.bulk_create(
        [
            Assessment(
                dwelling_id=dwelling.pk,
                grade=dwelling.grade,
                assessed_on=dwelling.assessed_on,
                appraiser=dwelling.appraiser,
                cause=dwelling.cause,
                ground_floor_flooded=dwelling.ground_floor_flooded,
            )
            for dwelling in dwellings
            if dwelling.grade
        ]
    )
    grants = []
    offset = 0
    for h, household in zip(batch, households, strict=True):
        for g in h.categories:
            grants.append(_grant(g, categories, household_id=household.pk, region=h.region))
        for p in h.members:
            for g in p.categories:
                grants.append(_grant(g, categories, person_id=people[offset].pk, region=h.region))
            offset += 1
    CategoryGrant.objects.bulk_create(grants)
    result.households += len(households)
    result.people += len(people)
    result.grants += len(grants)
    result.assessments += len(assessments)
    for h in batch:
        result.by_village[h.region] = result.by_village.get(h.region, 0) + 1


def _grant(g, categories, *, region, household_id=None, person_id=None) -> CategoryGrant:
    return CategoryGrant(
        category_id=categories[g.code],
        household_id=household_id,
        person_id=person_id,
        region_id=region,
        grade=g.grade,
        start=g.start,
        end=g.end,
        document=g.document,
        end_reason=g.end_reason,
    )


def write_households(
    records: Iterable[GenHousehold],
    *,
    actor=None,
    entity: str = "households.demo",
    region_code: str = "",
    note: dict | None = None,
    batch_size: int = _BATCH,
    progress: Callable[[WriteResult], None] | None = None,
) -> WriteResult:
    """Write generated households in bulk, in one transaction, with one audit row."""
    result = WriteResult()
    categories = dict(Category.objects.values_list("code", "id"))
    with transaction.atomic():
        for batch in _batches(records, batch_size):
            new = _new(batch)
            result.skipped += len(batch) - len(new)
            if new:
                _write_batch(new, categories, result)
            if progress:
                progress(result)
        hooks.changed(result.ids)  # the campaigns already running enrol them
        if result.households:
            audit_record(
                actor=actor,
                action="create",
                entity=entity,
                region_code=region_code,
                changes={
                    "households": [None, result.households],
                    "people": [None, result.people],
                    "category_grants": [None, result.grants],
                    "assessments": [None, result.assessments],
                    **{k: [None, v] for k, v in (note or {}).items()},
                },
            )
    return result


def build_households(
    *,
    county: str,
    count: int,
    seed: int = 1,
    at_least: dict[str, int] | None = None,
    villages: list[Village] | None = None,
) -> WriteResult:
    """The demo's households for ``county``: generated with ``seed``, written in bulk."""
    villages = villages if villages is not None else county_villages(county)
    records = generate_households(villages, count, seed=seed, at_least=at_least)
    return write_households(
        records,
        region_code=county.ljust(12, "0"),
        note={"seed": seed, "requested": count},
    )
