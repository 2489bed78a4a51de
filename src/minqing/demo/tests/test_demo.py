"""``minqing demo --households N``: the demo county's roll, deterministic and idempotent, with
every ID number and phone encrypted."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection

from minqing.accounts.models import User
from minqing.audit.models import AuditLog
from minqing.households.models import (
    CategoryGrant,
    Dwelling,
    Household,
    Membership,
    Person,
    Relation,
)
from minqing.households.selectors import HouseholdFilter, household_list
from minqing.lib.idcard import parse_id_number

WANQUANZHUANG = "130681107228"
ID_NUMBER = re.compile(rb"130681(?:19|20)\d{9}[\dX]")  # the county's, in clear


def demo(households: int, seed: int = 1) -> str:
    out = io.StringIO()
    call_command("demo", households=households, seed=seed, stdout=out)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Household, Person, Membership, Dwelling, CategoryGrant, AuditLog)
    }


@pytest.fixture
def demo_county(db):
    output = demo(households=300)
    return output


def test_demo_creates_households_in_the_village_cadres_village(demo_county):
    assert "新建 300 户" in demo_county
    assert Household.objects.count() == 300
    cadre = User.objects.get(username="wanquanzhuang")
    mine = household_list(cadre, HouseholdFilter())
    assert mine.count() >= 12
    assert set(mine.values_list("region_id", flat=True)) == {WANQUANZHUANG}
    household = mine.select_related("head").first()
    assert household.head.relation == Relation.HEAD
    assert household.head_name == household.head.name
    assert household.member_count == household.members.count()
    assert Membership.objects.count() == Person.objects.count()
    assert Dwelling.objects.count() == 300
    # The county's villages, not only the cadre's; grade-C/D dwellings in the flooded ones.
    assert Household.objects.values("region__parent").distinct().count() > 10
    people = Person.objects.count()
    assert 2.5 * 300 < people < 3.5 * 300
    assert CategoryGrant.objects.filter(category__code="disaster_hit").exists()


def test_demo_is_idempotent_and_writes_one_audit_row(demo_county):
    before = table_counts()
    output = demo(households=300)
    assert "新建 0 户、0 人" in output
    assert "跳过 300 户" in output
    assert table_counts() == before
    rows = AuditLog.objects.filter(entity="households.demo")
    assert rows.count() == 1
    row = rows.get()
    assert row.source == "command"
    assert row.changes["households"] == [None, 300]
    assert row.changes["people"] == [None, Person.objects.count()]


def test_same_seed_same_county_another_seed_adds_others(demo_county):
    heads = set(Household.objects.values_list("head_name", "address"))
    output = demo(households=300, seed=2)
    assert "新建 300 户" in output
    assert Household.objects.count() == 600
    assert set(Household.objects.values_list("head_name", "address")) >= heads


def test_every_id_number_is_encrypted(demo_county):
    """No ID number, nor phone, in clear anywhere in the registry's tables or the audit log:
    what someone reading the database file directly would see."""
    people = list(Person.objects.all())
    assert all(parse_id_number(p.id_number) for p in people)  # they decrypt to valid numbers
    assert sum(1 for p in people if p.phone) > 0.7 * len(people)
    clear = [p.id_number.encode() for p in people] + [p.phone.encode() for p in people if p.phone]
    tables = [
        model._meta.db_table
        for model in (Household, Person, Membership, Dwelling, CategoryGrant, AuditLog)
    ]
    dump = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")
            for row in cursor.fetchall():
                dump.append(
                    b"|".join(
                        bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
                        for v in row
                    )
                )
    raw = b"\n".join(dump)
    assert not ID_NUMBER.search(raw)
    assert not [value for value in clear if value in raw]


def test_no_households_asked_for_none(db):
    output = demo(households=0)
    assert "户籍台账" not in output
    assert Household.objects.count() == 0
    assert User.objects.filter(username="wanquanzhuang").exists()
