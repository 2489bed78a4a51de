"""The monthly roll-up (月报): a row per region a level below the one reporting (townships
for a county, villages for a township), the sheet sent upward by the report day."""

import datetime

import xlsxwriter
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

# The first column names the rows' level, by the digits of their codes.
UNITS = {
    4: gettext_noop("市（州）"),
    6: gettext_noop("县（市、区）"),
    9: gettext_noop("乡镇（街道）"),
    12: gettext_noop("村（社区）"),
}

COLUMNS = [
    ("name", "区划"),
    ("households", "在册户数"),
    ("difficulty", "登记困难群众户数"),
    ("visited", "本月走访户数"),
    ("visits", "本月走访户次"),
    ("needs", "本月发现诉求数"),
]


def rollup_xlsx(
    target, *, campaign, month: datetime.date, rows: list[dict], region=None, digits: int = 9
) -> None:
    """``digits``: those of the rows' codes (9: townships, 12: villages), for the first column."""
    book = xlsxwriter.Workbook(target, {"in_memory": True})
    sheet = book.add_worksheet(_("月报"))
    title = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    head = book.add_format({"bold": True, "border": 1, "bg_color": "#F2F2F2", "align": "center"})
    cell = book.add_format({"border": 1})
    number = book.add_format({"border": 1, "num_format": "0"})
    total_fmt = book.add_format({"border": 1, "bold": True, "num_format": "0"})
    width = len(COLUMNS) - 1
    sheet.merge_range(
        0,
        0,
        0,
        width,
        _("%(campaign)s %(month)s 走访情况月报")
        % {"campaign": campaign.name, "month": f"{month:%Y年%m月}"},
        title,
    )
    sheet.merge_range(
        1,
        0,
        1,
        width,
        _("填报单位：%(region)s　报送截止：每月 %(day)d 日")
        % {"region": region.short_name if region else "", "day": campaign.report_day},
    )
    for col, (_key, label) in enumerate(COLUMNS):
        sheet.write(2, col, _(UNITS.get(digits, label) if col == 0 else label), head)
        sheet.set_column(col, col, 18 if col == 0 else 14)
    for r, row in enumerate(rows, start=3):
        sheet.write(r, 0, row["name"], cell)
        for col, (key, _label) in enumerate(COLUMNS[1:], start=1):
            sheet.write_number(r, col, row.get(key, 0), number)
    last = 3 + len(rows)
    sheet.write(last, 0, _("合计"), total_fmt)
    for col, (key, _label) in enumerate(COLUMNS[1:], start=1):
        sheet.write_number(last, col, sum(row.get(key, 0) for row in rows), total_fmt)
    sheet.freeze_panes(3, 1)
    book.close()
