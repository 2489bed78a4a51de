"""Personal data (身份证号, phone): masked in every page and API answer for a user without the
personal-data permission, and never in the clear in the database."""

import json
from io import StringIO

from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from minqing.households.tests.conftest import (
    FULL_VALUES,
    LI_ID,
    LI_PHONE,
    MING_ID,
    ZHANG_ID,
    ZHANG_PHONE,
    assert_no_personal_data,
)
from minqing.lib.masking import mask_id_number, mask_phone

WITHOUT_PERMISSION = ("village", "paired", "township", "dept", "viewer", "supervisor")
NUMBERS = [ZHANG_ID, LI_ID, MING_ID]
PHONES = [ZHANG_PHONE, LI_PHONE]


def _pieces() -> list[str]:
    """What must not be found in the database: each whole number and phone, each ID number
    without its birth date (region and tail: 130681 + 021X), and each ID's tail after the
    birth date (sequence and check digit, 021X), which the birth date column would otherwise
    complete."""
    pieces = [*NUMBERS, *PHONES]
    pieces += [n[:6] + n[14:] for n in NUMBERS]
    pieces += [n[6:] for n in NUMBERS]  # birth date + tail
    return pieces


def _tails() -> list[str]:
    return [n[14:] for n in NUMBERS] + [p[-4:] for p in PHONES]


def test_masks_look_as_the_ministry_asks():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("031212345678") == "031*****5678"
    assert mask_id_number("") == mask_phone("") == ""


def test_pages_never_show_a_full_number_to_a_user_without_the_permission(
    registry, cast, client_for
):
    urls = [
        reverse("households:list"),
        reverse("households:list") + "?q=zs",
        reverse("households:list") + f"?q={ZHANG_ID}",
        reverse("households:list") + f"?q={ZHANG_PHONE[-4:]}",
        reverse("households:detail", args=[registry.zhang.pk]),
        reverse("households:detail", args=[registry.liu.pk]),
        reverse("households:person_edit", args=[registry.head.pk]),
        reverse("households:person_edit", args=[registry.li.pk]),
        reverse("households:person_move", args=[registry.ming.pk]) + "?q=刘",
        reverse("households:grant_new", args=[registry.zhang.pk]),
        reverse("households:new"),
        reverse("audit:log"),
        reverse("web:home"),
    ]
    for who in WITHOUT_PERMISSION:
        client = client_for(getattr(cast, who))
        for url in urls:
            response = client.get(url)
            # A search by a whole number echoes it in the search box: that is the user's own
            # typing, not the registry's answer.
            body = (
                response.content.decode()
                .replace(f'value="{ZHANG_ID}"', "")
                .replace(f"?q={ZHANG_ID}", "")
            )
            assert_no_personal_data(body)
        reveal = client.post(reverse("households:reveal", args=[registry.head.pk]))
        assert reveal.status_code in (403, 404)
        assert_no_personal_data(reveal.content)


def test_the_household_page_is_masked_even_for_a_user_with_the_permission(
    registry, cast, client_for
):
    html = (
        client_for(cast.admin)
        .get(reverse("households:detail", args=[registry.zhang.pk]))
        .content.decode()
    )

    assert_no_personal_data(html)
    assert mask_id_number(ZHANG_ID) in html
    assert mask_phone(LI_PHONE) in html


def test_the_database_holds_no_number_in_the_clear(registry):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM households_person")
        columns = [c[0] for c in cursor.description]
        rows = cursor.fetchall()

    assert len(rows) == 5
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            text = (
                bytes(value).decode("latin-1")
                if isinstance(value, bytes | memoryview)
                else str(value)
            )
            for piece in _pieces():
                assert piece not in text, f"{piece} in households_person.{column}"
            # Hashes are hex digits: a 4-digit tail may turn up in one by chance.
            if not column.endswith("_hash"):
                for tail in _tails():
                    assert tail not in text, f"{tail} in households_person.{column}"


def test_other_tables_hold_no_number_in_the_clear(registry):
    tables = [
        "households_household",
        "households_membership",
        "households_categorygrant",
        "households_dwelling",
        "households_assessment",
        "audit_auditlog",
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")
            text = repr(cursor.fetchall())
            for value in FULL_VALUES:
                assert value not in text, f"{value} in {table}"


def test_a_dump_of_the_registry_holds_no_number_in_the_clear(registry):
    out = StringIO()
    call_command("dumpdata", "households", stdout=out)
    dump = out.getvalue()

    assert '"model": "households.person"' in dump
    assert '"id_cipher"' in dump
    for piece in _pieces():
        assert piece not in dump
    people = [o for o in json.loads(dump) if o["model"] == "households.person"]
    assert len(people) == 5
    for person in people:
        for name, value in person["fields"].items():
            if name.endswith("_hash"):
                continue
            for tail in _tails():
                assert tail not in str(value), f"{tail} in {name}"


def test_the_cipher_still_gives_the_full_values(registry):
    # So that the greps above look for what is really there.
    assert registry.head.id_number == ZHANG_ID
    assert registry.head.phone == ZHANG_PHONE
