"""The generated roll (minqing.households.generate): deterministic, valid, believable."""

import datetime
from collections import Counter
from functools import cache

import pytest

from minqing.households.generate import (
    FLOODED_TOWNSHIPS,
    REFERENCE_DAY,
    Village,
    allocate,
    generate_households,
)
from minqing.households.models import Relation
from minqing.households.people import PersonInput, clean_person
from minqing.lib.idcard import parse_id_number
from minqing.lib.phones import normalize_phone
from minqing.regions.codes import level_of, parent_of, short_name
from minqing.regions.services import read_region_file

WANQUANZHUANG = "130681107228"


@cache
def zhuozhou() -> tuple[Village, ...]:
    names = {code: name for code, name in read_region_file() if code.startswith("130681")}
    return tuple(
        Village(code, short_name(name), short_name(names[parent_of(code)]))
        for code, name in sorted(names.items())
        if level_of(code) == 5
    )


@cache
def sample() -> tuple:
    """A mid-size roll: 6,000 households, about 18,000 people."""
    return tuple(generate_households(zhuozhou(), 6000, seed=7))


def test_same_seed_same_records():
    first = list(generate_households(zhuozhou(), 500, seed=3))[:50]
    again = list(generate_households(zhuozhou(), 500, seed=3))[:50]
    other = list(generate_households(zhuozhou(), 500, seed=4))[:50]
    assert first == again
    assert first != other
    assert len({h.head.id_number for h in first} & {h.head.id_number for h in other}) < 5


def test_a_larger_roll_keeps_the_smaller_ones_households():
    small = [h for h in generate_households(zhuozhou(), 1000, seed=1) if h.region == WANQUANZHUANG]
    large = [h for h in generate_households(zhuozhou(), 3000, seed=1) if h.region == WANQUANZHUANG]
    assert len(large) > len(small) > 0
    assert large[: len(small)] == small


def test_households_are_spread_over_every_village_more_in_the_flooded_townships():
    villages = zhuozhou()
    counts = allocate(villages, 6000, seed=7, at_least={WANQUANZHUANG: 40})
    assert sum(counts) == 6000
    assert min(counts) >= 1
    by_code = dict(zip((v.code for v in villages), counts, strict=True))
    assert by_code[WANQUANZHUANG] >= 40
    flooded = [
        n for v, n in zip(villages, counts, strict=True) if v.code.startswith(FLOODED_TOWNSHIPS)
    ]
    others = [
        n for v, n in zip(villages, counts, strict=True) if not v.code.startswith(FLOODED_TOWNSHIPS)
    ]
    assert sum(flooded) / len(flooded) > 1.3 * sum(others) / len(others)
    # Few households: every village cannot have one; the minimum still holds.
    few = allocate(villages, 20, seed=7, at_least={WANQUANZHUANG: 12})
    assert sum(few) == 20 and few[[v.code for v in villages].index(WANQUANZHUANG)] >= 12


def test_id_numbers_are_valid_unique_and_of_the_county():
    people = [p for h in sample() for p in h.members]
    assert len({p.id_number for p in people}) == len(people)
    for person in people:
        parsed = parse_id_number(person.id_number, today=REFERENCE_DAY)
        assert parsed.number.startswith("130681")
        assert parsed.sex == person.sex
        assert parsed.birth_date == person.birth_date


def test_every_person_passes_clean_person():
    for household in sample()[:1000]:
        for p in household.members:
            clean = clean_person(
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
            assert clean.id_number == p.id_number


def test_households_are_believable():
    for household in sample():
        head, *others = household.members
        assert head.relation == Relation.HEAD
        assert 30 <= head.age() <= 90
        assert all(p.relation != Relation.HEAD for p in others)
        assert sum(1 for p in others if p.relation == Relation.SPOUSE) <= 1
        for p in others:
            if p.relation == Relation.SPOUSE:
                assert p.sex != head.sex and abs(p.age() - head.age()) <= 8
            if p.relation == Relation.CHILD:
                assert p.age() < head.age() - 15
            if p.relation == Relation.PARENT:
                assert p.age() > head.age() + 15
        assert household.address.startswith(
            next(v.township + v.name for v in zhuozhou() if v.code == household.region)
        )
        for p in household.members:
            if p.phone:
                assert normalize_phone(p.phone) == p.phone and p.phone[1] in "3456789"
            for grant in p.categories:
                assert p.birth_date <= grant.start <= REFERENCE_DAY
                assert grant.code != "disabled" or grant.grade in ("一级", "二级", "三级", "四级")


def share(n: int, of: int) -> float:
    return n / of


def test_shares_are_roughly_right():
    households = sample()
    people = [p for h in households for p in h.members]
    sizes = Counter(len(h.members) for h in households)
    assert set(sizes) == {1, 2, 3, 4, 5, 6}
    assert 2.8 <= len(people) / len(households) <= 3.2
    assert 0.8 <= share(sum(1 for p in people if p.phone), len(people)) <= 0.9

    held = Counter(g.code for h in households for g in h.categories if g.end is None)
    assert 0.02 <= share(held["dibao"], len(households)) <= 0.04
    assert 0.002 <= share(held["tekun"], len(households)) <= 0.009
    assert 0.005 <= share(held["dibao_edge"], len(households)) <= 0.016
    assert 0.0005 <= share(held["petitioner"], len(households)) <= 0.007
    personal = Counter(g.code for p in people for g in p.categories)
    assert 0.045 <= share(personal["disabled"], len(people)) <= 0.075
    for code in (
        "elderly_alone",
        "elderly_left_behind",
        "child_left_behind",
        "party_rep",
        "able_earner",
        "retired_cadre",
    ):
        assert personal[code] > 0, code

    flooded = [h for h in households if h.region.startswith(FLOODED_TOWNSHIPS)]
    grades = Counter(h.dwelling.grade for h in flooded)
    assert 0.035 <= share(grades["C"], len(flooded)) <= 0.065
    assert 0.02 <= share(grades["D"], len(flooded)) <= 0.045
    assert grades["A"] and grades["B"] and grades[""]
    for h in flooded:
        if h.dwelling.grade in ("C", "D"):
            assert h.dwelling.cause == "flood"
            assert datetime.date(2023, 8, 1) <= h.dwelling.assessed_on <= datetime.date(2023, 9, 30)
            assert "disaster_hit" in {g.code for g in h.categories}
    assert any(h.dwelling.ground_floor_flooded for h in flooded)
    elsewhere = [h for h in households if not h.region.startswith(FLOODED_TOWNSHIPS)]
    assert share(sum(h.dwelling.grade in ("C", "D") for h in elsewhere), len(elsewhere)) < 0.02
    assert not any(g.code == "disaster_hit" for h in elsewhere for g in h.categories)


def test_common_surnames_come_first():
    surnames = Counter(p.name[0] for h in sample() for p in h.members)
    assert {name for name, _n in surnames.most_common(4)} == set("王李张刘")


@pytest.mark.parametrize("count", [0, -1])
def test_no_households_for_nothing(count):
    assert list(generate_households(zhuozhou(), count)) == []
