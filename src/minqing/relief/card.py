"""The printed papers, in reportlab's built-in CJK font STSong-Light (no font file to ship;
PDF readers supply the glyphs): the 防灾避险明白卡, one household's card for one hazard site in
three copies (住户, 村（居）委会, 发卡单位), one A4 page each; and the 公示 notice sheet of a
relief list for the village board."""

import io

from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from minqing.households.models import Household
from minqing.regions.codes import pad
from minqing.regions.models import Region
from minqing.relief.models import HazardSite

FONT = "STSong-Light"
COPIES = ("第一联 住户留存", "第二联 村（居）委会留存", "第三联 发卡单位留存")


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def card_rows(site: HazardSite, household: Household, issuer: str) -> list[tuple[str, str, str]]:
    """(section, field, value) in the card's order; the PDF and the tests read the same."""
    dwelling = getattr(household, "dwelling", None)
    grade = dwelling.get_grade_display() if dwelling and dwelling.grade else "未鉴定"
    return [
        ("住户基本情况", "户主姓名", household.head_name),
        ("住户基本情况", "家庭人数", f"{household.member_count} 人"),
        ("住户基本情况", "家庭住址", household.address),
        ("住户基本情况", "房屋类别", grade),
        ("灾害基本情况", "隐患点", f"{site.code} {site.name}"),
        ("灾害基本情况", "灾害类型", site.get_kind_display()),
        ("灾害基本情况", "灾害规模", f"{site.get_scale_display()}（约 {site.volume_m3:,} 立方米）"),
        ("灾害基本情况", "威胁范围", site.danger_zone),
        ("灾害基本情况", "诱发因素", site.trigger),
        ("监测与预警", "监测人", site.monitor_name),
        ("监测与预警", "监测人电话", site.monitor_phone),
        ("监测与预警", "预警信号", site.warning_signal),
        ("监测与预警", "预警信号发布人", site.warning_by),
        ("监测与预警", "发布人电话", site.warning_phone),
        ("撤离与安置", "撤离路线", site.evacuation_route),
        ("撤离与安置", "避险场所", site.shelter),
        ("撤离与安置", "处置措施", site.get_decision_display()),
        ("发卡", "发卡单位", issuer),
        ("发卡", "发卡日期", f"{timezone.localdate():%Y年%m月%d日}"),
        ("发卡", "持卡人签字", ""),
    ]


def card_issuer(site: HazardSite) -> str:
    """The card is issued by the township government of the site."""
    township = Region.objects.filter(code=pad(site.region_id[:9])).first()
    return f"{township.short_name}人民政府" if township else ""


def card_pdf(site: HazardSite, household: Household, issuer: str = "") -> bytes:
    issuer = issuer or card_issuer(site)
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24, alignment=1)
    small = ParagraphStyle("small", fontName=font, fontSize=10, leading=14, alignment=2)
    cell = ParagraphStyle("cell", fontName=font, fontSize=11, leading=15)
    rows = card_rows(site, household, issuer)
    story = []
    for i, copy in enumerate(COPIES):
        if i:
            story.append(PageBreak())
        story += [
            Paragraph("地质灾害防灾避险明白卡", title),
            Spacer(1, 3 * mm),
            Paragraph(copy, small),
            Spacer(1, 4 * mm),
        ]
        data = [
            [Paragraph(s, cell), Paragraph(f, cell), Paragraph(v or "", cell)] for s, f, v in rows
        ]
        table = Table(data, colWidths=[32 * mm, 36 * mm, 102 * mm])
        style = [
            ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
        ]
        # Merge the section cells down their rows.
        start = 0
        for j in range(1, len(rows) + 1):
            if j == len(rows) or rows[j][0] != rows[start][0]:
                if j - 1 > start:
                    style.append(("SPAN", (0, start), (0, j - 1)))
                start = j
        table.setStyle(TableStyle(style))
        story.append(table)
        story += [
            Spacer(1, 6 * mm),
            Paragraph("注意：发现险情立即按撤离路线撤离，并报告监测人。本卡一式三联。", cell),
        ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, title="防灾避险明白卡", leftMargin=20 * mm, rightMargin=20 * mm
    )
    doc.build(story)
    return buffer.getvalue()


def notice_pdf(*, title: str, lines: list[str], rows: list[list[str]], footer: str) -> bytes:
    """The notice sheet: a title, the notice's terms, a table (序号, 村, 户主, 人口, 救助内容)
    repeated on every page, and the posting unit's line."""
    font = _font()
    heading = ParagraphStyle("heading", fontName=font, fontSize=16, leading=22, alignment=1)
    text = ParagraphStyle("text", fontName=font, fontSize=10.5, leading=15)
    cell = ParagraphStyle("cell", fontName=font, fontSize=10, leading=13)
    header = ["序号", "村（社区）", "户主", "家庭人口", "救助内容"]
    data = [[Paragraph(str(v), cell) for v in row] for row in [header, *rows]]
    table = Table(data, colWidths=[14 * mm, 30 * mm, 24 * mm, 18 * mm, 84 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story = [Paragraph(title, heading), Spacer(1, 4 * mm)]
    story += [Paragraph(line, text) for line in lines]
    story += [Spacer(1, 3 * mm), table, Spacer(1, 6 * mm), Paragraph(footer, text)]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer, pagesize=A4, title=title, leftMargin=15 * mm, rightMargin=15 * mm
    ).build(story)
    return buffer.getvalue()
