"""Records in other apps that a case can come from (``Case.source_ref``, "app.record:key").

An app registers, from its ``AppConfig.ready()``, what the ledger does with its records:
``on_register`` is called with ``(actor, case)`` inside the transaction that registers a case
whose ``source_ref`` carries its prefix (a refusal there registers nothing), and ``page``
turns the key into the address of the record, linked from the case page."""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class SourceKind:
    on_register: Callable | None = None
    page: Callable[[str], str] | None = None


KINDS: dict[str, SourceKind] = {}


def register_source(prefix: str, kind: SourceKind) -> None:
    KINDS[prefix] = kind


def _split(ref: str) -> tuple[SourceKind | None, str]:
    prefix, _sep, key = ref.partition(":")
    return KINDS.get(prefix), key


def registered(actor, case) -> None:
    kind, key = _split(case.source_ref)
    if kind is None or kind.on_register is None:
        return
    if not key.isdigit():
        raise ValidationError({"source_ref": _("来源记录“%(r)s”无效") % {"r": case.source_ref}})
    kind.on_register(actor, case, int(key))


def source_page(ref: str) -> str:
    kind, key = _split(ref)
    return kind.page(key) if kind and kind.page and key.isdigit() else ""
