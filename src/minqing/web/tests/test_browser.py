from pathlib import Path

import pytest

from minqing.testing import PASSWORD, build_cast

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path("/tmp/minqing-home.png")


@pytest.mark.browser
def test_village_cadre_logs_in_on_a_phone_and_sees_their_village(
    live_server, flushable_db, monkeypatch
):
    # Missing Chromium is a broken test machine, not a reason to pass quietly.
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it to run the browser tests")
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls
    # from a thread with a running loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    build_cast()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            # A CSP violation or a missing script shows up as a console error.
            errors = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(live_server.url + "/accounts/login/")
            expect(page.get_by_role("heading", name="登录")).to_be_visible()

            page.get_by_label("用户名").fill("village")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()

            page.wait_for_url(live_server.url + "/")
            main = page.locator("main")
            expect(main).to_contain_text("陈立军")
            expect(main).to_contain_text("万全庄村")
            expect(main).to_contain_text("今日待办")
            expect(main).not_to_contain_text("双塔街道")
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # On a phone the nav folds behind 菜单 (pure CSS, no script needed); the user's
            # own links sit in the menu under their name.
            tokens_link = page.get_by_role("link", name="访问令牌")
            expect(tokens_link).to_be_hidden()
            page.get_by_text("菜单", exact=True).click()
            expect(tokens_link).to_be_hidden()
            page.locator("summary.who").click()
            expect(tokens_link).to_be_visible()
            page.keyboard.press("Escape")
            expect(tokens_link).to_be_hidden()
            assert errors == []
        finally:
            browser.close()
