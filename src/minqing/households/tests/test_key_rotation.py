import base64
import datetime
import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from minqing.audit.models import AuditLog
from minqing.households.models import Person
from minqing.households.people import PersonInput
from minqing.households.selectors import HouseholdFilter, household_list
from minqing.households.services import household_create
from minqing.lib.crypto import key_id, keyring
from minqing.lib.idcard import make_id_number
from minqing.regions.models import Region
from minqing.testing import WANQUANZHUANG

NUMBER = make_id_number("130681", datetime.date(1958, 4, 9), 17)
NEW_KEY = base64.b64encode(b"n" * 32).decode()


@pytest.fixture
def file_keys():
    keyring.cache_clear()
    data = json.loads((settings.VAR_DIR / "data_keys.json").read_text())
    yield data
    keyring.cache_clear()


@pytest.fixture
def household(cast, file_keys):
    return household_create(
        actor=cast.village,
        region=Region.objects.get(code=WANQUANZHUANG),
        address="万全庄村1组",
        head=PersonInput(name="刘秀兰", id_number=NUMBER, phone="13912345678"),
    )


def test_rotation_reencrypts_under_the_new_key_and_keeps_lookups(
    cast, household, file_keys, monkeypatch
):
    old = file_keys["current"]
    monkeypatch.setenv("MINQING_DATA_KEYS", f"200:{NEW_KEY},{old}:{file_keys['keys'][str(old)]}")
    monkeypatch.setenv("MINQING_HASH_KEY", file_keys["hash_key"])
    keyring.cache_clear()

    person = Person.objects.get()
    assert key_id(person.id_cipher) == old  # still readable before the rotation
    assert person.id_number == NUMBER

    call_command("rotatekeys", stdout=StringIO())

    person.refresh_from_db()
    assert key_id(person.id_cipher) == key_id(person.phone_cipher) == 200
    assert (person.id_number, person.phone) == (NUMBER, "13912345678")
    assert household_list(cast.village, HouseholdFilter(q=NUMBER)).get() == household
    assert AuditLog.objects.filter(action="rotate_keys").exists()


def test_a_new_hash_key_needs_a_rehash_before_lookups_work_again(
    cast, household, file_keys, monkeypatch
):
    old = file_keys["current"]
    monkeypatch.setenv("MINQING_DATA_KEYS", f"{old}:{file_keys['keys'][str(old)]}")
    monkeypatch.setenv("MINQING_HASH_KEY", NEW_KEY)
    keyring.cache_clear()
    assert not household_list(cast.village, HouseholdFilter(q=NUMBER)).exists()

    call_command("rotatekeys", "--rehash", stdout=StringIO())

    assert household_list(cast.village, HouseholdFilter(q=NUMBER)).get() == household
    assert household_list(cast.village, HouseholdFilter(q="5678")).get() == household
