"""minqing.lib.excel: reading .xlsx/.ods/.csv as text rows with the spreadsheet's row
numbers, what calamine leaves out (merged and formula cells), and streaming .xlsx out."""

import datetime
import io
import re
import zipfile

import pytest
import xlsxwriter

from minqing.households.tests.rolls import ods_bytes
from minqing.lib.excel import (
    CellRange,
    Flagged,
    SpreadsheetError,
    cell_text,
    column_letter,
    column_number,
    read_rows,
    write_xlsx,
)


def test_column_letters():
    assert [column_letter(n) for n in (1, 2, 26, 27, 28, 52, 53, 702, 703)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]
    assert all(column_number(column_letter(n)) == n for n in range(1, 2000))


def test_cell_values_become_the_text_a_reader_sees():
    assert cell_text(13812345678.0) == "13812345678"
    assert cell_text(1.5) == "1.5"
    assert cell_text(42) == "42"
    assert cell_text(datetime.datetime(2023, 8, 1)) == "2023-08-01"
    assert cell_text(datetime.datetime(2023, 8, 1, 9, 30)) == "2023-08-01 09:30:00"
    assert cell_text(datetime.date(2023, 8, 1)) == "2023-08-01"
    assert cell_text("  张三 ") == "张三"
    assert cell_text(None) == "" and cell_text(True) == "TRUE"


def _xlsx(tmp_path, build) -> str:
    path = tmp_path / "t.xlsx"
    book = xlsxwriter.Workbook(str(path))
    build(book, book.add_worksheet("花名册"))
    book.close()
    return str(path)


def test_xlsx_rows_keep_the_sheets_row_and_column_numbers(tmp_path):
    def build(book, sheet):
        sheet.write_row(3, 2, ["姓名", "电话", "日期"])
        sheet.write_row(4, 2, ["张三", 13812345678])
        sheet.write_datetime(
            4, 4, datetime.datetime(2023, 8, 1), book.add_format({"num_format": "yyyy-mm-dd"})
        )

    rows = list(read_rows(_xlsx(tmp_path, build), "t.xlsx"))

    assert rows[3] == (4, ["", "", "姓名", "电话", "日期"])
    assert rows[4] == (5, ["", "", "张三", "13812345678", "2023-08-01"])
    assert [number for number, _cells in rows] == [1, 2, 3, 4, 5]


def test_xlsx_merged_and_formula_cells_are_reported(tmp_path):
    def build(book, sheet):
        sheet.merge_range("A1:C1", "标题")
        sheet.write_row(1, 0, ["姓名", "电话"])
        sheet.merge_range("A3:A4", "张三")
        sheet.write_formula(2, 1, '="138"&"12345678"', None, "13812345678")
        sheet.write(3, 1, "13900000000")

    sheet = read_rows(_xlsx(tmp_path, build), "t.xlsx")
    rows = list(sheet)

    assert sheet.merged == [CellRange(1, 1, 1, 3), CellRange(3, 1, 4, 1)]
    assert sheet.formulas == {(3, 2): '="138"&"12345678"'}
    assert rows[0] == (1, ["标题", "标题", "标题"])
    assert rows[2] == (3, ["张三", "13812345678"])
    assert rows[3] == (4, ["张三", "13900000000"])  # under the merged cell: its value
    assert CellRange(1, 1, 1, 3).label == "A1:C1"


