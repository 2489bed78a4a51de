"""Import of a household roll (户籍花名册) from .xlsx, .xls, .ods or .csv.

Three steps, each usable alone (the pages run them as background tasks, the command in turn):

1. **Read and check every row** without touching the database: people through
   ``people.check_person`` (the one place person rules live), the other cells through roll.py.
   Checking costs ~27 µs a row (encryption and keyed hashes included), so a big roll is
   checked by a pool of processes, each reading its chunks' rows from the sheet it inherited
   (calamine holds it in memory; a .csv's rows are read here and sent).
2. **Plan** against the registry: group the rows into households (a 户主 row starts one,
   other rows join by 户主身份证号, else the nearest 户主 row above unless their 户主姓名
   names another head; rows marked roll.NO_HEAD stay in the household the registry has
   them in), find who already exists by the keyed hash of the ID number, and sort each row
   into create / update / unchanged / refuse. A member row moves someone the registry has
   in another household only if it names its head's ID number, never by its place alone.
   A head row naming a member of a registered household is that household's 户主变更,
   done by the service, unless the file keeps its head as a head (分户: a new household);
   where the file cannot tell which, its rows are refused rather than guessed.
   Every problem is kept as (row, column, value, reason), never only the first.
3. **Apply** in one transaction: all or nothing, unless ``partial`` was chosen, in which case
   the refused rows (and the rows of a household whose head row is refused) are left out.
   The writes are bulk inserts and ``executemany`` updates with ids allocated up front, so
   a county's roll (230k households / 700k people) is written in seconds, not hours.

The import writes ONE audit row (entity ``households.import``, action ``import``, the file's
name and sha256, the counts), not one per person as the per-record services do: an audit
log of 700k rows for one upload would drown what the log is for, and the file's hash
identifies exactly what was written. Personal data never goes into that row, nor into the
refusals that are stored: ID numbers and phones there are masked.

Semantics a clerk can rely on: re-importing the same file changes nothing; a corrected file
updates by ID number (a person found by its hash is updated, a household found by its head's
ID is updated); an empty cell never erases what is stored (phone, address, status, the
dwelling), except in 户类别 and 人员类别, where the file says which categories are held now
(a category the importing user may not see is never ended by an import). The import never
removes a person from a household: moving out is done on the household's page.
"""

import contextlib
import datetime
import gc
import hashlib
import itertools
import multiprocessing
import operator
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.access import require_write
from minqing.audit.context import current_origin, origin
from minqing.audit.services import audit_record
from minqing.households import hooks, roll
from minqing.households.models import (
    Assessment,
    Category,
    CategoryGrant,
    Dwelling,
    Household,
    Membership,
    Person,
    PersonStatus,
    Relation,
)
from minqing.households.people import PERSON_FIELDS, check_person, id_hash
from minqing.households.selectors import visible_categories
from minqing.households.services import household_head_change, suggested_relations
from minqing.lib.crypto import decrypt
from minqing.lib.excel import (
    CellRange,
    Flagged,
    SpreadsheetError,
    column_letter,
    column_number,
    read_rows,
    write_xlsx,
)
from minqing.lib.idcard import InvalidIdNumber, parse_id_number
from minqing.lib.masking import mask_id_number, mask_phone
from minqing.lib.rows import insert_rows
from minqing.regions.codes import LEVEL_DIGITS
from minqing.regions.models import Level, Region, prefix_q

PRESENT = (PersonStatus.RESIDENT.value, PersonStatus.AWAY.value)
# Below this many rows the cleaning runs in this process: starting a pool costs more.
POOL_MIN_ROWS = 20_000
POOL_CHUNK = 2_000
BATCH = 2_000
WRITE_CACHE_KIB = 512 * 1024
PROGRESS_EVERY = 2_000
HEADER_SCAN_ROWS = 20
PARSED_MAX = 200_000  # cells' texts remembered, see _cell


def _masked_id_reason() -> str:
    return _("身份证号已脱敏，无法导入：请使用含完整身份证号的导出")


class RollError(Exception):
    """The file cannot be imported at all (unreadable, no header, a required column
    missing); the message says what to do."""


@dataclass
class Refusal:
    row: int
    column: str  # the column letter ("D"), "" when the reason is about the whole row
    header: str  # the file's header of that column
    value: str
    reason: str

    def as_dict(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "header": self.header,
            "value": self.value,
            "reason": self.reason,
        }


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "refused": self.refused,
        }


@dataclass
class ImportResult:
    filename: str
    sha256: str
    header_row: int
    rows: int  # data rows read (blank rows not counted)
    people: Counts
    households: Counts
    refusals: list[Refusal]
    applied: bool = False
    dry_run: bool = False
    partial: bool = False
    # Households with rows both to write and refused: "只导入无误的行" updates them in part.
    households_in_part: int = 0
    ignored_columns: list[str] = field(default_factory=list)  # headers read and dropped
    # {column number: "id_number" / "head_id_number" / "phone"}: what write_refusals masks
    personal_columns: dict[int, str] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    def counts(self) -> dict:
        return {
            "rows": self.rows,
            "people": self.people.as_dict(),
            "households": self.households.as_dict(),
            "households_in_part": self.households_in_part,
        }


# --- Step 1: reading and checking the rows --------------------------------------------------


@dataclass
class Header:
    row: int
    cells: list[str]  # the header cells as read (merged ranges not repeated)
    mapping: dict[int, str]  # column number -> key ("" to skip)
    merged: list[CellRange]  # merged ranges touching the header row
    unknown: list[int]  # columns with a header the mapping does not read
    samples: list[list[str]] = field(default_factory=list)  # the first rows under it

    def columns(self) -> dict[str, int]:
        """{key: column number}"""
        return {key: col for col, key in self.mapping.items() if key}

    def title(self, col: int) -> str:
        return self.cells[col - 1] if col <= len(self.cells) else ""


def read_header(source, filename: str, mapping: dict[int, str] | None = None) -> Header:
    """The header row of a roll and how its columns map (``mapping`` if the user chose one,
    else guessed from the names)."""
    sheet = _open(source, filename)
    try:
        first = list(itertools.islice(iter(sheet), HEADER_SCAN_ROWS))
    finally:
        sheet.close()
    return _header(first, sheet.merged, mapping)


def _open(source, filename):
    try:
        return read_rows(source, filename)
    except SpreadsheetError as error:
        raise RollError(str(error)) from None


def _header(first: list, merged: list[CellRange], mapping) -> Header:
    found = roll.find_header_row(first)
    if found is None:
        raise RollError(_("文件是空的：没有找到表头"))
    number, cells = found
    cells = list(cells)
    touching = [r for r in merged if r.covers_row(number)]
    for cell_range in touching:  # read as written: the name once, in the first column
        for col in range(cell_range.first_col + 1, cell_range.last_col + 1):
            if col <= len(cells):
                cells[col - 1] = ""
    while cells and not cells[-1]:
        cells.pop()
    if mapping is None:
        mapping = roll.guess_mapping(cells)
    unknown = roll.unknown_columns(cells, mapping)
    samples = [row for n, row in first if n > number and any(row)][:3]
    return Header(
        row=number,
        cells=cells,
        mapping=mapping,
        merged=touching,
        unknown=unknown,
        samples=samples,
    )


@dataclass(frozen=True)
class _Context:
    """What cleaning a row needs besides the row: sent once to each worker process."""

    keys: tuple[str, ...]  # the keys of the values in a row, in order
    catalogue: dict
    today: datetime.date


@dataclass(frozen=True)
class _Layout:
    """Where a sheet's data rows and the columns read are, from its header."""

    header_row: int
    indexes: tuple[int, ...]  # 0-based, of the columns read, in _Context.keys order
    width: int  # the header's
    unnamed: tuple[int, ...]  # 0-based: columns with no header, to refuse if they hold data
    named: frozenset[int]  # 1-based: columns mapped or under a merged header cell

    def data_rows(self, numbered: Iterable, unnamed_with_data: set) -> Iterator[tuple]:
        """(row number, the cells read) of the rows below the header that are not blank;
        columns holding data without a header are added to ``unnamed_with_data``."""
        header_row, indexes, width, unnamed = (
            self.header_row,
            self.indexes,
            self.width,
            self.unnamed,
        )
        # A row as long as the header (nearly all) is picked by itemgetter, in C.
        pick = operator.itemgetter(*indexes) if len(indexes) > 1 else None
        reach = max(indexes) + 1
        for number, cells in numbered:
            if number <= header_row:
                continue
            for i in unnamed:
                if i < len(cells) and cells[i]:
                    unnamed_with_data.add(i)
            if len(cells) > width:
                for i in range(width, len(cells)):
                    if cells[i] and i + 1 not in self.named:
                        unnamed_with_data.add(i)
            if pick is not None and len(cells) >= reach:
                picked = pick(cells)
            else:
                picked = tuple(cells[i] if i < len(cells) else "" for i in indexes)
            if any(picked):
                yield number, picked


# A county's roll is 700k rows, all held until the plan is made: rows are slotted objects
# and tuples, not dicts (a third of the memory), and a member's household cells are the
# same tuple as its head's when they read the same.


class _Clean(NamedTuple):
    """A person's values to store, from check_person (PERSON_FIELDS)."""

    name: str
    name_initials: str
    id_cipher: bytes
    id_hash: str
    id_tail_hash: str
    sex: str
    birth_date: str  # ISO 8601, as the database takes it
    phone_cipher: bytes | None
    phone_hash: str | None
    phone_tail_hash: str | None
    status: str


assert _Clean._fields == PERSON_FIELDS


class _Cells(NamedTuple):
    """A row's household cells, read; None where blank (region: the text as written, or in
    a household's state the resolved code)."""

    region: str | None
    address: str | None
    household_categories: frozenset | None
    grade: str | None
    assessed_on: datetime.date | None
    cause: str | None
    flooded: bool | None


class _Existing(NamedTuple):
    """A person already in the registry."""

    id: int
    name: str
    id_hash: str
    phone_cipher: bytes | None
    phone_hash: str | None
    phone_tail_hash: str | None
    status: str
    relation: str
    household_id: int | None
    region_id: str


