"""Done means: a cadre logs a visit on a 390 px wide phone screen, the draft survives a reload
on the way, and the county coverage page counts the visit at once."""

import datetime

import pytest
from django.utils import timezone

from minqing.households.people import PersonInput
from minqing.households.services import household_create
from minqing.lib.idcard import make_id_number
from minqing.outreach.models import Visit
from minqing.outreach.services import campaign_create, pairings_assign
from minqing.regions.models import Region
from minqing.testing import PASSWORD, WANQUANZHUANG, build_cast
from minqing.web.tests.test_browser import CHROMIUM, CHROMIUM_ARGS


def _login(page, url, username):
    page.goto(url + "/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(url + "/")


@pytest.mark.browser
def test_a_cadre_logs_a_visit_on_a_phone_and_the_county_counts_it(
    live_server, flushable_db, monkeypatch
):
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it to run the browser tests")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    cast = build_cast()
    today = timezone.localdate()
    household = household_create(
        actor=None,
        region=Region.objects.get(code=WANQUANZHUANG),
        address="万全庄村东街8号",
        head=PersonInput(
            name="王五", id_number=make_id_number("130681", datetime.date(1950, 1, 1), 8)
        ),
    )
    campaign = campaign_create(
        actor=cast.admin,
        name="暖冬行动",
        kind="warm_winter",
        start=today - datetime.timedelta(days=10),
        end=today + datetime.timedelta(days=30),
        regions=["130681"],
        rounds=2,
    )
    pairings_assign(
        actor=cast.admin,
        campaign=campaign,
        households=[household],
        cadre=cast.paired,
        start=campaign.start,
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            errors = []
            phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            phone.on("pageerror", lambda e: errors.append(str(e)))
            _login(phone, live_server.url, "paired")
            phone.goto(live_server.url + "/outreach/mine/")
            expect(phone.locator("main")).to_contain_text("王五")
            phone.get_by_role("link", name="开始走访").first.click()
            expect(phone.get_by_role("heading", name="走访 王五户")).to_be_visible()

            # The signal drops mid-form: what was typed survives a reload.
            phone.get_by_label("发现的问题").fill("取暖煤只够半个月")
            phone.get_by_label("生活").check()
            phone.reload()
            expect(phone.get_by_label("发现的问题")).to_have_value("取暖煤只够半个月")
            expect(phone.get_by_label("生活")).to_be_checked()
            expect(phone.get_by_text("已恢复未提交的草稿")).to_be_visible()

            # The form fits the screen: no sideways scrolling.
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width
            phone.get_by_label("群众诉求").fill("申请取暖补贴")
            phone.get_by_role("button", name="保存走访").click()
            phone.wait_for_url(live_server.url + "/outreach/visits/*/")
            expect(phone.locator("main")).to_contain_text("取暖煤只够半个月")
            expect(phone.locator("main")).to_contain_text("申请取暖补贴")
            assert errors == []
            # Saved: the draft is gone, a new visit starts empty.
            phone.goto(live_server.url + f"/outreach/{campaign.pk}/visit/{household.pk}/")
            expect(phone.get_by_label("发现的问题")).to_have_value("")

            desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            _login(desk, live_server.url, "admin")
            desk.goto(live_server.url + f"/outreach/{campaign.pk}/")
            expect(desk.locator('[data-figure="round-1"]')).to_have_text("1")
            expect(desk.locator('[data-figure="visits"]')).to_have_text("1")
            expect(desk.locator(".chart canvas")).to_have_count(1)
        finally:
            browser.close()
    assert Visit.objects.get().found == "取暖煤只够半个月"
