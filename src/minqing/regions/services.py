"""Loading editions of the region tree. The tree is national reference data, so the load is
one bulk operation with one audit row, not 665k individual writes."""

import gzip
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction

from minqing.audit.services import audit_record
from minqing.regions.codes import LEVEL_DIGITS, level_of, pad, prefix_of, short_name
from minqing.regions.models import Edition, NameChange, Region, Successor, prefix_q

PACKAGED_EDITION = 2023
PACKAGED_FILE = Path(__file__).parent / "data" / "regions-2023.tsv.gz"
_BATCH = 20_000


def read_region_file(path: Path = PACKAGED_FILE) -> Iterator[tuple[str, str]]:
    """Yield (12-digit code, name) from a ``code<TAB>name`` file, gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            raw, _, name = line.rstrip("\n").partition("\t")
            if not raw.isdigit() or len(raw) not in (2, 4, 6, 9, 12) or not name:
                raise ValueError(f"{path.name} 第 {lineno} 行格式不正确：{line.strip()!r}")
            yield pad(raw), name


@dataclass
class LoadResult:
    edition: int
    total: int = 0
    created: int = 0
    renamed: int = 0
    retired: int = 0
    revived: int = 0
    successors: int = 0
    renames: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.renamed or self.retired or self.revived or self.successors)


def _within(code: str, prefix: str) -> bool:
    """In the subtree of ``prefix``, or one of its ancestors."""
    return code.startswith(prefix) or prefix.startswith(prefix_of(code))


def regions_load(
    *,
    rows: Iterable[tuple[str, str]],
    edition: int,
    actor=None,
    within: str = "",
    successors: Iterable[tuple[str, str]] = (),
) -> LoadResult:
    """Bring the table in line with one edition: insert new codes, rename, retire codes the
    edition no longer has, revive ones it has again. Idempotent: a second run changes nothing.

    ``within`` limits the load (and retirement) to one subtree plus its ancestors, which is
    how the demo loads a single county quickly.
    """
    incoming = {code: name for code, name in rows if not within or _within(code, within)}
    result = LoadResult(edition=edition, total=len(incoming))
    scope = prefix_q("code", within)
    with transaction.atomic(durable=True):
        existing = {
            code: (name, retired_in)
            for code, name, retired_in in Region.objects.filter(scope).values_list(
                "code", "name", "retired_in"
            )
        }
        if within:  # ancestors of the subtree live outside the prefix range
            ancestors = [c for c in incoming if not c.startswith(within)]
            for code, name, retired_in in Region.objects.filter(code__in=ancestors).values_list(
                "code", "name", "retired_in"
            ):
                existing[code] = (name, retired_in)

        result.created = _insert([c for c in incoming if c not in existing], incoming, edition)

        renamed = [
            Region(code=c, name=incoming[c], short_name=short_name(incoming[c]))
            for c, (name, _) in existing.items()
            if c in incoming and name != incoming[c]
        ]
        if renamed:
            Region.objects.bulk_update(renamed, ["name", "short_name"], batch_size=_BATCH)
            NameChange.objects.bulk_create(
                NameChange(
                    region_id=r.code, old_name=existing[r.code][0], new_name=r.name, edition=edition
                )
                for r in renamed
            )
            result.renames = [(r.code, existing[r.code][0], r.name) for r in renamed]
        result.renamed = len(renamed)

        revived = [c for c, (_, retired) in existing.items() if retired and c in incoming]
        retired = [c for c, (_, was) in existing.items() if was is None and c not in incoming]
        for codes, value in ((revived, None), (retired, edition)):
            for start in range(0, len(codes), 500):
                Region.objects.filter(code__in=codes[start : start + 500]).update(retired_in=value)
        result.revived, result.retired = len(revived), len(retired)

        for old, new in successors:
            _, made = Successor.objects.get_or_create(
                old_id=old, new_id=new, defaults={"edition": edition}
            )
            result.successors += made

        if result.changed or not Edition.objects.filter(year=edition).exists():
            count = Region.objects.filter(retired_in__isnull=True).count()
            Edition.objects.update_or_create(year=edition, defaults={"region_count": count})
            audit_record(
                actor=actor,
                action="load",
                entity="regions.edition",
                entity_id=str(edition),
                region_code=within.ljust(12, "0") if within else "",
                changes={
                    "created": [None, result.created],
                    "renamed": [None, result.renamed],
                    "retired": [None, result.retired],
                    "revived": [None, result.revived],
                    "successors": [None, result.successors],
                },
            )
    return result


def _insert(codes: list[str], names: dict[str, str], edition: int) -> int:
    """Insert ``codes`` parents first: by level, in the given order within a level. Each
    code's level is read once, and the row tuples are built one batch at a time. PostgreSQL
    takes them by COPY, five times faster there than one INSERT per row."""
    by_level: dict[int, list[str]] = {level: [] for level in sorted(LEVEL_DIGITS)}
    for code in codes:
        by_level[level_of(code)].append(code)
    table = Region._meta.db_table
    columns = "code, name, short_name, level, parent_id, since"
    sql = f"INSERT INTO {table} ({columns}, retired_in) VALUES (%s, %s, %s, %s, %s, %s, NULL)"
    copy = f"COPY {table} ({columns}) FROM STDIN"  # retired_in: NULL, as in the INSERT
    with connection.cursor() as cursor:
        for level, level_codes in by_level.items():
            parent_digits = LEVEL_DIGITS.get(level - 1)  # parent_of(), the level known
            for start in range(0, len(level_codes), _BATCH):
                rows = [
                    (
                        c,
                        names[c],
                        short_name(names[c]),
                        level,
                        pad(c[:parent_digits]) if parent_digits else None,
                        edition,
                    )
                    for c in level_codes[start : start + _BATCH]
                ]
                if connection.vendor == "postgresql":
                    with cursor.cursor.copy(copy) as into:  # psycopg's own cursor
                        for row in rows:
                            into.write_row(row)
                else:
                    cursor.executemany(sql, rows)
    return len(codes)