_HOUSEHOLD_KEYS = _Cells._fields
_NO_CELLS = _Cells(None, None, None, None, None, None, None)


@dataclass(slots=True)
class _Row:
    number: int
    errors: list  # [(key or "", value, reason)]
    person: _Clean | None = None
    masked_id: str = ""  # for messages
    head_masked: str = ""  # the 户主身份证号, masked, for messages
    relation: str = ""
    head_hash: str | None = None
    household: _Cells = _NO_CELLS
    household_texts: tuple | None = None  # as written, where they differ from the head's
    person_categories: frozenset | None = None
    status_given: bool = False
    phone_given: bool = False
    head_name: str = ""  # the 户主姓名 cell, kept only on a member row without 户主身份证号
    region: str | None = None  # resolved 12-digit code
    group: "_Group | None" = None
    action: str = ""  # create / update / unchanged, once planned
    id: int | None = None  # the person's id, once planned


_PERSON_KEYS = {
    "name": "name",
    "id_number": "id_number",
    "phone": "phone",
    "sex": "sex",
    "birth_date": "birth_date",
    "relation": "relation",
    "status": "status",
}


_HEAD, _OTHER, _RESIDENT = Relation.HEAD.value, Relation.OTHER.value, PersonStatus.RESIDENT.value


def _cell(errors: list, values: dict, key: str, parse, *args):
    """The parsed value of a cell, None when blank or refused (the reason noted in errors).
    A roll repeats its cells (a few relations, sexes, grades; ≈ 40k birth dates among 700k
    people), so each (column, text) is parsed once per import: ``args`` are the same for
    a column throughout one."""
    text = values.get(key)
    if not text:
        return None
    value = _parsed.get((key, text), _parsed)
    if value is _parsed:
        try:
            value = parse(text, *args)
        except roll.CellError as error:
            value = error
        if len(_parsed) < PARSED_MAX:
            _parsed[key, text] = value
    if isinstance(value, roll.CellError):
        errors.append((key, text, str(value)))
        return None
    return value


_parsed: dict = {}  # (key, text) -> the value or the CellError, for _cell

# The last head row checked in this process: its household cells' text, what they read as
# (packed), and the ID hashes its members may name.
_NO_PACKED_CELLS = (None,) * len(_HOUSEHOLD_KEYS)
_BLANKS = ("",) * len(_HOUSEHOLD_KEYS)  # get(key, "") for each key, by map, in C
_last_household: tuple = ((), _NO_PACKED_CELLS, frozenset())


def _check_row(ctx: _Context, number: int, cells: tuple) -> tuple:
    """Check one row; pure (no database), so that it can run in a worker process. Written
    for speed (a county's roll has 700k rows): no per-row objects but the packed tuple that
    travels back (see _unpack), plain strings, cached heads, and a head's ID number parsed
    and hashed once for the person and the household."""
    global _last_household
    values = dict(zip(ctx.keys, cells, strict=True))
    errors: list = []
    get = values.get
    today = ctx.today

    id_text = roll.plain(get("id_number", "")).upper()
    if "*" in id_text:
        errors.append(("id_number", get("id_number"), _masked_id_reason()))
    head_text = roll.plain(get("head_id_number", "")).upper()
    head_hash = head_id = None
    head_masked = ""
    if head_text:
        if "*" in head_text:
            errors.append(("head_id_number", get("head_id_number"), _masked_id_reason()))
            head_masked = head_text
        else:
            head_hash, head_error, head_masked, head_id = _head_id(head_text, today)
            if head_error:
                errors.append(("head_id_number", get("head_id_number"), head_error))
    phone_text = get("phone", "")
    if "*" in phone_text:
        errors.append(
            ("phone", phone_text, _("联系电话已脱敏，无法导入：请使用含完整号码的导出，或清空此格"))
        )
        phone_text = ""

    relation = _cell(errors, values, "relation", roll.parse_relation)
    if relation is None and not get("relation"):
        if id_text and head_text == id_text:
            relation = _HEAD
        else:
            errors.append(("relation", "", _("与户主关系不能为空")))
    status = _cell(errors, values, "status", roll.parse_status)
    sex = _cell(errors, values, "sex", roll.parse_sex)
    birth = _cell(errors, values, "birth_date", roll.parse_date, "birth_date", today)

    same = head_id is not None and id_text == head_text  # a head row: its ID is parsed
    person, reasons, number_, _phone = check_person(
        get("name", ""),
        id_text,
        relation=relation or _OTHER,
        phone=phone_text,
        sex=sex or "",
        birth_date=birth,
        status=status or _RESIDENT,
        today=today,
        parsed=head_id if same else None,
        hashed=head_hash if same else None,
    )
    if reasons:
        already = {key for key, _value, _reason in errors}
        for name, message in reasons.items():
            key = _PERSON_KEYS.get(name, "")
            if key in already:  # the cell's own reason says it better (e.g. masked)
                continue
            errors.append((key, get(key, ""), message))
        person = None
        masked_id = mask_id_number(id_text) if len(id_text) >= 10 else id_text
        person_hash = None
    else:
        person_hash = person[3]
        person = (*person[:6], person[6].isoformat(), *person[7:])
        masked_id = head_masked if same and number_ == head_text else mask_id_number(number_)
    if head_text and id_text == head_text and relation and relation != _HEAD:
        errors.append(
            ("relation", get("relation", ""), _("户主身份证号与本人相同，与户主关系应为“户主”"))
        )
    if relation == _HEAD and head_hash and person_hash and head_hash != person_hash:
        errors.append(("head_id_number", head_text, _("户主行的户主身份证号应与本人身份证号相同")))

    # A category column that is read but empty says "none held"; the others, "no change".
    person_categories = None
    if "person_categories" in values:
        person_categories = (
            _cell(errors, values, "person_categories", roll.parse_categories, ctx.catalogue, False)
            if values["person_categories"]
            else frozenset()
        )
    texts = tuple(map(get, _HOUSEHOLD_KEYS, _BLANKS))
    last_texts, last_cells, last_heads = _last_household
    household_texts = None
    if relation != _HEAD and texts == last_texts and (head_hash is None or head_hash in last_heads):
        household = last_cells  # read as the head's row above: the same tuple
    else:
        categories = (
            _cell(
                errors, values, "household_categories", roll.parse_categories, ctx.catalogue, True
            )
            if values.get("household_categories")
            else (frozenset() if "household_categories" in values else None)
        )
        grade = _cell(errors, values, "grade", roll.parse_grade)
        assessed = _cell(errors, values, "assessed_on", roll.parse_date, "assessed_on", today)
        household = (  # _Cells, the date as a day number
            get("region") or None,
            get("address") or None,
            categories,
            grade,
            assessed.toordinal() if assessed else None,
            _cell(errors, values, "cause", roll.parse_cause),
            _cell(errors, values, "flooded", roll.parse_flooded),
        )
        if relation == _HEAD:
            heads = frozenset(h for h in (person_hash, head_hash) if h)
            _last_household = (texts, household, heads)
        else:
            household_texts = texts
    return (
        number,
        errors,
        person,
        masked_id,
        head_masked,
        relation or "",
        head_hash,
        household,
        household_texts,
        person_categories,
        status is not None,
        bool(phone_text),
        # What a member row without a head ID says of its household (see _plan): nothing
        # to send for the others, nearly every row of a roll.
        "" if head_text or relation == _HEAD else get("head_name") or "",
    )


_last_head: tuple = ("", None, "", "", None)


def _head_id(text: str, today: datetime.date) -> tuple:
    """(hash, reason refused, masked, IdNumber or the InvalidIdNumber) of a 户主身份证号; a
    household's rows repeat it, so the last one is remembered."""
    global _last_head
    if _last_head[0] != text:
        masked = mask_id_number(text) if len(text) >= 10 else text
        try:
            parsed = parse_id_number(text, today=today)
            _last_head = (text, id_hash(parsed.number), "", masked, parsed)
        except InvalidIdNumber as error:
            _last_head = (text, None, str(error), masked, error)
    return _last_head[1:]


_WORKER_CONTEXT: _Context | None = None
# A worker's own reading of a sheet held in memory (see parse_roll): the sheet, its layout,
# and where the worker's pass over it has got to.
_WORKER_SHEET: tuple | None = None
_worker_rows: Iterator | None = None
_worker_at = 0


def _reset_memory() -> None:
    global _last_head, _last_household
    _parsed.clear()
    _last_head = ("", None, "", "", None)
    _last_household = ((), _NO_PACKED_CELLS, frozenset())


def _worker_init(ctx: _Context, sheet=None, layout: _Layout | None = None) -> None:
    global _WORKER_CONTEXT, _WORKER_SHEET, _worker_rows, _worker_at
    _WORKER_CONTEXT = ctx
    _WORKER_SHEET = (sheet, layout) if sheet is not None else None
    _worker_rows, _worker_at = None, 0
    _reset_memory()
    gc.disable()  # the rows checked are sent away at once: no cycles to collect


def _check_chunk(chunk: list | tuple[int, int]) -> tuple[list[tuple], set[int]]:
    """Check a chunk of rows: given as a list of (number, cells), or as the range of row
    numbers (first, end) to read from the sheet this worker inherited. Returns the rows
    packed (see _unpack) and, for a range, the columns without a header found holding data."""
    global _last_household
    _last_household = ((), _NO_PACKED_CELLS, frozenset())  # the head above is in another chunk
    ctx = _WORKER_CONTEXT
    unnamed_with_data: set[int] = set()
    if isinstance(chunk, tuple):
        sheet, layout = _WORKER_SHEET
        chunk = layout.data_rows(_worker_read(sheet, *chunk), unnamed_with_data)
    return [_check_row(ctx, number, cells) for number, cells in chunk], unnamed_with_data


def _worker_read(sheet, first: int, end: int) -> Iterator[tuple[int, list]]:
    """The rows numbered first..end-1 of ``sheet``. A worker is given ranges further and
    further down, so it reads on from where its last one ended, from the top only if not."""
    global _worker_rows, _worker_at
    if _worker_rows is None or _worker_at >= first:
        _worker_rows, _worker_at = iter(sheet), 0
    for number, cells in _worker_rows:
        _worker_at = number
        if number >= first:
            yield number, cells
            if number >= end - 1:
                return


