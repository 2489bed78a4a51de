"""Spreadsheets in and out, knowing nothing of what the columns mean.

Reading: ``read_rows(path_or_file, filename)`` opens .xlsx, .xls and .ods with python-calamine
and .csv with the csv module (UTF-8, else GB18030, which is what Excel saves on a Chinese
Windows), and yields ``(row_number, cells)`` for the first visible sheet: every cell as text,
row numbers 1-based as the spreadsheet shows them. It also says what calamine leaves out and a
careful importer must refuse: merged cells (``.merged``) and formula cells (``.formulas``),
which calamine reads as their cached value. Calamine reports merged ranges for .xlsx and .xls;
for .ods both come from the sheet's XML. Formulas in .xls cannot be seen (calamine does not
expose them); in .csv a cell that starts with "=" is taken for one.

Writing: ``write_xlsx(target, header, rows)`` streams with XlsxWriter's ``constant_memory``
mode, so a 700,000-row sheet costs no more memory than a 10-row one.
"""

import codecs
import contextlib
import csv
import datetime
import io
import logging
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

import python_calamine
from django.utils.translation import gettext as _

READABLE = (".xlsx", ".xls", ".ods", ".csv")

logger = logging.getLogger(__name__)


class SpreadsheetError(ValueError):
    """The file cannot be read at all (wrong type, damaged, encrypted, no sheet)."""


# What a damaged file raises on the way in: calamine's errors, and the zip module's while the
# formula scan reads the sheet (a truncated or corrupted deflate stream).
_DAMAGED = (
    python_calamine.CalamineError,
    OSError,
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
)


def _unreadable(filename: str, error: BaseException) -> SpreadsheetError:
    """The user's message for a file that cannot be read. The library's own text
    ("invalid Zip archive: Could not find EOCD", "Cfb error: Invalid OLE …") tells a clerk
    nothing and is in English: it goes to the log only."""
    logger.warning("cannot read spreadsheet %r: %s: %s", filename, type(error).__name__, error)
    return SpreadsheetError(
        _(
            "无法读取文件“%(name)s”：不是有效的 .xlsx、.xls、.ods 或 .csv 文件，或文件已损坏。"
            "请用 Excel 或 WPS 打开，另存为 .xlsx 后重新上传"
        )
        % {"name": filename}
    )