def test_a_formula_is_found_when_the_sheet_xml_prefixes_its_namespace(tmp_path):
    # Some writers spell the sheet's tags <x:c>, <x:f>: the scan for formulas must see them.
    def build(book, sheet):
        sheet.write_row(0, 0, ["姓名", "电话"])
        sheet.write_formula(1, 1, '="138"&"12345678"', None, "13812345678")

    plain = _xlsx(tmp_path, build)
    prefixed = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(prefixed, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = re.sub(r"<(/?)(?!\?)(\w+)", r"<\1x:\2", text)
                data = text.replace('xmlns="', 'xmlns:x="', 1).encode()
                assert "<x:f>" in text
            target.writestr(item, data)

    assert read_rows(str(prefixed), "t.xlsx").formulas == {(2, 2): '="138"&"12345678"'}


def test_ods_is_read_with_its_merged_and_formula_cells(tmp_path):
    path = tmp_path / "t.ods"
    path.write_bytes(
        ods_bytes(
            [["姓名", "电话", ""], ["张三", "13812345678", "x"]],
            merged=[(1, 2, 1, 2)],
            formulas={(2, 2): "of:=[.A1]"},
        )
    )

    sheet = read_rows(path, "t.ods")
    rows = list(sheet)

    assert rows == [(1, ["姓名", "电话", "电话"]), (2, ["张三", "13812345678", "x"])]
    assert sheet.merged == [CellRange(1, 2, 1, 3)]
    assert sheet.formulas == {(2, 2): "=[.A1]"}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_in_utf8_or_gb18030(tmp_path, encoding):
    path = tmp_path / "t.csv"
    path.write_bytes("姓名,电话\r\n张三,13812345678\r\n李四,=1+1\r\n".encode(encoding))

    sheet = read_rows(path, "t.csv")
    rows = list(sheet)

    assert rows == [(1, ["姓名", "电话"]), (2, ["张三", "13812345678"]), (3, ["李四", "=1+1"])]
    assert sheet.formulas == {(3, 2): "=1+1"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_excels_unicode_text_is_read_as_utf16_with_tabs(tmp_path, encoding):
    """Excel's 另存为 “Unicode 文本”: UTF-16 with its byte-order mark, tabs between cells."""
    text = "姓名\t电话\r\n张三\t13812345678\r\n"
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path = tmp_path / "t.csv"
    path.write_bytes(bom + text.encode(encoding))

    assert list(read_rows(path, "t.csv")) == [(1, ["姓名", "电话"]), (2, ["张三", "13812345678"])]


def test_a_file_object_reads_like_a_path(tmp_path):
    data = io.BytesIO("姓名\n张三\n".encode())

    assert list(read_rows(data, "upload.csv")) == [(1, ["姓名"]), (2, ["张三"])]
    assert not data.closed


def test_unsupported_and_damaged_files_are_refused(tmp_path):
    with pytest.raises(SpreadsheetError, match=r"不支持的文件类型“\.docx”"):
        read_rows(tmp_path / "a.docx", "a.docx")
    damaged = tmp_path / "a.xlsx"
    damaged.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SpreadsheetError, match="无法读取文件"):
        read_rows(damaged, "a.xlsx")


def test_a_broken_deflate_stream_is_a_damaged_file_not_a_crash(tmp_path):
    # calamine fails on the sheet, and so does the formula scan reading it beside calamine:
    # zlib's error from the scan used to escape (HTTP 500) in place of a clear message.
    out = io.BytesIO()
    write_xlsx(out, ["姓名", "身份证号"], [["张三", "=1+1"]] * 200)
    data = bytearray(out.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + 20
    for i in range(start, start + 40):
        data[i] ^= 0x55
    path = tmp_path / "a.xlsx"
    path.write_bytes(bytes(data))

    with pytest.raises(SpreadsheetError, match="或文件已损坏"):
        read_rows(path, "a.xlsx")


def test_write_xlsx_streams_text_as_text(tmp_path):
    path = tmp_path / "out.xlsx"

    count = write_xlsx(
        path,
        ["身份证号", "备注"],
        ([f"13068119900101{n:04d}", "=SUM(A1)" if n == 0 else Flagged("错")] for n in range(5000)),
    )

    assert count == 5000
    rows = list(read_rows(path, "out.xlsx"))
    assert rows[0] == (1, ["身份证号", "备注"])
    assert rows[1] == (2, ["130681199001010000", "=SUM(A1)"])
    assert rows[-1] == (5001, ["130681199001014999", "错"])
    sheet = read_rows(path, "out.xlsx")
    assert sheet.formulas == {}  # "=SUM(A1)" stayed text
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
        styles = archive.read("xl/styles.xml").decode()
    assert 't="inlineStr"' in xml  # constant_memory mode: no shared-string table in memory
    assert "FECACA" in styles  # the flagged cells' fill


def test_write_xlsx_is_read_by_openpyxl_too(tmp_path):
    """A second reader than calamine: the file is well-formed SpreadsheetML."""
    import openpyxl

    path = tmp_path / "out.xlsx"
    write_xlsx(
        path,
        ["姓名", "备注"],
        [["张三", "a & b <c>"], [" 前后空格 ", Flagged("错\x01误")], ["", None]],
        sheet_name="户籍花名册",
    )

    book = openpyxl.load_workbook(path)
    sheet = book["户籍花名册"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["姓名", "备注"],
        ["张三", "a & b <c>"],
        [" 前后空格 ", "错_x0001_误"],
    ]
    assert sheet["B3"].fill.fgColor.rgb == "FFFECACA"
    assert sheet["A2"].number_format == "@"
    assert sheet.freeze_panes == "A2"