# The rows checked travel back from the workers as plain tuples, the birth date as the ISO
# text the database takes and the assessment date as a day number: pickle spends
# microseconds on each dataclass, named tuple and date (measured with the collector off, as
# here: half the pickling, ≈ 5 s of CPU less on a county's roll). A household's rows share
# one cells tuple, which pickle sends once.


def _unpack(packed: list[tuple]) -> list[_Row]:
    shared: dict[int, _Cells] = {}
    day = datetime.date.fromordinal
    rows = []
    for number, errors, person, masked, head_masked, relation, head_hash, plain, *rest in packed:
        cells = shared.get(id(plain))
        if cells is None:
            assessed = plain[4]
            cells = shared[id(plain)] = _Cells(
                *plain[:4], day(assessed) if assessed else None, *plain[5:]
            )
        if person is not None:
            person = _Clean._make(person)
        rows.append(
            _Row(number, errors, person, masked, head_masked, relation, head_hash, cells, *rest)
        )
    return rows


def _chunks(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


@dataclass
class Parsed:
    """A roll read and checked row by row, before the registry is consulted."""

    filename: str
    sha256: str
    header: Header
    rows: list[_Row]
    file_refusals: list[Refusal]  # about the header, not a row
    keys: frozenset[str]  # the columns read


def _sha256(source) -> str:
    digest = hashlib.sha256()
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    else:
        source.seek(0)
        while chunk := source.read(1 << 20):
            digest.update(chunk)
        source.seek(0)
    return digest.hexdigest()


def parse_roll(
    source,
    filename: str,
    *,
    mapping: dict[int, str] | None = None,
    region_optional: bool = False,
    progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
    today: datetime.date | None = None,
) -> Parsed:
    """Step 1: read and check every row; nothing is looked up in the registry yet."""
    today = today or timezone.localdate()
    sha256 = _sha256(source)
    sheet = _open(source, filename)
    try:
        rows = iter(sheet)
        first = list(itertools.islice(rows, HEADER_SCAN_ROWS))
        header = _header(first, sheet.merged, mapping)
        problems = roll.mapping_problems(header.mapping, region_optional=region_optional)
        if problems:
            raise RollError("；".join(problems))
        columns = header.columns()
        keys = tuple(columns)
        width = len(header.cells)
        covered = {col for r in header.merged for col in range(r.first_col + 1, r.last_col + 1)}
        layout = _Layout(
            header_row=header.row,
            indexes=tuple(columns[key] - 1 for key in keys),
            width=width,
            unnamed=tuple(
                i
                for i in range(width)
                if not header.cells[i] and i + 1 not in covered and i + 1 not in header.mapping
            ),
            named=frozenset(header.mapping) | covered,
        )
        unnamed_with_data: set[int] = set()  # 0-based
        total = max((sheet.total or 0) - header.row, 0)
        ctx = _Context(
            keys=keys,
            catalogue=roll.category_catalogue(Category.objects.all()),
            today=today,
        )
        cleaned: list[_Row] = []
        if processes is None:
            processes = min(os.cpu_count() or 1, 4) if total >= POOL_MIN_ROWS else 1
        if processes > 1:
            # fork: the workers inherit Django's set-up and the keys; they never touch the
            # database, so the connection they inherit is left alone. A sheet calamine holds
            # in memory is inherited too: each worker reads its own chunks' rows from it, so
            # that this process neither reads nor sends them (a county's roll: ≈ 3 s of CPU).
            in_memory = sheet.in_memory
            pool = multiprocessing.get_context("fork").Pool(
                processes,
                initializer=_worker_init,
                initargs=(ctx, sheet, layout) if in_memory else (ctx,),
            )
            # Chunks in flight are bounded, or the pool's feeder thread would read the whole
            # file ahead into memory.
            in_flight = threading.Semaphore(4 * processes)
            stop = threading.Event()

            def chunks():
                if in_memory:
                    last = header.row + total
                    pieces = (
                        (start, min(start + POOL_CHUNK, last + 1))
                        for start in range(header.row + 1, last + 1, POOL_CHUNK)
                    )
                else:
                    rows_read = layout.data_rows(itertools.chain(first, rows), unnamed_with_data)
                    pieces = _chunks(rows_read, POOL_CHUNK)
                for chunk in pieces:
                    while not in_flight.acquire(timeout=0.2):
                        if stop.is_set():  # the import failed: let the pool end
                            return
                    yield chunk

            try:
                for done, unnamed_found in pool.imap(_check_chunk, chunks()):
                    in_flight.release()
                    cleaned.extend(_unpack(done))
                    unnamed_with_data |= unnamed_found
                    if progress:
                        progress(len(cleaned), total)
            finally:
                stop.set()
                pool.terminate()
        else:
            _reset_memory()
            packed = []
            for number, cells in layout.data_rows(itertools.chain(first, rows), unnamed_with_data):
                packed.append(_check_row(ctx, number, cells))
                if progress and len(packed) % PROGRESS_EVERY == 0:
                    progress(len(packed), total)
            cleaned = _unpack(packed)
        if progress:
            progress(len(cleaned), len(cleaned))
    finally:
        sheet.close()

    file_refusals = []
    for cell_range in header.merged:
        text = header.title(cell_range.first_col)
        file_refusals.append(
            Refusal(
                row=header.row,
                column=f"{column_letter(cell_range.first_col)}:{column_letter(cell_range.last_col)}"
                if cell_range.last_col > cell_range.first_col
                else column_letter(cell_range.first_col),
                header=text,
                value=text,
                reason=_("表头 %(cells)s 是合并单元格：请取消合并，每列写一个列名")
                % {"cells": cell_range.label},
            )
        )
    for i in sorted(unnamed_with_data):
        file_refusals.append(
            Refusal(
                row=header.row,
                column=column_letter(i + 1),
                header="",
                value="",
                reason=_("第 %(column)s 列有数据但没有列名：请填写列名或删除该列")
                % {"column": column_letter(i + 1)},
            )
        )
    # Formula cells: calamine hands us the value a formula last computed, which is not
    # what the clerk sees when the file is opened elsewhere, nor necessarily current.
    keys_by_col = {col: key for col, key in header.mapping.items() if key}
    by_number = {row.number: row for row in cleaned} if sheet.formulas else {}
    for (number, col), formula in sorted(sheet.formulas.items()):
        if number == header.row and col in header.mapping:
            file_refusals.append(
                Refusal(
                    header.row,
                    column_letter(col),
                    header.title(col),
                    formula,
                    _("表头不能是公式：请改为文字"),
                )
            )
            continue
        row = by_number.get(number)
        key = keys_by_col.get(col)
        if row is None or key is None:
            continue
        row.errors = [e for e in row.errors if e[0] != key]
        row.errors.append(
            (
                key,
                formula,
                _("单元格是公式（%(formula)s）：请复制后“选择性粘贴为数值”再导入")
                % {"formula": formula},
            )
        )
    return Parsed(
        filename=filename,
        sha256=sha256,
        header=header,
        rows=cleaned,
        file_refusals=file_refusals,
        keys=frozenset(keys),
    )


# --- Step 2: the plan against the registry --------------------------------------------------


@dataclass(slots=True)
class _Group:
    """A household of the file: its head row, or an existing household its rows join."""

    head: _Row | None
    rows: list[_Row] = field(default_factory=list)
    existing: dict | None = None  # the household in the registry, when there is one
    state: _Cells | None = None  # the household's values, region resolved
    refused_head: bool = False
    ok_rows: list[_Row] = field(default_factory=list)  # the rows to write, once planned
    head_change: bool = False  # its head row names a member of ``existing`` (户主变更)
    # A 户主变更 of a household that has a head: the old head's id and ID hash, and their
    # relation to the new head (from their row; None: not in the file, as the page suggests).
    old_head_id: int | None = None
    old_head_hash: str | None = None
    old_head_relation: str | None = None
    action: str | None = None  # create / update / unchanged; None: nothing to write
    id: int | None = None  # the household's id, once planned


@dataclass
class _Plan:
    parsed: Parsed
    groups: list[_Group]
    people: dict  # id_hash -> existing person values
    households: dict  # id -> existing household values
    grants: dict  # see _existing_grants
    dwellings: dict  # household id -> dwelling values
    managed: frozenset  # category ids this import may end
    refusals: list[Refusal]
    result: ImportResult


def _in_batches(values: list, size: int = 900) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _resolve_regions(rows: list[_Row], reach: str, default: str | None) -> dict[str, object]:
    """{cell text: 12-digit code, or the reason it cannot be used}"""
    texts = {row.household.region for row in rows if row.household.region}
    found: dict[str, object] = {}
    villages = Region.objects.filter(prefix_q("code", reach), level=Level.VILLAGE)
    for text in texts:
        code_match = re.search(r"\d{12}", roll.plain(text))
        if code_match:
            code = code_match.group()
            name = re.sub(r"[\s()（）]", "", text.replace(code, ""))
            region = Region.objects.filter(code=code).first()
            if region is None:
                found[text] = _("区划代码 %(code)s 不存在") % {"code": code}
            elif region.level != Level.VILLAGE:
                found[text] = _("%(name)s（%(code)s）不是村（社区）：户必须属于一个村（社区）") % {
                    "name": region.short_name,
                    "code": code,
                }
            elif not code.startswith(reach):
                found[text] = _("%(name)s（%(code)s）不在您的管辖范围内") % {
                    "name": region.short_name,
                    "code": code,
                }
            elif region.retired_in:
                found[text] = _("%(name)s（%(code)s）已撤销（%(year)s年版区划）") % {
                    "name": region.short_name,
                    "code": code,
                    "year": region.retired_in,
                }
            elif name and name not in (region.short_name, region.name):
                found[text] = _("区划代码 %(code)s 是“%(actual)s”，与所填名称“%(name)s”不符") % {
                    "code": code,
                    "actual": region.short_name,
                    "name": name,
                }
            else:
                found[text] = code
            continue
        name = text.strip()
        matches = list(
            villages.filter(retired_in__isnull=True, short_name=name).values_list("code", flat=True)
        ) or list(
            villages.filter(retired_in__isnull=True, name=name).values_list("code", flat=True)
        )
        if len(matches) == 1:
            found[text] = matches[0]
        elif matches:
            found[text] = _(
                "您的管辖范围内有 %(n)d 个“%(name)s”：请填写12位区划代码，如 %(codes)s"
            ) % {"n": len(matches), "name": name, "codes": "、".join(sorted(matches)[:3])}
        elif Region.objects.filter(Q(short_name=name) | Q(name=name), level=Level.VILLAGE).exists():
            found[text] = _("村（社区）“%(name)s”不在您的管辖范围内") % {"name": name}
        else:
            found[text] = _("找不到村（社区）“%(name)s”") % {"name": name}
    if default:
        found[""] = default
    return found


_HOUSEHOLD_LABELS = {
    "region": "所属村（社区）",
    "address": "家庭住址",
    "household_categories": "户类别",
    "grade": "危房等级",
    "assessed_on": "鉴定日期",
    "cause": "受损原因",
    "flooded": "首层进水",
}


def _plan(parsed: Parsed, actor, *, today: datetime.date) -> _Plan:
    reach = actor.reach if actor is not None else ""
    rows = parsed.rows
    keys = parsed.keys
    default_region = None
    if len(reach) == LEVEL_DIGITS[Level.VILLAGE] and "region" not in keys:
        default_region = reach

    # Regions: {text: code} and {text: why it cannot be used}.
    regions = _resolve_regions(rows, reach, default_region)
    codes = {t: v for t, v in regions.items() if isinstance(v, str) and re.fullmatch(r"\d{12}", v)}
    for row in rows:
        text = row.household.region or ""
        if not text and not default_region:
            continue
        code = codes.get(text)
        if code is not None:
            row.region = code
        elif text in regions:
            row.errors.append(("region", text, str(regions[text])))

    # Who already exists: every ID number of the file, and every head's.
    hashes = {row.person.id_hash for row in rows if row.person}
    hashes |= {row.head_hash for row in rows if row.head_hash}
    people = _existing_people(sorted(hashes))
    households = _existing_households(
        sorted({p.household_id for p in people.values() if p.household_id})
    )

    # Households of the file, in file order. A member row joins the head its 户主身份证号
    # names; without one, the head row above it, unless its 户主姓名 says another head or
    # none (roll.NO_HEAD: a household without a head, whose rows stay where they are).
    groups: list[_Group] = []
    by_head_hash: dict[str, _Group] = {}
    current: _Group | None = None
    headless_above: _Row | None = None  # a household without a head is the one above
    pending: list[_Row] = []  # rows naming a head that comes further down
    headless: list[_Row] = []  # rows of households without a head
    unstated: list[_Row] = []  # of those, the rows of a household the file names a head for
    placed: list[_Row] = []  # rows that join the head row above by their place alone
    for row in rows:
        if row.relation == Relation.HEAD:
            current = _Group(head=row, rows=[row])
            headless_above = None
            groups.append(current)
            # Members find their head by its ID number, or by the head row's own 户主身份证号
            # (so that they share its fate when its 身份证号 cell is wrong).
            for key in (row.person.id_hash if row.person else None, row.head_hash):
                if key and key not in by_head_hash:
                    by_head_hash[key] = current
            continue
        if row.head_hash:
            pending.append(row)
        elif row.head_name and roll.says_no_head(row.head_name):
            headless.append(row)
            # The rows below it stand under no head row until the next one.
            current, headless_above = None, row
        elif current is not None:
            head = current.head.person  # None: refused, and its members with it
            if row.head_name and head and roll.plain(row.head_name) != roll.plain(head.name):
                row.errors.append(
                    (
                        "head_name",
                        row.head_name,
                        _(
                            "户主姓名“%(name)s”与上方户主行（第 %(row)d 行）的户主“%(head)s”不同："
                            "请填写户主身份证号，或把本行移到其户主行的下方"
                        )
                        % {"name": row.head_name, "row": current.head.number, "head": head.name},
                    )
                )
                continue
            current.rows.append(row)
            row.group = current
            placed.append(row)
        elif not any(key == "relation" for key, *_rest in row.errors):
            row.errors.append(
                (
                    "",
                    "",
                    _(
                        "找不到户主：本行没有填写户主身份证号，上方第 %(row)d 行是无户主的户，"
                        "本行不能归入其中"
                    )
                    % {"row": headless_above.number}
                    if headless_above is not None
                    else _("找不到户主：本行上方没有“户主”行，也没有填写户主身份证号"),
                )
            )
    # Households of the registry the file has a head row for: the head's own, or the one
    # the head row names a member of (户主变更: the importer calls the service). A household
    # without a head takes the first such row; one with a head, see _claim_head_changes.
    db_groups: dict[int, _Group] = {}
    headed: list[tuple[_Group, _Existing, dict]] = []
    for group in groups:
        group.head.group = group
        head = people.get(group.head.person.id_hash) if group.head.person else None
        household = households.get(head.household_id) if head else None
        if household is None:
            continue
        if household["head_id"] not in (None, head.id):
            headed.append((group, head, household))
            continue
        if household["head_id"] is None:
            if _one_head(group, db_groups.get(household["id"])):
                continue
            group.head_change = True
            _check_takes_head(group.head, head)
        group.existing = household
        db_groups.setdefault(household["id"], group)
    if headed:  # before the rows naming a head join theirs: those naming the old head, here
        _claim_head_changes(headed, groups, rows, db_groups)
    for row in pending:
        group = by_head_hash.get(row.head_hash)
        if group is None:
            head = people.get(row.head_hash)
            household = households.get(head.household_id) if head else None
            if household is not None and household["head_id"] == head.id:
                group = db_groups.get(household["id"])
                if group is None:
                    group = db_groups[household["id"]] = _Group(head=None, existing=household)
                    groups.append(group)
        if group is None:
            row.errors.append(
                (
                    "head_id_number",
                    row.head_masked,
                    _("户主身份证号在本表和台账中都找不到对应的户主"),
                )
            )
            continue
        group.rows.append(row)
        row.group = group
    for row in headless:
        if row.person is None:
            continue  # refused already: without a valid ID number it cannot be found
        found = people.get(row.person.id_hash)
        household = households.get(found.household_id) if found else None
        if household is None:
            row.errors.append(
                (
                    "head_name",
                    row.head_name,
                    _(
                        "户主姓名为“%(no_head)s”，但此人不在台账的任何一户中："
                        "新登记的人须写明户主（户主身份证号，或写在户主行的下方）"
                    )
                    % {"no_head": roll.NO_HEAD},
                )
            )
            continue
        group = db_groups.get(household["id"])
        if group is not None and group.head is not None:
            # The file names the household's head: this row says no relation to them, so the
            # person keeps theirs, or takes the one the 户主变更 gives (_unstated_relations).
            row.relation = found.relation
            unstated.append(row)
        elif household["head_id"] is not None:
            # Someone was named head since the file was made: its relations may be stale.
            row.errors.append(
                (
                    "head_name",
                    row.head_name,
                    _("此人所在的户现已有户主：请填写户主姓名和户主身份证号，或重新导出花名册"),
                )
            )
            continue
        elif group is None:
            group = db_groups[household["id"]] = _Group(head=None, existing=household)
            groups.append(group)
        group.rows.append(row)
        row.group = group

    # One person, one row.
    seen: dict[str, _Row] = {}
    for row in rows:
        if not row.person:
            continue
        first = seen.setdefault(row.person.id_hash, row)
        if first is not row:
            same = first.group is not None and first.group is row.group
            row.errors.append(
                (
                    "id_number",
                    row.masked_id,
                    (
                        _("与第 %(row)d 行重复：同一人在同一户登记了两次")
                        if same
                        else _("此人已在第 %(row)d 行登记在另一户：一人只能属于一户")
                    )
                    % {"row": first.number},
                )
            )

    _unstated_relations(unstated, people)

    # What each household's rows must share.
    for group in groups:
        if group.head is not None:
            group.state = group.head.household._replace(region=group.head.region)
        else:
            group.state = _NO_CELLS._replace(region=group.existing["region_id"])

    # A row that names no head joins the head row above by its place alone: enough for a
    # new person, not to move someone the registry has in another household. A misplaced
    # row would do that silently (an older export's household without a head: its rows,
    # head cells blank, read as the members of the household above).
    for row in placed:
        found = people.get(row.person.id_hash) if row.person else None
        if found is None or found.household_id is None:
            continue
        target = row.group.existing
        if target is None or target["id"] != found.household_id:
            row.errors.append(
                (
                    "head_id_number",
                    "",
                    _(
                        "此人在台账中属于另一户，本行没有填写户主身份证号：不能只凭所在位置"
                        "把此人迁入第 %(row)d 行户主的户；确要迁入，请填写户主身份证号"
                    )
                    % {"row": row.group.head.number},
                )
            )

    grants = _existing_grants(
        [g.existing["id"] for g in groups if g.existing],
        [p.id for p in people.values()],
        today,
    )
    dwellings = _existing_dwellings([g.existing["id"] for g in groups if g.existing])

    for group in groups:
        head_row = group.head
        for row in group.rows:
            if row is head_row:
                continue
            # A member's row may repeat the household's cells, not contradict them.
            for index, (key, label) in enumerate(_HOUSEHOLD_LABELS.items()):
                if row.household_texts is None:
                    break  # read as the head's row above: nothing to compare
                if key not in keys or (key == "region" and row.household.region is None):
                    continue
                mine = row.region if key == "region" else row.household[index]
                if mine is None or (head_row is None and key != "region"):
                    continue
                if key == "region" and any(e[0] == "region" for e in row.errors):
                    continue
                if mine != group.state[index]:
                    where = (
                        _("户主行（第 %(row)d 行）") % {"row": head_row.number}
                        if head_row
                        else _("该户在台账中的")
                    )
                    row.errors.append(
                        (
                            key,
                            row.household_texts[index],
                            _("与%(where)s“%(label)s”不一致：本户的信息以户主行为准")
                            % {"where": where, "label": label},
                        )
                    )
            if row.household.region is None or row.region is None:
                row.region = group.state.region

    # Reach: a person or a household already registered elsewhere is not ours to change.
    for row in rows:
        if row.region is None and row.group is not None and row.group.head is not row:
            row.region = row.group.state.region
        if (
            row.region is None
            and row.group is not None
            and row.group.head is row
            and not any(e[0] == "region" for e in row.errors)
        ):
            row.errors.append(("region", "", _("所属村（社区）不能为空")))
        if row.person:
            existing = people.get(row.person.id_hash)
            if existing is not None and not existing.region_id.startswith(reach):
                row.errors.append(
                    (
                        "id_number",
                        row.masked_id,
                        _("此人已登记在您管辖范围以外的户中，请联系该户所在地办理迁移"),
                    )
                )
    for group in groups:
        if group.existing and not group.existing["region_id"].startswith(reach):
            for row in [group.head] if group.head else group.rows:
                row.errors.append(("", "", _("该户登记在您管辖范围以外，不能由您导入修改")))
        if group.old_head_hash is not None:
            _check_old_head(group, seen.get(group.old_head_hash))

    # A household whose head row is refused cannot be imported: nor can its members.
    for group in groups:
        if group.head is not None and group.head.errors:
            group.refused_head = True
            for row in group.rows:
                if row is not group.head and not row.errors:
                    row.errors.append(
                        (
                            "",
                            "",
                            _("本户户主行（第 %(row)d 行）有错误，本行不能导入")
                            % {"row": group.head.number},
                        )
                    )

    managed = frozenset(
        visible_categories(actor).values_list("pk", flat=True)
        if actor is not None
        else Category.objects.values_list("pk", flat=True)
    )
    refusals = list(parsed.file_refusals)
    headers = {key: parsed.header.title(col) for col, key in parsed.header.mapping.items() if key}
    letters = {key: column_letter(col) for col, key in parsed.header.mapping.items() if key}
    for row in rows:
        for key, value, reason in row.errors:
            refusals.append(
                _refusal(row.number, letters.get(key, ""), headers.get(key, ""), key, value, reason)
            )
    refusals.sort(key=lambda r: (r.row, len(r.column), r.column))
    result = ImportResult(
        filename=parsed.filename,
        sha256=parsed.sha256,
        header_row=parsed.header.row,
        rows=len(rows),
        people=Counts(),
        households=Counts(),
        refusals=refusals,
        ignored_columns=[parsed.header.title(c) for c in parsed.header.unknown],
        personal_columns={
            col: key for col, key in parsed.header.mapping.items() if key in _PERSONAL_KEYS
        },
    )
    plan = _Plan(
        parsed=parsed,
        groups=groups,
        people=people,
        households=households,
        grants=grants,
        dwellings=dwellings,
        managed=managed,
        refusals=refusals,
        result=result,
    )
    _classify(plan, today=today)
    return plan


_PERSONAL_KEYS = frozenset({"id_number", "head_id_number", "phone"})


def _one_head(group: _Group, taken: _Group | None) -> bool:
    """Whether another head row (``taken``) named the new head of the same household first:
    then this one is refused, which of the two is meant cannot be told."""
    if taken is None:
        return False
    group.head.errors.append(
        (
            "relation",
            str(Relation.HEAD.label),
            _("此人所在的户已由第 %(row)d 行指定户主，一户只能有一位户主")
            % {"row": taken.head.number},
        )
    )
    return True


def _claim_head_changes(
    headed: list[tuple[_Group, _Existing, dict]],
    groups: list[_Group],
    rows: list[_Row],
    db_groups: dict,
) -> None:
    """Head rows naming a member of a household that has a head: a 户主变更 of that
    household, unless the file keeps its head as the head of a row of their own (then the
    member leaves for a household of their own, 分户, as any member a head row names).
    Refused where the file cannot tell which: two of its members named head, or the old
    head's row refused (as their head row, or before its ID number was read: a row whose
    masked number is theirs). Where the old head's row is, and what rows name them, is
    checked once every row has joined its household (_check_old_head). Rare: one query for
    them all, and one pass over the rows."""
    old_heads = {
        pk: (hashed, cipher, name)
        for pk, hashed, cipher, name in _select_in(
            Person,
            ("id", "id_hash", "id_cipher", "name"),
            "id",
            sorted({household["head_id"] for *_x, household in headed}),
        )
    }
    head_rows = {g.head.person.id_hash: g.head for g in groups if g.head.person}
    unread: dict[str, _Row] = {}  # masked ID number -> a row refused before it was read
    for row in rows:
        if row.person is None and row.masked_id:
            unread.setdefault(row.masked_id, row)
    claims: dict[int, list] = {}
    for group, head, household in headed:
        old_hash, cipher, old_name = old_heads[household["head_id"]]
        old_row = head_rows.get(old_hash)
        if old_row is not None and not old_row.errors:
            continue  # 分户
        if old_row is not None:
            reason = _(
                "原户主%(old)s的户主行（第 %(row)d 行）有错误：无法判断本行是户主变更还是分户，"
                "请先改正该行"
            )
        else:
            old_row = unread.get(mask_id_number(decrypt(cipher)))
            reason = _(
                "第 %(row)d 行有错误，可能是原户主%(old)s的行：无法判断本行是户主变更还是分户，"
                "请先改正该行"
            )
        if old_row is not None:
            group.head.errors.append(
                (
                    "relation",
                    str(Relation.HEAD.label),
                    reason % {"row": old_row.number, "old": old_name},
                )
            )
            continue
        claims.setdefault(household["id"], []).append((group, head, household, old_hash))
    for claim in claims.values():
        if len(claim) > 1:  # which of them is meant cannot be told: none is taken
            numbers = "、".join(str(group.head.number) for group, *_x in claim)
            for group, *_x in claim:
                group.head.errors.append(
                    (
                        "relation",
                        str(Relation.HEAD.label),
                        _("第 %(rows)s 行都把此户的成员改为户主：一户只能有一位户主")
                        % {"rows": numbers},
                    )
                )
            continue
        group, head, household, old_hash = claim[0]
        group.head_change = True
        group.old_head_id, group.old_head_hash = household["head_id"], old_hash
        _check_takes_head(group.head, head)
        group.existing = household
        db_groups[household["id"]] = group


def _check_old_head(group: _Group, old_row: _Row | None) -> None:
    """A 户主变更 of a household that has a head: the old head's row, if the file has one,
    must be in it, under the new head, and gives the old head's relation to them; a row that
    still names the old head as its head gives a relation to the wrong person. Anything else
    (the old head's row in another household, or refused) cannot be told from a 分户 or an
    error: the new head's row is refused, and with it the household's rows."""
    head_row = group.head
    new_name = head_row.person.name
    if old_row is None:
        group.old_head_relation = None  # as the page suggests (_head_changes)
    elif old_row.group is group and not old_row.errors:
        group.old_head_relation = old_row.relation
    elif old_row.group is group or old_row.group is None:
        head_row.errors.append(
            (
                "relation",
                str(Relation.HEAD.label),
                _("原户主%(old)s的行（第 %(row)d 行）有错误：户主变更须与原户主的行一同导入")
                % {"old": old_row.person.name, "row": old_row.number},
            )
        )
    else:
        head_row.errors.append(
            (
                "relation",
                str(Relation.HEAD.label),
                _(
                    "此人所在的户现由%(old)s任户主，但第 %(row)d 行把%(old)s填在另一户："
                    "无法判断是户主变更还是分户。户主变更：%(old)s的户主姓名、户主身份证号填"
                    "新户主；分户：%(old)s的与户主关系仍填“户主”"
                )
                % {"old": old_row.person.name, "row": old_row.number},
            )
        )
        old_row.errors.append(
            (
                "head_id_number" if old_row.head_masked else "head_name",
                old_row.head_masked or old_row.head_name,
                _(
                    "此人是所在户的户主，第 %(row)d 行把%(name)s改为该户户主：户主变更时，本行"
                    "户主姓名、户主身份证号应填%(name)s；若是分户，本行与户主关系应仍为“户主”"
                )
                % {"row": head_row.number, "name": new_name},
            )
        )
    for row in group.rows:
        if row.head_hash == group.old_head_hash and row is not old_row:
            row.errors.append(
                (
                    "head_id_number",
                    row.head_masked,
                    _(
                        "本户户主已由第 %(row)d 行改为%(name)s：本行的户主姓名、户主身份证号"
                        "应填新户主，与户主关系按新户主填写"
                    )
                    % {"row": head_row.number, "name": new_name},
                )
            )


def _check_takes_head(row: _Row, found: _Existing) -> None:
    """A head row that makes a member head of their household: the service's rule (a member
    living in the household, as the registry has them before the import), checked here so
    that the dry run tells."""
    given = row.person.status if row.status_given else None
    if given is not None and given not in PRESENT:
        status, reason = given, _("%(name)s 的状态是“%(status)s”，不能作为户主")
    elif found.status not in PRESENT:
        status = found.status
        reason = _(
            "%(name)s 在台账中的状态是“%(status)s”，不能作为户主："
            "请先在户页面把其状态改为在家居住或外出务工"
        )
    else:
        return
    row.errors.append(
        (
            "status",
            str(PersonStatus(given).label) if given is not None else "",
            reason % {"name": row.person.name, "status": PersonStatus(status).label},
        )
    )


def _unstated_relations(rows: list[_Row], people: dict[str, _Existing]) -> None:
    """The relation of each row marked NO_HEAD in a household whose new head the file names:
    the one household_head_change gives a member it is not told about (suggested_relations,
    from every member, moved out or dead ones too), so that the plan counts it and the write
    keeps it."""
    groups = {row.group.existing["id"]: row.group for row in rows if row.group.head_change}
    if not groups:
        return
    members: dict[int, dict[int, str]] = {pk: {} for pk in groups}
    for household_id, pk, relation in Person.objects.filter(
        household_id__in=list(groups)
    ).values_list("household_id", "id", "relation"):
        members[household_id][pk] = relation
    suggested = {}
    for household_id, group in groups.items():
        head = people[group.head.person.id_hash]
        stay = {pk: relation for pk, relation in members[household_id].items() if pk != head.id}
        suggested |= suggested_relations(head.relation, stay)
    for row in rows:
        if row.group.head_change:
            row.relation = suggested.get(people[row.person.id_hash].id, row.relation)


def _refusal(number, letter, header, key, value, reason) -> Refusal:
    """A refusal fit to store: ID numbers and phones masked, in the value and the reason."""
    long_enough = len(value) >= (7 if key == "phone" else 10)  # short: no one's number
    if long_enough and key in ("id_number", "head_id_number", "phone") and "*" not in value:
        masked = mask_phone(value) if key == "phone" else mask_id_number(value)
        reason = reason.replace(value, masked)
        value = masked
    return Refusal(row=number, column=letter, header=header, value=value, reason=reason)


_PERSON_COLUMNS = (
    "id",
    "name",
    "id_hash",
    "phone_cipher",
    "phone_hash",
    "phone_tail_hash",
    "status",
    "relation",
    "household_id",
    "region_id",
)


def _select_in(model, columns, key: str, values, where: str = "", params=()):
    """Rows (tuples of ``columns``) of ``model`` whose ``key`` is in ``values``, in batches
    the database accepts. Raw SQL: the ORM spends more building a 900-value IN clause than
    the database spends answering it, and a county's roll asks 700k of them."""
    quote = connection.ops.quote_name
    field = model._meta.get_field
    select = ", ".join(quote(field(c).column) for c in columns)
    table, column = quote(model._meta.db_table), quote(field(key).column)
    values = list(values)
    with connection.cursor() as cursor:
        for batch in _in_batches(values):
            cursor.execute(
                f"SELECT {select} FROM {table} WHERE {column} IN"
                f" ({', '.join(['%s'] * len(batch))}){where}",
                [*batch, *params],
            )
            yield from cursor.fetchall()


def _existing_people(hashes: list[str]) -> dict[str, _Existing]:
    return {
        row[2]: _Existing._make(row)
        for row in _select_in(Person, _PERSON_COLUMNS, "id_hash", hashes)
    }


def _existing_households(ids: list[int]) -> dict[int, dict]:
    columns = ("id", "region", "address", "head", "closed_on")
    return {
        row[0]: dict(zip(("id", "region_id", "address", "head_id", "closed_on"), row, strict=True))
        for row in _select_in(Household, columns, "id", ids)
    }


def _existing_grants(household_ids, person_ids, today) -> dict:
    """{(kind, owner): {(category, grade): (grant id, start, whether it ends today)}} of
    the grants held today (the end day counts as held)."""
    grants: dict = {}
    day = connection.ops.adapt_datefield_value(today)
    end = connection.ops.quote_name("end")
    held_today = f" AND start <= %s AND ({end} IS NULL OR {end} >= %s)"
    for kind, key, ids in (("h", "household", household_ids), ("p", "person", person_ids)):
        rows = _select_in(
            CategoryGrant,
            (key, "category", "grade", "id", "start", "end"),
            key,
            sorted(ids),
            held_today,
            (day, day),
        )
        for owner, category, grade, pk, start, end in rows:
            grants.setdefault((kind, owner), {})[(category, grade)] = (pk, start, end == today)
    return grants


def _existing_dwellings(household_ids) -> dict[int, dict]:
    columns = ("id", "household_id", "grade", "assessed_on", "cause", "ground_floor_flooded")
    fields = ("id", "household", "grade", "assessed_on", "cause", "ground_floor_flooded")
    return {
        row[1]: dict(zip(columns, row, strict=True))
        for row in _select_in(Dwelling, fields, "household", sorted(household_ids))
    }


def _category_changes(held: dict, wanted: frozenset | None, managed: frozenset):
    """(to add, grants to end) to go from the grants held to the categories wanted. A grant
    that ends today is ended already: an import that started it today can end it no
    earlier, and ending it again would count a change at every re-import of the file."""
    if wanted is None:
        return frozenset(), []
    current = set(held)
    add = wanted - current
    end = [held[key] for key in current - wanted if key[0] in managed and not held[key][2]]
    return add, end


def _dwelling_change(state: _Cells, dwelling: dict | None) -> dict | None:
    """The dwelling's new values when the file says something different, else None."""
    current = dwelling or {
        "grade": "",
        "assessed_on": None,
        "cause": "",
        "ground_floor_flooded": False,
    }
    new = {
        "grade": current["grade"],
        "assessed_on": current["assessed_on"],
        "cause": current["cause"],
        "ground_floor_flooded": current["ground_floor_flooded"],
        "assess": False,
    }
    if state.grade is not None and (
        state.grade != current["grade"]
        or (state.assessed_on is not None and state.assessed_on != current["assessed_on"])
    ):
        new["grade"] = state.grade
        new["assessed_on"] = state.assessed_on
        new["assess"] = True
    if state.cause is not None:
        new["cause"] = state.cause
    if state.flooded is not None:
        new["ground_floor_flooded"] = state.flooded
    changed = new["assess"] or any(new[k] != current[k] for k in ("cause", "ground_floor_flooded"))
    return new if changed else None


def _classify(plan: _Plan, *, today: datetime.date) -> None:
    """Count what applying the plan would do (and note it on the groups and rows)."""
    result = plan.result
    people = plan.people
    keys = plan.parsed.keys
    refused_rows = {r.number for r in plan.parsed.rows if r.errors}
    result.people.refused = len(refused_rows)
    for group in plan.groups:
        rows = [row for row in group.rows if not row.errors]
        if (group.head is not None and group.refused_head) or not rows:
            result.households.refused += 1  # left out whole
            continue
        group.ok_rows = rows
        existing = group.existing
        household_changed = reopens = False
        if existing is None:
            group.action = "create"
        else:
            state = group.state
            if group.head is not None:
                # What a closed household (销户) refuses until it is reopened (reopens), and
                # what it still takes: its categories ended.
                reopens = state.region != existing["region_id"] or (
                    state.address is not None and state.address != existing["address"]
                )
                add, end = _category_changes(
                    plan.grants.get(("h", existing["id"]), {}),
                    state.household_categories if "household_categories" in keys else None,
                    plan.managed,
                )
                reopens |= bool(add)
                reopens |= _dwelling_change(state, plan.dwellings.get(existing["id"])) is not None
                reopens |= group.head_change
                household_changed = reopens or bool(end)
            group.action = "update"
        for row in rows:
            found = people.get(row.person.id_hash)
            if found is None:
                row.action = "create"
            else:
                row.action = "update" if _person_changed(plan, row, found, group) else "unchanged"
        if (
            existing is not None
            and existing["closed_on"]
            and (reopens or any(_reopens(plan, row, existing["id"]) for row in rows))
        ):
            _refuse_closed(plan, group, existing["closed_on"])
            result.households.refused += 1
            continue
        if len(rows) < len(group.rows):
            result.households_in_part += 1
        members_changed = False
        for row in rows:
            if row.action == "create":
                result.people.created += 1
                members_changed = True
            elif row.action == "update":
                result.people.updated += 1
                if people[row.person.id_hash].household_id != (
                    existing["id"] if existing else None
                ):
                    members_changed = True
            else:
                result.people.unchanged += 1
        if group.action == "create":
            result.households.created += 1
        elif household_changed or members_changed:
            group.action = "update"
            result.households.updated += 1
        else:
            group.action = "unchanged"
            result.households.unchanged += 1


def _reopens(plan: _Plan, row: _Row, household_id: int) -> bool:
    """Whether a row would do to a closed household (销户) what its services refuse until it is
    reopened: bring a person in, make one of its people live there again, or grant one of
    them a category (ending one is allowed, as on the household's page)."""
    found = plan.people.get(row.person.id_hash)
    if found is None or found.household_id != household_id:
        return True
    if row.status_given and row.person.status in PRESENT and found.status not in PRESENT:
        return True
    add, _end = _category_changes(
        plan.grants.get(("p", found.id), {}),
        row.person_categories if "person_categories" in plan.parsed.keys else None,
        plan.managed,
    )
    return bool(add)


def _refuse_closed(plan: _Plan, group: _Group, closed_on) -> None:
    # The raw read gives a date (PostgreSQL) or its ISO text (SQLite): both print the same.
    reason = _("该户已于 %(date)s 销户：请先在户页面撤销销户，再导入") % {"date": closed_on}
    for row in group.ok_rows:
        row.errors.append(("", "", reason))
        plan.refusals.append(_refusal(row.number, "", "", "", "", reason))
    plan.refusals.sort(key=lambda r: (r.row, len(r.column), r.column))
    plan.result.people.refused += len(group.ok_rows)
    group.ok_rows, group.action = [], None


def _person_changed(plan: _Plan, row: _Row, found: dict, group: _Group) -> bool:
    person = row.person
    household_id = group.existing["id"] if group.existing else None
    if (
        found.household_id != household_id
        or found.name != person.name
        or found.relation != row.relation
        or (row.status_given and found.status != person.status)
        or (row.phone_given and found.phone_hash != person.phone_hash)
    ):
        return True
    add, end = _category_changes(
        plan.grants.get(("p", found.id), {}),
        row.person_categories if "person_categories" in plan.parsed.keys else None,
        plan.managed,
    )
    return bool(add or end)


# --- Step 3: writing ------------------------------------------------------------------------


def _allocate_ids(model, count: int) -> list[int]:
    """``count`` fresh primary keys, so that rows referring to each other (a household and
    its head) are inserted once, without a second pass of updates."""
    if count <= 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [value for (value,) in cursor.fetchall()]
        # SQLite: this transaction began IMMEDIATE and holds the write lock, so no one else
        # takes an id meanwhile; AUTOINCREMENT's high-water mark keeps deleted ids unused.
        quoted = connection.ops.quote_name(table)
        cursor.execute(f"SELECT MAX({connection.ops.quote_name(column)}) FROM {quoted}")
        highest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        seq = cursor.fetchone()
        start = max(highest, seq[0] if seq else 0) + 1
        return list(range(start, start + count))


def _columns(model, names: list[str]) -> list[str]:
    return [model._meta.get_field(name).column for name in names]


def _insert(model, names: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    with connection.cursor() as cursor, _indexes_rebuilt_after(cursor, model, len(rows)):
        insert_rows(model, tuple(_columns(model, names)), rows)


REBUILD_MIN_ROWS = 50_000


@contextlib.contextmanager
def _indexes_rebuilt_after(cursor, model, adding: int):
    """On SQLite, when a roll adds at least as many rows as the table has, drop the table's
    plain indexes and build them again afterwards: building an index from all its rows at
    once is twice as fast as keeping it up to date row by row (a county's people: 24 s ->
    11 s). The same statements are replayed from sqlite_master, inside the import's
    transaction, so a failure restores them and readers (WAL) never see them missing.
    Unique constraints stay: they are what catches a duplicate."""
    table = model._meta.db_table
    if connection.vendor != "sqlite" or adding < REBUILD_MIN_ROWS:
        yield
        return
    cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
    if cursor.fetchone()[0] > adding:
        yield
        return
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s"
        " AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _sql in indexes:
        cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    for _name, sql in indexes:
        cursor.execute(sql)


def _update(model, names: list[str], rows: list[tuple]) -> None:
    """UPDATE model SET names… WHERE id = the last value of each row."""
    if not rows:
        return
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(c)} = %s" for c in _columns(model, names))
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {quote(model._meta.pk.column)} = %s"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start : start + BATCH])


def _final_status(plan: _Plan, row: _Row) -> str:
    if row.status_given or row.action == "create":
        return row.person.status
    return plan.people[row.person.id_hash].status


def _write(plan: _Plan, *, actor, today: datetime.date) -> None:
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(timezone.now())
    day = ops.adapt_datefield_value(today)
    yesterday = ops.adapt_datefield_value(today - datetime.timedelta(days=1))
    reason = _("花名册导入")
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    keys = plan.parsed.keys
    groups = [g for g in plan.groups if g.action]

    # Ids first, so that every row below is one INSERT.
    new_groups = [g for g in groups if g.action == "create"]
    new_rows = [row for g in groups for row in g.ok_rows if row.action == "create"]
    changes = {
        g.existing["id"]: _dwelling_change(g.state, plan.dwellings.get(g.existing["id"]))
        for g in groups
        if g.action == "update" and g.head is not None
    }
    missing = [hid for hid, change in changes.items() if change and hid not in plan.dwellings]
    household_ids = iter(_allocate_ids(Household, len(new_groups)))
    person_ids = iter(_allocate_ids(Person, len(new_rows)))
    dwelling_ids = iter(_allocate_ids(Dwelling, len(new_groups) + len(missing)))
    for group in groups:
        group.id = next(household_ids) if group.action == "create" else group.existing["id"]
        for row in group.ok_rows:
            row.id = (
                next(person_ids) if row.action == "create" else plan.people[row.person.id_hash].id
            )
    _head_changes(plan, groups, actor=actor, today=today)

    households, people, memberships, dwellings, assessments, grants = [], [], [], [], [], []
    person_updates, moves, ended, dwelling_updates, household_updates = [], [], [], [], []
    region_moves = []
    refresh: set[int] = set()

    def grant(category, grade, *, household=None, person=None, region):
        grants.append((category, household, person, region, grade, day, None, "", ""))

    def end(held_grants):
        for pk, start, _ends_today in held_grants:
            ended.append((day if start >= today else yesterday, reason, pk))

    def dwelling_row(dwelling_id, household_id, region, values):
        assessed = values["assessed_on"] or (today if values["assess"] else None)
        row = (
            dwelling_id,
            household_id,
            region,
            values["grade"],
            ops.adapt_datefield_value(assessed),
            "",
            values["cause"],
            values["ground_floor_flooded"],
        )
        if values["assess"]:
            assessments.append((dwelling_id, *row[3:], actor_id, stamp))
        return row

    for group in groups:
        state = group.state
        region = state.region
        if group.action == "create":
            head = group.head
            households.append(
                (
                    group.id,
                    region,
                    state.address or "",
                    head.id,
                    head.person.name,
                    head.person.name_initials,
                    sum(1 for r in group.ok_rows if _final_status(plan, r) in PRESENT),
                    stamp,
                    stamp,
                )
            )
            values = _dwelling_change(state, None) or {
                "grade": "",
                "assessed_on": None,
                "cause": "",
                "ground_floor_flooded": False,
                "assess": False,
            }
            dwellings.append(dwelling_row(next(dwelling_ids), group.id, region, values))
            if "household_categories" in keys:
                for category, grade in sorted(state.household_categories or ()):
                    grant(category, grade, household=group.id, region=region)
        elif group.head is not None:  # an update of a household the file has a head row for
            existing = group.existing
            address = state.address if state.address is not None else existing["address"]
            if region != existing["region_id"] or address != existing["address"]:
                household_updates.append((region, address, stamp, group.id))
                if region != existing["region_id"]:
                    region_moves.append((region, group.id))
            if "household_categories" in keys:
                add, gone = _category_changes(
                    plan.grants.get(("h", group.id), {}),
                    state.household_categories,
                    plan.managed,
                )
                for category, grade in sorted(add):
                    grant(category, grade, household=group.id, region=region)
                end(gone)
            change = changes.get(group.id)
            if change is not None:
                dwelling = plan.dwellings.get(group.id)
                if dwelling is None:
                    dwellings.append(dwelling_row(next(dwelling_ids), group.id, region, change))
                else:
                    row = dwelling_row(dwelling["id"], group.id, region, change)
                    dwelling_updates.append((*row[3:5], *row[6:8], dwelling["id"]))
        if group.action == "update":  # an unchanged household needs no new copies
            refresh.add(group.id)

        for row in group.ok_rows:
            person = row.person
            if row.action == "create":
                people.append(
                    (
                        row.id,
                        person.name,
                        person.name_initials,
                        person.id_cipher,
                        person.id_hash,
                        person.id_tail_hash,
                        person.sex,
                        person.birth_date,
                        person.phone_cipher,
                        person.phone_hash,
                        person.phone_tail_hash,
                        person.status,
                        group.id,
                        row.relation,
                        region,
                        stamp,
                        stamp,
                    )
                )
                memberships.append((row.id, group.id, row.relation, day, None, ""))
            elif row.action == "update":
                found = plan.people[person.id_hash]
                phone = (
                    (person.phone_cipher, person.phone_hash, person.phone_tail_hash)
                    if row.phone_given
                    else (found.phone_cipher, found.phone_hash, found.phone_tail_hash)
                )
                person_updates.append(
                    (
                        person.name,
                        person.name_initials,
                        *phone,
                        _final_status(plan, row),
                        row.relation,
                        group.id,
                        region,
                        stamp,
                        row.id,
                    )
                )
                if found.household_id != group.id:
                    moves.append((row.id, found.household_id, group.id, row.relation))
                    if found.household_id:
                        refresh.add(found.household_id)
            if row.person_categories is not None:
                held = plan.grants.get(("p", row.id), {}) if row.action != "create" else {}
                add, gone = _category_changes(held, row.person_categories, plan.managed)
                for category, grade in sorted(add):
                    grant(category, grade, person=row.id, region=region)
                end(gone)

    quote = ops.quote_name
    # Order matters: a moved person leaves the old household before joining the new one
    # (one current membership each); the rows refer to each other by the ids above.
    _insert(
        Household,
        [
            "id",
            "region",
            "address",
            "head",
            "head_name",
            "head_initials",
            "member_count",
            "created_at",
            "updated_at",
        ],
        households,
    )
    if moves:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(Membership._meta.db_table)} SET left_on = %s, reason = %s"
                " WHERE person_id = %s AND left_on IS NULL",
                [(day, reason, person_id) for person_id, _old, _new, _rel in moves],
            )
            cursor.executemany(
                f"UPDATE {quote(Household._meta.db_table)} SET head_id = NULL"
                " WHERE id = %s AND head_id = %s",
                [(old, person_id) for person_id, old, _new, _rel in moves if old],
            )
        memberships.extend((pid, new, rel, day, None, reason) for pid, _old, new, rel in moves)
    _insert(
        Person,
        ["id", *PERSON_FIELDS, "household", "relation", "region", "created_at", "updated_at"],
        people,
    )
    _update(
        Person,
        [
            "name",
            "name_initials",
            "phone_cipher",
            "phone_hash",
            "phone_tail_hash",
            "status",
            "relation",
            "household",
            "region",
            "updated_at",
        ],
        person_updates,
    )
    _update(Household, ["region", "address", "updated_at"], household_updates)
    if region_moves:  # as household_update does: the members, dwelling and grants follow
        person_table = quote(Person._meta.db_table)
        with connection.cursor() as cursor:
            for table, where, repeat in (
                (Person, "household_id = %s", 1),
                (Dwelling, "household_id = %s", 1),
                (
                    CategoryGrant,
                    f"household_id = %s OR person_id IN"
                    f" (SELECT id FROM {person_table} WHERE household_id = %s)",
                    2,
                ),
            ):
                cursor.executemany(
                    f"UPDATE {quote(table._meta.db_table)} SET region_id = %s WHERE {where}",
                    [(region, *[hid] * repeat) for region, hid in region_moves],
                )
    _insert(
        Membership,
        ["person", "household", "relation", "joined_on", "left_on", "reason"],
        memberships,
    )
    _insert(
        Dwelling,
        [
            "id",
            "household",
            "region",
            "grade",
            "assessed_on",
            "appraiser",
            "cause",
            "ground_floor_flooded",
        ],
        dwellings,
    )
    _update(Dwelling, ["grade", "assessed_on", "cause", "ground_floor_flooded"], dwelling_updates)
    _insert(
        Assessment,
        [
            "dwelling",
            "grade",
            "assessed_on",
            "appraiser",
            "cause",
            "ground_floor_flooded",
            "recorded_by",
            "recorded_at",
        ],
        assessments,
    )
    _update(CategoryGrant, ["end", "end_reason"], ended)
    _insert(
        CategoryGrant,
        [
            "category",
            "household",
            "person",
            "region",
            "grade",
            "start",
            "end",
            "document",
            "end_reason",
        ],
        grants,
    )
    _refresh_households(sorted(refresh), stamp)
    # Not the households the file leaves unchanged: a re-import of the same file is no news.
    hooks.changed([g.id for g in groups if g.action != "unchanged"] + sorted(refresh))


