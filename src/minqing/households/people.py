"""Cleaning a person's data as entered (a form, an API call, a spreadsheet row) into what is
stored: the one place the rules for names, 身份证号, sex, birth date and phone live."""

import datetime
from dataclasses import dataclass, field
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from minqing.households.models import PersonStatus, Relation, Sex
from minqing.lib.crypto import encrypt, keyed_hash, keyring
from minqing.lib.idcard import InvalidIdNumber, parse_id_number
from minqing.lib.masking import mask_id_number, mask_phone
from minqing.lib.phones import InvalidPhone, normalize_phone
from minqing.lib.pinyin import initials

# Sets, not the enums' .values lists, which Django rebuilds on every access.
_RELATIONS = frozenset(Relation.values)
_STATUSES = frozenset(PersonStatus.values)


@dataclass
class PersonInput:
    name: str
    id_number: str
    relation: str = Relation.HEAD
    phone: str = ""
    sex: str = ""  # as entered: checked against the ID number
    birth_date: datetime.date | None = None  # likewise
    status: str = PersonStatus.RESIDENT


@dataclass
class CleanPerson:
    """Model field values for a Person, plus the clear values the caller may need."""

    fields: dict
    id_number: str
    phone: str
    audit: dict = field(default_factory=dict)  # masked values, safe for the audit log


def id_hash(number: str) -> str:
    return keyed_hash(number, "id")


def phone_hash(number: str) -> str:
    return keyed_hash(number, "phone")


def tail_hashes(digits: str) -> tuple[str, str]:
    """(id tail, phone tail) hashes of the last four characters typed in a search."""
    tail = digits[-4:].upper()
    return _tail_hash(tail, "id-tail"), _tail_hash(tail, "phone-tail")


def _tail_hash(tail: str, purpose: str) -> str:
    """A last-four hash: 110,000 possible tails among a county's 700k people, so each is
    computed once (per hash key: a test may change it)."""
    return _cached_hash(keyring().hash_key, tail, purpose)


@lru_cache(maxsize=1 << 18)
def _cached_hash(key: bytes, text: str, purpose: str) -> str:
    return keyed_hash(text, purpose)


def clean_person(data: PersonInput, *, today: datetime.date | None = None) -> CleanPerson:
    """Validate and transform; a ValidationError maps each bad field to what is wrong."""
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not name:
        errors["name"] = _("姓名不能为空")
    elif len(name) > 50:
        errors["name"] = _("姓名“%(name)s”超过50个字") % {"name": name}
    elif any(c.isdigit() for c in name):
        errors["name"] = _("姓名“%(name)s”不应含数字") % {"name": name}

    parsed = None
    if not str(data.id_number or "").strip():
        errors["id_number"] = _("身份证号不能为空")
    else:
        try:
            parsed = parse_id_number(data.id_number, today=today)
        except InvalidIdNumber as error:
            errors["id_number"] = str(error)
    if parsed:
        if data.sex and data.sex != parsed.sex:
            errors["sex"] = _("性别“%(entered)s”与身份证号不符（应为%(derived)s）") % {
                "entered": Sex(data.sex).label,
                "derived": Sex(parsed.sex).label,
            }
        if data.birth_date and data.birth_date != parsed.birth_date:
            errors["birth_date"] = _("出生日期 %(entered)s 与身份证号不符（应为 %(derived)s）") % {
                "entered": data.birth_date.isoformat(),
                "derived": parsed.birth_date.isoformat(),
            }
    elif data.birth_date and data.birth_date > (today or datetime.date.today()):
        errors["birth_date"] = _("出生日期 %(date)s 晚于今天") % {
            "date": data.birth_date.isoformat()
        }

    phone = ""
    if str(data.phone or "").strip():
        try:
            phone = normalize_phone(data.phone)
        except InvalidPhone as error:
            errors["phone"] = str(error)
    if data.relation not in _RELATIONS:
        errors["relation"] = _("与户主关系“%(value)s”不是可选值") % {"value": data.relation}
    if data.status not in _STATUSES:
        errors["status"] = _("人员状态“%(value)s”不是可选值") % {"value": data.status}
    if errors:
        raise ValidationError(errors)

    number = parsed.number
    fields = {
        "name": name,
        "name_initials": initials(name),
        "id_cipher": encrypt(number),
        "id_hash": id_hash(number),
        "id_tail_hash": _tail_hash(parsed.tail, "id-tail"),
        "sex": parsed.sex,
        "birth_date": parsed.birth_date,
        "phone_cipher": encrypt(phone) if phone else None,
        "phone_hash": phone_hash(phone) if phone else None,
        "phone_tail_hash": _tail_hash(phone[-4:], "phone-tail") if phone else None,
        "status": data.status,
        "relation": data.relation,
    }
    audit = {
        "name": name,
        "id_number": mask_id_number(number),
        "phone": mask_phone(phone),
        "relation": data.relation,
        "status": data.status,
    }
    return CleanPerson(fields=fields, id_number=number, phone=phone, audit=audit)