def column_letter(column: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA (1-based, as in the spreadsheet)."""
    if column < 1:
        raise ValueError(column)
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """A -> 1, AA -> 27."""
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


@dataclass(frozen=True)
class CellRange:
    """A rectangle of cells, 1-based and inclusive, e.g. a merged range."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int

    @property
    def label(self) -> str:
        return (
            f"{column_letter(self.first_col)}{self.first_row}:"
            f"{column_letter(self.last_col)}{self.last_row}"
        )

    def covers_row(self, row: int) -> bool:
        return self.first_row <= row <= self.last_row


def cell_text(value) -> str:
    """A cell value as the text a person reads in the cell."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # 13812345678.0 is a phone typed into a number cell. An 18-digit number has already
        # lost its last digits in the file itself (a double keeps 15 or 16): nothing to save.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _suffix(filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix not in READABLE:
        raise SpreadsheetError(
            _("不支持的文件类型“%(suffix)s”：请上传 .xlsx、.xls、.ods 或 .csv 文件")
            % {"suffix": suffix or filename}
        )
    return suffix


class SheetRows:
    """The rows of a spreadsheet's first visible sheet; iterate for ``(row_number, cells)``.

    ``merged``: the merged ranges; ``formulas``: {(row, column): formula text}; ``sheet_name``;
    ``total``: how many rows the sheet spans (for a progress bar; None for .csv until read);
    ``in_memory``: the whole sheet is held in memory (calamine), so that iterating again, or
    in a process forked from this one, reads nothing from ``source``. Cells hidden under a merged range repeat the range's value, as a reader sees it.
    """

    def __init__(self, source: str | Path | IO[bytes], filename: str):
        self.filename = filename
        self.suffix = _suffix(filename)
        self.merged: list[CellRange] = []
        self.formulas: dict[tuple[int, int], str] = {}
        self.sheet_name = ""
        self.total: int | None = None
        self.in_memory = self.suffix != ".csv"
        self._source = source
        if self.suffix == ".csv":
            try:
                self._encoding, self.total = _csv_encoding(source)
            except UnicodeDecodeError as error:
                raise _unreadable(filename, error) from None
            return
        scan = None
        scanner = ThreadPoolExecutor(max_workers=1)  # one thread, ended below
        try:
            # calamine reads the whole file here: ``source`` is free for the formula scan.
            self._book = python_calamine.CalamineWorkbook.from_object(
                str(source) if isinstance(source, Path) else source
            )
            self.sheet_name = _first_visible_sheet(self._book)
            if self.suffix == ".xlsx":
                # Scanning the sheet's XML for formulas takes seconds on a county's roll;
                # calamine lets go of the GIL while it loads the sheet, so both run at once.
                scan = scanner.submit(_xlsx_formulas, source, self.sheet_name)
            self._sheet = self._book.get_sheet_by_name(self.sheet_name)
        except python_calamine.PasswordError:
            raise SpreadsheetError(_("文件已加密，请取消密码保护后再上传")) from None
        except SpreadsheetError:
            raise
        except _DAMAGED as error:
            raise _unreadable(filename, error) from None
        finally:
            scanner.shutdown()  # waits for the scan
        if scan is not None:
            try:
                self.formulas = scan.result()
            except _DAMAGED as error:
                raise _unreadable(filename, error) from None
        end = self._sheet.end
        self.total = end[0] + 1 if end else 0
        self.merged = [
            CellRange(r1 + 1, c1 + 1, r2 + 1, c2 + 1)
            for (r1, c1), (r2, c2) in (self._sheet.merged_cell_ranges or [])
        ]
        if self.suffix == ".ods":
            self.merged, self.formulas = _ods_spans_and_formulas(source, self.sheet_name)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        rows = self._csv_rows() if self.suffix == ".csv" else self._calamine_rows()
        if not self.merged:
            yield from rows
            return
        yield from _fill_merged(rows, self.merged)

    def _calamine_rows(self) -> Iterator[tuple[int, list[str]]]:
        # calamine yields every row from the first, but each starts at the sheet's first
        # used column: pad it back so that column numbers are the spreadsheet's.
        start = self._sheet.start
        pad = [""] * (start[1] if start else 0)
        for number, values in enumerate(self._sheet.iter_rows(), start=1):
            # Nearly every cell is text: the test for str first (a 700k-row roll has 12M).
            cells = [v.strip() if v.__class__ is str else cell_text(v) for v in values]
            yield number, pad + cells if pad else cells

    def _csv_rows(self) -> Iterator[tuple[int, list[str]]]:
        with _open_binary(self._source) as raw:
            text = io.TextIOWrapper(raw, encoding=self._encoding, newline="")
            # Excel's "Unicode 文本" is UTF-16 with tabs between the cells.
            dialect = "excel-tab" if self._encoding == "utf-16" else "excel"
            try:
                for number, values in enumerate(csv.reader(text, dialect), start=1):
                    cells = [v.strip() for v in values]
                    for col, cell in enumerate(cells, start=1):
                        if cell.startswith("=") and len(cell) > 1:
                            self.formulas[(number, col)] = cell
                    yield number, cells
            except (UnicodeDecodeError, csv.Error) as error:
                # Not text at all (an .xlsx renamed .csv, random bytes, NUL characters).
                raise _unreadable(self.filename, error) from None
            finally:
                text.detach()

    def close(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.close()


def read_rows(source: str | Path | IO[bytes], filename: str) -> SheetRows:
    """The rows of ``source`` (a path or a binary file), whose type ``filename`` tells."""
    return SheetRows(source, filename)


def _first_visible_sheet(book) -> str:
    for meta in book.sheets_metadata:
        if (
            meta.visible == python_calamine.SheetVisibleEnum.Visible
            and meta.typ == python_calamine.SheetTypeEnum.WorkSheet
        ):
            return meta.name
    raise SpreadsheetError(_("文件中没有可见的工作表"))


def _fill_merged(rows, merged: list[CellRange]):
    """Give each cell under a merged range the value of the range's top-left cell."""
    starting: dict[int, list[CellRange]] = {}
    for cell_range in merged:
        starting.setdefault(cell_range.first_row, []).append(cell_range)
    active: list[tuple[CellRange, str]] = []
    for number, cells in rows:
        active = [(r, v) for r, v in active if r.last_row >= number]
        for cell_range in starting.get(number, ()):
            index = cell_range.first_col - 1
            active.append((cell_range, cells[index] if index < len(cells) else ""))
        for cell_range, value in active:
            if len(cells) < cell_range.last_col:
                cells = cells + [""] * (cell_range.last_col - len(cells))
            for col in range(cell_range.first_col, cell_range.last_col + 1):
                cells[col - 1] = value
        yield number, cells


def _open_binary(source):
    """A binary file to read from the start: ``source`` opened, or the caller's own file
    (left open: its owner closes it)."""
    if isinstance(source, str | Path):
        return open(source, "rb")
    source.seek(0)
    return contextlib.nullcontext(source)


def _csv_encoding(source) -> tuple[str, int]:
    """UTF-16 if the file starts with its byte-order mark, UTF-8 (with or without BOM) if the
    whole file decodes as UTF-8, else GB18030; and about how many rows it has (its lines), for
    a progress bar."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, encoding = 0, "utf-8-sig"
    with _open_binary(source) as raw:
        if raw.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            encoding = "utf-16"
        raw.seek(0)
        while chunk := raw.read(1 << 20):
            lines += chunk.count(b"\n")
            if encoding == "utf-8-sig":
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    encoding = "gb18030"
        if encoding == "utf-8-sig":
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                encoding = "gb18030"
        if encoding == "gb18030":  # else not text at all (an .xlsx renamed .csv, any bytes)
            decoder = codecs.getincrementaldecoder(encoding)()
            raw.seek(0)
            while chunk := raw.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    return encoding, lines


# --- What calamine does not tell: formula cells (.xlsx, .ods) and merged cells (.ods) -------

_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_FORMULA_HINTS = (b"<f", b":f")  # in every match of _FORMULA_TAG
_SPREADSHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]+)(\d+)$")


def _zip(source) -> zipfile.ZipFile:
    if not isinstance(source, str | Path):
        source.seek(0)
    return zipfile.ZipFile(source)


def _xlsx_sheet_path(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rel_id = None
    for sheet in workbook.iter(f"{_SPREADSHEET_NS}sheet"):
        if sheet.get("name") == sheet_name:
            rel_id = sheet.get(f"{_RELS_NS}id")
    if rel_id is None:
        return None
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    return None


def _contains(member, pattern: re.Pattern, hints: tuple[bytes, ...] = ()) -> bool:
    """Whether a (large) zip member matches ``pattern``, read in chunks: no XML parsing.
    ``hints``: strings one of which any match contains, looked for first: a byte search is
    many times faster than a regex that starts a try at each "<" of the XML (a county's
    roll: 3 s to 0.6 s)."""
    tail = b""
    while chunk := member.read(1 << 20):
        data = tail + chunk
        if any(hint in data for hint in hints or (b"",)) and pattern.search(data):
            return True
        tail = chunk[-16:]
    return False


def _xlsx_formulas(source, sheet_name: str) -> dict[tuple[int, int], str]:
    """{(row, column): formula} of the sheet's formula cells (``<f>`` in the sheet XML).
    The sheet is first scanned as bytes: only a sheet that has formulas is parsed. A zip
    that breaks while its sheet is read is damaged: that raises (see ``_DAMAGED``), so that
    formulas are never missed in a sheet calamine happened to read."""
    try:
        archive = _zip(source)
    except zipfile.BadZipFile:
        return {}  # not a zip: calamine read another format under this name (.xls as .xlsx)
    try:
        with archive:
            path = _xlsx_sheet_path(archive, sheet_name)
            if path is None or path not in archive.namelist():
                return {}
            with archive.open(path) as member:
                if not _contains(member, _FORMULA_TAG, _FORMULA_HINTS):
                    return {}
            found = {}
            with archive.open(path) as member:
                for _event, element in ElementTree.iterparse(member):
                    if element.tag != f"{_SPREADSHEET_NS}c":
                        if element.tag == f"{_SPREADSHEET_NS}row":
                            element.clear()
                        continue
                    formula = element.find(f"{_SPREADSHEET_NS}f")
                    match = _CELL_REF.match(element.get("r", ""))
                    if formula is not None and match:
                        cell = (int(match.group(2)), column_number(match.group(1)))
                        found[cell] = "=" + (formula.text or "")
            return found
    except (KeyError, ElementTree.ParseError):
        return {}


_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_MARKERS = re.compile(rb"table:formula|number-columns-spanned|number-rows-spanned")


def _ods_spans_and_formulas(source, sheet_name: str):
    """Merged ranges and formula cells of an .ods sheet, from content.xml."""
    merged: list[CellRange] = []
    formulas: dict[tuple[int, int], str] = {}
    try:
        with _zip(source) as archive:
            with archive.open("content.xml") as member:
                if not _contains(member, _ODS_MARKERS):
                    return merged, formulas
            with archive.open("content.xml") as member:
                in_sheet, row, col = False, 0, 0
                for event, element in ElementTree.iterparse(member, events=("start", "end")):
                    tag = element.tag
                    if tag == f"{_ODS_TABLE}table":
                        if event == "start":
                            in_sheet = element.get(f"{_ODS_TABLE}name") == sheet_name
                        elif in_sheet:
                            break
                        continue
                    if not in_sheet:
                        continue
                    if tag == f"{_ODS_TABLE}table-row":
                        repeat = int(element.get(f"{_ODS_TABLE}number-rows-repeated", "1"))
                        if event == "start":
                            row, col = row + 1, 0
                        else:
                            row += repeat - 1
                            element.clear()
                    elif (
                        tag in (f"{_ODS_TABLE}table-cell", f"{_ODS_TABLE}covered-table-cell")
                        and event == "start"
                    ):
                        col += 1
                        formula = element.get(f"{_ODS_TABLE}formula")
                        if formula:
                            formulas[(row, col)] = formula.split(":", 1)[-1]
                        rows = int(element.get(f"{_ODS_TABLE}number-rows-spanned", "1"))
                        cols = int(element.get(f"{_ODS_TABLE}number-columns-spanned", "1"))
                        if rows > 1 or cols > 1:
                            merged.append(CellRange(row, col, row + rows - 1, col + cols - 1))
                        col += int(element.get(f"{_ODS_TABLE}number-columns-repeated", "1")) - 1
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        pass
    return merged, formulas


# --- Writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flagged:
    """A cell to highlight (a bad value in an error report)."""

    value: object


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
        f'Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_RELS}">'
        f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_DOC_RELS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    # Cell styles: 0 default, 1 text ("@", numFmt 49), 2 header (bold, grey), 3 flagged (red).
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN}">'
        '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font>'
        '<font><sz val="11"/><color rgb="FF991B1B"/><name val="Calibri"/></font></fonts>'
        '<fills count="4"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFF3F4F6"/>'
        '<bgColor indexed="64"/></patternFill></fill>'
        '<fill><patternFill patternType="solid"><fgColor rgb="FFFECACA"/>'
        '<bgColor indexed="64"/></patternFill></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="49" fontId="1" fillId="2" borderId="0" xfId="0" applyNumberFormat="1"'
        ' applyFont="1" applyFill="1"/>'
        '<xf numFmtId="49" fontId="2" fillId="3" borderId="0" xfId="0" applyNumberFormat="1"'
        ' applyFont="1" applyFill="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Characters XML 1.0 cannot carry at all; Excel writes them as _xHHHH_.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# What a cell's text must not hold to be written as it is (control characters: isprintable).
_SPECIAL = re.compile('[&<>"]')
_SPACE = re.compile(r"\s")


def _escape(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or '"' in text:
        text = (
            text.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
        )
    if not text.isprintable():
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text


def _inline(value) -> str:
    """A cell's inline string."""
    text = _escape(value if value.__class__ is str else cell_text(value))
    if text[:1].isspace() or text[-1:].isspace():
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"


def write_xlsx(
    target: str | Path | IO[bytes],
    header: list[str],
    rows: Iterable[Iterable],
    *,
    sheet_name: str = "Sheet1",
    widths: list[int] | None = None,
) -> int:
    """Write ``header`` and ``rows`` to an .xlsx, streaming (constant memory); return the
    number of rows. Every cell is text (an ID number never becomes a number, nor "=..." a
    formula), and every column is formatted as text so that what a user types later stays
    text too; a :class:`Flagged` cell is filled red.

    The sheet is written as SpreadsheetML straight into the zip, a row at a time. XlsxWriter's
    ``constant_memory`` mode does the same but spends ~15 µs of Python per cell: 130 s for a
    county's roll (700k rows), against ~15 s here. (calamine, openpyxl, Excel and LibreOffice
    read the result; tests/test_excel.py reads it back with two of them.)"""
    header = [cell_text(h) for h in header]
    letters = [column_letter(i) for i in range(1, 16385)]
    columns = "".join(
        f'<col min="{i}" max="{i}" width="{widths[i - 1] if widths and i <= len(widths) else max(10, 2 * len(title) + 2)}" style="1" customWidth="1"/>'
        for i, title in enumerate(header, start=1)
    )
    inline = _inline
    count = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, xml in _PARTS.items():
            archive.writestr(name, _XML + xml)
        archive.writestr(
            "xl/workbook.xml",
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><sheets>'
            f'<sheet name="{_escape(sheet_name[:31])}" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                (
                    f'{_XML}<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
                    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                    f"</sheetView></sheetViews><cols>{columns}</cols><sheetData>"
                    '<row r="1">'
                    + "".join(
                        f'<c r="{letters[c]}1" s="2" t="inlineStr">{inline(v)}</c>'
                        for c, v in enumerate(header)
                        if v
                    )
                    + "</row>"
                ).encode()
            )
            buffer: list[str] = []
            opens = [f'<c r="{letter}' for letter in letters]
            for count, row in enumerate(rows, start=1):
                n = count + 1
                # The common row, all plain text with nothing to escape, in one expression
                # (a county's export is 700k rows of 17 cells).
                if all(value.__class__ is str for value in row):
                    joined = "".join(row)
                    if not _SPECIAL.search(joined) and joined.isprintable():
                        mid = f'{n}" s="1" t="inlineStr"><is><t>'
                        spaced = _SPACE.search(joined) is not None  # else no cell needs a look
                        buffer.append(
                            f'<row r="{n}">'
                            + "".join(
                                [
                                    opens[c] + mid + value + "</t></is></c>"
                                    if not (spaced and (value[0].isspace() or value[-1].isspace()))
                                    else f'<c r="{letters[c]}{n}" s="1" t="inlineStr">{inline(value)}</c>'
                                    for c, value in enumerate(row)
                                    if value
                                ]
                            )
                            + "</row>"
                        )
                        if len(buffer) >= 1000:
                            sheet.write("".join(buffer).encode())
                            buffer.clear()
                        continue
                cells = [f'<row r="{n}">']
                for c, value in enumerate(row):
                    if value.__class__ is Flagged:
                        cells.append(
                            f'<c r="{letters[c]}{n}" s="3" t="inlineStr">{inline(value.value)}</c>'
                        )
                    elif value is not None and value != "":
                        cells.append(
                            f'<c r="{letters[c]}{n}" s="1" t="inlineStr">{inline(value)}</c>'
                        )
                cells.append("</row>")
                buffer.append("".join(cells))
                if len(buffer) >= 1000:
                    sheet.write("".join(buffer).encode())
                    buffer.clear()
            sheet.write(("".join(buffer) + "</sheetData></worksheet>").encode())
    return count