def _head_changes(plan: _Plan, groups: list[_Group], *, actor, today: datetime.date) -> None:
    """The households whose new head the file names (_plan) get them through the service,
    before the rows are written: the same history and audit row as on the household's page,
    the members' relations as the file gives them (those it does not list, as the service
    suggests). Rare, so one household at a time. The rows written after repeat the same
    relations; the plan read the registry before, so nothing it counted changes."""
    for group in groups:
        if not group.head_change:
            continue
        relations = {}
        for row in group.ok_rows:
            found = plan.people.get(row.person.id_hash)
            if row is group.head or found is None or found.id == group.old_head_id:
                continue
            if found.household_id == group.id:  # present or not: the service relates all
                relations[row.id] = row.relation
        person = Person.objects.get(pk=group.head.id)
        old_relation = group.old_head_relation
        if group.old_head_id is not None and old_relation is None:
            # The old head has no row in the file: the relation the page starts with.
            stay = dict(
                Person.objects.filter(household_id=group.id)
                .exclude(pk=person.pk)
                .values_list("id", "relation")
            )
            stay[group.old_head_id] = Relation.HEAD
            old_relation = suggested_relations(person.relation, stay)[group.old_head_id]
        household_head_change(
            actor=actor,
            household=Household.objects.get(pk=group.id),
            person=person,
            old_head_relation=old_relation or "",
            relations=relations,
            on=today,
        )


