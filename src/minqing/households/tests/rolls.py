"""Household rolls made in code for the import and export tests: valid rows, and the three
formats a clerk may upload (.xlsx, .ods, .csv). .xls cannot be written here (no library for
it is installed); calamine reads it through the same path as .xlsx."""

import csv
import datetime
import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from minqing.households.roll import HEADERS, format_region
from minqing.lib.excel import write_xlsx
from minqing.lib.idcard import make_id_number
from minqing.testing import WANQUANZHUANG

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["秀英", "建国", "桂兰", "志强", "丽", "伟", "梓涵", "浩然", "淑珍", "国华", "红梅", "海燕"]
RELATIONS = ["户主", "配偶", "子女", "子女", "父母"]
VILLAGE = format_region("万全庄村", WANQUANZHUANG)


def person_id(n: int, *, region6: str = "130681") -> str:
    """The n-th person's ID number: valid, unique for n < 365,000."""
    birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=n // 1000 * 7 + n % 7)
    return make_id_number(region6, birth, n % 1000)


def roll(
    households: int, *, size: int = 3, region: str = VILLAGE, start: int = 0
) -> list[list[str]]:
    """Rows of ``households`` households of ``size`` people each, the head first."""
    rows = []
    n = start
    for h in range(households):
        head_name = SURNAMES[h % len(SURNAMES)] + GIVEN[h % len(GIVEN)]
        head_id = person_id(n)
        for m in range(size):
            number = person_id(n)
            name = (
                head_name
                if m == 0
                else SURNAMES[(h + m) % len(SURNAMES)] + GIVEN[(n + m) % len(GIVEN)]
            )
            rows.append(
                [
                    head_name,
                    head_id,
                    name,
                    number,
                    RELATIONS[m % len(RELATIONS)],
                    "",
                    "",
                    f"139{n:08d}" if m < 2 else "",
                    "在家居住",
                    region,
                    f"万全庄村{h + 1}号",
                    "低保" if h % 10 == 0 else "",
                    "残疾二级" if m == 2 and h % 7 == 0 else "",
                    "C" if h % 20 == 0 else "",
                    "2023-09-01" if h % 20 == 0 else "",
                    "洪涝" if h % 20 == 0 else "",
                    "是" if h % 20 == 0 else "",
                ]
            )
            n += 1
    return rows


def xlsx_bytes(rows, header=HEADERS) -> bytes:
    out = io.BytesIO()
    write_xlsx(out, list(header), rows)
    return out.getvalue()


def write(path: Path, rows, header=HEADERS) -> Path:
    """Write ``rows`` under ``header`` to ``path``, in the format its suffix says."""
    if path.suffix == ".xlsx":
        path.write_bytes(xlsx_bytes(rows, header))
    elif path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
    elif path.suffix == ".ods":
        path.write_bytes(ods_bytes([list(header), *rows]))
    else:
        raise ValueError(path.suffix)
    return path


def ods_bytes(rows, *, merged=(), formulas=None) -> bytes:
    """A minimal OpenDocument spreadsheet. ``merged``: (row, col, rows, cols) 1-based spans;
    ``formulas``: {(row, col): "of:=..."}."""
    formulas = formulas or {}
    spans = {(r, c): (nr, nc) for r, c, nr, nc in merged}
    covered = {
        (r + i, c + j) for r, c, nr, nc in merged for i in range(nr) for j in range(nc) if i or j
    }
    body = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row, start=1):
            if (r, c) in covered:
                cells.append("<table:covered-table-cell/>")
                continue
            attrs = ' office:value-type="string"'
            if (r, c) in spans:
                nr, nc = spans[(r, c)]
                attrs += f' table:number-rows-spanned="{nr}" table:number-columns-spanned="{nc}"'
            if (r, c) in formulas:
                attrs += f' table:formula="{escape(formulas[(r, c)])}"'
            cells.append(
                f"<table:table-cell{attrs}><text:p>{escape(str(value))}</text:p></table:table-cell>"
            )
        body.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="花名册">'
        + "".join(body)
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"'
        ' manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def xlsx_with(path: Path, rows, *, header=HEADERS, merged=(), formulas=None, title=None) -> Path:
    """An .xlsx with what write_xlsx never writes: a title row above the header (``title``),
    merged cells (``merged``: "Q1:R1" ranges) and formula cells (``formulas``: {(row, col):
    (formula, cached value)}, 1-based as in the sheet)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = book.add_worksheet("花名册")
    top = 0
    if title:
        sheet.merge_range(0, 0, 0, len(header) - 1, title)
        top = 1
    sheet.write_row(top, 0, list(header))
    for r, row in enumerate(rows, start=top + 1):
        sheet.write_row(r, 0, row)
    for cells in merged:
        sheet.merge_range(cells, sheet_value(cells, header, top))
    for (r, c), (formula, value) in (formulas or {}).items():
        sheet.write_formula(r - 1, c - 1, formula, None, value)
    book.close()
    return path


def sheet_value(cells: str, header, top: int) -> str:
    """The header text that a merged range over the header keeps (its first cell's)."""
    from minqing.lib.excel import column_number

    first = cells.split(":")[0].rstrip("0123456789")
    index = column_number(first) - 1
    return header[index] if index < len(header) else ""
