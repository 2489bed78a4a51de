"""Cleaning a person's data as entered (a form, an API call, a spreadsheet row) into what is
stored: the one place the rules for names, 身份证号, sex, birth date and phone live."""

import datetime
from dataclasses import dataclass, field
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from minqing.households.models import PersonStatus, Relation, Sex
from minqing.lib.crypto import encrypt, keyed_hash, keyring
from minqing.lib.idcard import IdNumber, InvalidIdNumber, parse_id_number
from minqing.lib.masking import mask_id_number, mask_phone, mask_quoted
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
    values, errors, number, phone = check_person(
        data.name,
        data.id_number,
        relation=data.relation,
        phone=data.phone,
        sex=data.sex,
        birth_date=data.birth_date,
        status=data.status,
        today=today,
    )
    if errors:
        raise ValidationError(errors)
    fields = dict(zip(PERSON_FIELDS, values, strict=True))
    fields["relation"] = data.relation
    audit = {
        "name": fields["name"],
        "id_number": mask_id_number(number),
        "phone": mask_phone(phone),
        "relation": data.relation,
        "status": data.status,
    }
    return CleanPerson(fields=fields, id_number=number, phone=phone, audit=audit)


# The values check_person gives, in order (relation, as entered, is the caller's).
PERSON_FIELDS = (
    "name",
    "name_initials",
    "id_cipher",
    "id_hash",
    "id_tail_hash",
    "sex",
    "birth_date",
    "phone_cipher",
    "phone_hash",
    "phone_tail_hash",
    "status",
)


def check_person(
    name: str,
    id_number: str,
    *,
    relation: str,
    phone: str = "",
    sex: str = "",
    birth_date: datetime.date | None = None,
    status: str = PersonStatus.RESIDENT,
    today: datetime.date | None = None,
    parsed: IdNumber | InvalidIdNumber | None = None,
    hashed: str | None = None,
) -> tuple[tuple, dict[str, str], str, str]:
    """clean_person's rules without its objects, for an importer's 700k rows: (the values of
    PERSON_FIELDS, or () when refused; {field: reason}; the ID number; the phone). A caller
    that has parsed (and hashed) the ID number already passes ``parsed`` (and ``hashed``)."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("姓名不能为空")
    elif len(name) > 50:
        errors["name"] = _("姓名“%(name)s”超过50个字") % {"name": name}
    elif any(c.isdigit() for c in name):
        errors["name"] = _("姓名“%(name)s”不应含数字") % {"name": name}

    if not str(id_number or "").strip():
        parsed = None
        errors["id_number"] = _("身份证号不能为空")
    elif parsed is None:
        try:
            parsed = parse_id_number(id_number, today=today)
        except InvalidIdNumber as error:
            parsed = error
    if isinstance(parsed, InvalidIdNumber):
        # The message quotes the number as typed: masked, like everywhere else.
        errors["id_number"] = mask_quoted(str(parsed), str(id_number))
        parsed = None
    if parsed:
        if sex and sex != parsed.sex:
            errors["sex"] = _("性别“%(entered)s”与身份证号不符（应为%(derived)s）") % {
                "entered": Sex(sex).label,
                "derived": Sex(parsed.sex).label,
            }
        if birth_date and birth_date != parsed.birth_date:
            errors["birth_date"] = _("出生日期 %(entered)s 与身份证号不符（应为 %(derived)s）") % {
                "entered": birth_date.isoformat(),
                "derived": parsed.birth_date.isoformat(),
            }
    elif birth_date and birth_date > (today or datetime.date.today()):
        errors["birth_date"] = _("出生日期 %(date)s 晚于今天") % {"date": birth_date.isoformat()}

    if str(phone or "").strip():
        try:
            phone = normalize_phone(phone)
        except InvalidPhone as error:
            errors["phone"] = mask_quoted(str(error), str(phone), phone=True)
    else:
        phone = ""
    if relation not in _RELATIONS:
        errors["relation"] = _("与户主关系“%(value)s”不是可选值") % {"value": relation}
    if status not in _STATUSES:
        errors["status"] = _("人员状态“%(value)s”不是可选值") % {"value": status}
    if errors:
        return (), errors, "", ""

    number = parsed.number
    values = (
        name,
        initials(name),
        encrypt(number),
        hashed or id_hash(number),
        _tail_hash(number[-4:], "id-tail"),
        parsed.sex,
        parsed.birth_date,
        encrypt(phone) if phone else None,
        phone_hash(phone) if phone else None,
        _tail_hash(phone[-4:], "phone-tail") if phone else None,
        status,
    )
    return values, errors, number, phone