@contextlib.contextmanager
def _sqlite_cache(kib: int):
    """A bigger page cache for this connection while it writes a roll: the person table's
    eight indexes of a county (random hashes, 700k rows) do not fit in the usual 64 MB, and
    every miss is a read. And helper threads for the sorts of the indexes built again
    (_indexes_rebuilt_after): a county's people, 6 s of sorting, on more than one core.
    Both put back afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    threads = min(os.cpu_count() or 1, 4)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA threads")
        threads_before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{int(kib)}")
        cursor.execute(f"PRAGMA threads = {threads}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")
            cursor.execute(f"PRAGMA threads = {int(threads_before)}")


def _refresh_households(ids: list[int], stamp) -> None:
    """The head-name and member-count copies of households whose members changed."""
    if not ids:
        return
    quote = connection.ops.quote_name
    household = quote(Household._meta.db_table)
    person = quote(Person._meta.db_table)
    sql = (
        f"UPDATE {household} SET "
        f"member_count = (SELECT COUNT(*) FROM {person} p WHERE p.household_id = {household}.id"
        f" AND p.status IN (%s, %s)), "
        f"head_name = COALESCE((SELECT p.name FROM {person} p WHERE p.id = {household}.head_id), ''), "
        f"head_initials = COALESCE((SELECT p.name_initials FROM {person} p"
        f" WHERE p.id = {household}.head_id), ''), "
        f"updated_at = %s WHERE id = %s"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(ids), BATCH):
            cursor.executemany(sql, [(*PRESENT, stamp, pk) for pk in ids[start : start + BATCH]])


# --- The whole import -----------------------------------------------------------------------


def import_roll(
    *,
    actor,
    source,
    filename: str,
    mapping: dict[int, str] | None = None,
    dry_run: bool = False,
    partial: bool = False,
    progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
    entity_id: str = "",
) -> ImportResult:
    """Read, check and (unless ``dry_run``) write a household roll for ``actor`` (None: the
    command line without --user, which reaches everything). A file with a refused row is
    refused whole unless ``partial``. Raises RollError when the file cannot be read at all,
    PermissionDenied when the actor may not write."""
    if actor is not None:
        require_write(actor, actor.reach)
    with _no_gc():
        return _import(
            actor=actor,
            source=source,
            filename=filename,
            mapping=mapping,
            dry_run=dry_run,
            partial=partial,
            progress=progress,
            processes=processes,
            entity_id=entity_id,
        )


@contextlib.contextmanager
def _no_gc():
    """No cyclic garbage collection while a roll is in memory: the rows make no cycles that
    matter, and each collection would walk millions of live objects (a third of the time
    of a county's import)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(
    *, actor, source, filename, mapping, dry_run, partial, progress, processes, entity_id
) -> ImportResult:
    today = timezone.localdate()
    reach = actor.reach if actor is not None else ""
    parsed = parse_roll(
        source,
        filename,
        mapping=mapping,
        region_optional=len(reach) == LEVEL_DIGITS[Level.VILLAGE],
        progress=progress,
        processes=processes,
        today=today,
    )
    if dry_run or (_has_refusals(parsed) and not partial):
        plan = _plan(parsed, actor, today=today)
        plan.result.dry_run = dry_run
        plan.result.partial = partial
        return plan.result
    source_origin = current_origin()
    with origin("import", ip=source_origin.ip), transaction.atomic(durable=True):
        plan = _plan(parsed, actor, today=today)
        result = plan.result
        result.partial = partial
        if result.refused and not partial:  # the registry changed since the check
            return result
        try:
            with _sqlite_cache(WRITE_CACHE_KIB):
                _write(plan, actor=actor, today=today)
        except (IntegrityError, ValidationError) as error:  # ValidationError: a 户主变更
            reason = "；".join(error.messages) if isinstance(error, ValidationError) else error
            raise RollError(
                _("导入时台账被他人同时修改（%(error)s），未写入任何数据，请重新导入")
                % {"error": reason}
            ) from None
        result.applied = True
        audit_record(
            actor=actor,
            action="import",
            entity="households.import",
            entity_id=entity_id,
            region_code=reach,
            changes={
                "file": [None, parsed.filename],
                "sha256": [None, parsed.sha256],
                "rows": [None, result.rows],
                "people": [None, result.people.as_dict()],
                "households": [None, result.households.as_dict()],
                "partial": [None, partial],
            },
        )
    return result


