"""On a 390 px phone a `.table.stack` is a list of cards (app.css): the header row hides, so
every cell has to say what it is, by a data-label or by a class whose look says it (the row's
name, its village, a self-explaining fact, the row's actions), and the page must not scroll
sideways. Checked on the relief and cases pages, with rows in them."""

import datetime

import pytest
from django.utils import timezone

from minqing.cases import services as cases
from minqing.cases.models import CaseCategory, DeadlineRule
from minqing.cases.taxonomy import seed_taxonomy
from minqing.cases.tests.helpers import accepted_case, village_case
from minqing.relief import services as relief
from minqing.relief.tests.conftest import approved_list, build_village
from minqing.relief.tests.test_payments import PNG
from minqing.relief.tests.test_rebuild_and_hazards import _site
from minqing.testing import PASSWORD, build_cast
from minqing.web.tests.test_browser import CHROMIUM, CHROMIUM_ARGS

WIDTH = 390

# Each visible cell of a stacked table that says nothing of what it holds; a cell spanning
# the row (the empty message, 更多) is a line of its own and needs no label.
UNLABELLED = """() => [...document.querySelectorAll('.table.stack td')]
  .filter(td => td.getClientRects().length > 0)
  .filter(td => !td.hasAttribute('colspan') && !td.hasAttribute('data-label'))
  .filter(td => !['title', 'village', 'relation', 'fact', 'row-actions']
    .some(c => td.classList.contains(c)))
  .map(td => td.closest('table').querySelector('thead th:nth-child(' + (td.cellIndex + 1) + ')')
    ?.textContent + ': ' + td.textContent.trim())"""
ROWS = "document.querySelectorAll('.table.stack tbody td:not([colspan])').length"


def _login(browser, url, username):
    page = browser.new_context(viewport={"width": WIDTH, "height": 844}).new_page()
    page.goto(url + "/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(url + "/")
    return page


WIDEST_TABLE = "Math.max(...[...document.querySelectorAll('main table')].map(t => t.scrollWidth))"


@pytest.mark.browser
def test_stacked_tables_label_every_cell_and_fit_a_phone(live_server, flushable_db, monkeypatch):
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it to run the browser tests")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    cast = build_cast()
    if not DeadlineRule.objects.exists():  # emptied by an earlier transactional test
        seed_taxonomy(CaseCategory, DeadlineRule)
    village = build_village(cast)
    entitlement_list = approved_list(cast.admin, village.flood)
    relief.payment_handover(  # for the household page's 救助与发放 table
        actor=cast.village,
        entitlement=entitlement_list.entitlements.get(household=village.d, line__code="d_sand"),
        receiver="王大山",
        proof="thumbprint",
        photo=PNG,
        depot=village.depot,
    )
    project = relief.project_create(actor=cast.admin, household=village.d, kind="rebuild_in_place")
    relief.milestone_record(
        actor=cast.admin,
        project=project,
        stage="started",
        on=timezone.localdate() - datetime.timedelta(days=3),
    )
    _site(cast, village)
    supervised = village_case(cast)
    supervised = cases.case_assign(
        actor=cast.village,
        case=supervised,
        handler=cast.village,
        leader=cast.village,
        team=[cast.village],
    )
    cases.case_supervise(
        actor=cast.supervisor,
        case=supervised,
        note="月底前解决",
        until=timezone.localdate() + datetime.timedelta(days=20),
    )
    accepted_case(cast, text="申请维修村东头的桥")

    pages = {
        "admin": {
            f"/relief/lists/{entitlement_list.pk}/": "王大山",
            "/relief/hazards/": "万全庄村北坡滑坡",
            "/relief/rebuild/": "王大山",
            "/cases/": supervised.number,
            "/cases/board/": "月底前解决",
            f"/households/{village.d.pk}/": "救助与发放",
        },
        "village": {"/cases/mine/": supervised.number},
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            problems = {}
            for username, paths in pages.items():
                phone = _login(browser, live_server.url, username)
                for path, shown in paths.items():
                    phone.goto(live_server.url + path)
                    expect(phone.locator("main")).to_contain_text(shown)
                    assert phone.evaluate(ROWS) > 0, path
                    unlabelled = phone.evaluate(UNLABELLED)
                    width = phone.evaluate("document.documentElement.scrollWidth")
                    if path.startswith("/households/"):  # each table fits, not scrolled inside
                        width = max(width, phone.evaluate(WIDEST_TABLE))
                    if unlabelled or width > WIDTH:
                        problems[path] = {"unlabelled": unlabelled, "scroll_width": width}
            assert not problems, problems
        finally:
            browser.close()