def _has_refusals(parsed: Parsed) -> bool:
    return bool(parsed.file_refusals) or any(row.errors for row in parsed.rows)


# --- The refusals as an annotated spreadsheet -----------------------------------------------


def _columns_of(letters: str) -> range:
    """ "D" -> D; "L:M" -> L..M (1-based)."""
    first, _sep, last = letters.partition(":")
    return range(column_number(first), column_number(last or first) + 1)


# What reads as an ID number or a mobile phone in a cell of any other column.
_ID_LIKE = re.compile(r"(?<!\d)(?:\d{17}[\dXx]|\d{15})(?!\d)")
_MOBILE_LIKE = re.compile(r"(?<!\d)1\d{10}(?!\d)")


def _masked_text(text: str) -> str:
    text = _ID_LIKE.sub(lambda m: mask_id_number(m.group().upper()), text)
    return _MOBILE_LIKE.sub(lambda m: mask_phone(m.group()), text)


def _masker(result: ImportResult) -> Callable[[list[str]], list[str]]:
    """Masks a row's cells as lib/masking does: the 身份证号, 户主身份证号 and 联系电话
    columns whatever they hold, and what reads as an ID number or a mobile elsewhere (a
    note, a column left unmapped)."""
    whole = {
        col - 1: mask_phone if key == "phone" else mask_id_number
        for col, key in result.personal_columns.items()
    }

    def mask(cells: list[str]) -> list[str]:
        return [
            (
                whole[i](roll.plain(cell).upper())
                if i in whole and "*" not in cell
                else _masked_text(cell)
            )
            if cell
            else cell
            for i, cell in enumerate(cells)
        ]

    return mask


def write_refusals(
    source, filename: str, result: ImportResult, target, *, masked: bool = False
) -> int:
    """The refused rows of the file as they were, each with its row number and reasons in
    two added columns (原行号, 错误原因) and its bad cells filled red, as an .xlsx at
    ``target``. The import ignores those two columns, so the sheet can be corrected and
    imported again. ``masked``: ID numbers and phones masked, for a user who may not see
    them in full (such a file can be read, not imported again). Returns the number of rows
    written."""
    by_row: dict[int, list[Refusal]] = {}
    for refusal in result.refusals:
        by_row.setdefault(refusal.row, []).append(refusal)
    mask = _masker(result) if masked else None
    sheet = _open(source, filename)

    def annotated(number: int, cells: list[str], width: int) -> list:
        refusals = by_row[number]
        bad = {col for r in refusals if r.column for col in _columns_of(r.column)}
        cells = cells + [""] * (width - len(cells))
        if mask is not None and number != result.header_row:
            cells = mask(cells)
        reasons = "；".join(
            f"{r.column}列（{r.header}）：{r.reason}"
            if r.column and r.header
            else (f"{r.column}列：{r.reason}" if r.column else r.reason)
            for r in refusals
        )
        if mask is not None:  # stored masked already; a formula's text may hold a number
            reasons = _masked_text(reasons)
        return [
            *(Flagged(c) if i in bad else c for i, c in enumerate(cells, start=1)),
            str(number),
            reasons,
        ]

    try:
        rows = iter(sheet)
        header: list[str] = []
        for number, cells in rows:
            if number == result.header_row:
                header = cells
                break
        while header and not header[-1]:
            header.pop()
        width = max(len(header), 1)

        def refused_rows():
            if result.header_row in by_row:
                yield annotated(result.header_row, list(header), width)
            for number, cells in rows:
                if number in by_row:
                    yield annotated(number, cells[: max(width, len(cells))], width)

        return write_xlsx(
            target,
            [*header, *[""] * (width - len(header)), roll.ROW_HEADER, roll.REASON_HEADER],
            refused_rows(),
            sheet_name="错误",
        )
    finally:
        sheet.close()
