"""The console in a real Chromium against a real ``serve`` (uvicorn on 127.0.0.1), on both
backends: sign in, the dashboard, a figure to its list, the work queue, a case, an action
through a form onto the timeline; CSRF refusal; a role that may not act; the language switch.

The README's screenshots are taken by ``tests/e2e/console_screenshots.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.browser import chromium
from tests.e2e.console_ledger import console_ledger
from tests.e2e.http_server import Api, serving
from tests.helpers import event_count

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def console(ledger_url: str) -> Iterator[Api]:
    tokens = console_ledger(ledger_url)
    with serving(ledger_url) as base:
        served = Api(ledger_url, base, tokens)
        served.wait_fresh()
        yield served


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def sign_in(page: Page, api: Api, who: str, role: str = "") -> None:
    page.goto(f"{api.base}/console/")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.fill("#token", api.tokens[who])
    if role:
        page.select_option("#role", role)
    page.click("#sign-in")
    expect(page.locator("#who")).to_contain_text(who)


def test_a_handler_follows_a_figure_opens_a_case_and_records_an_action(
    console: Api, browser: Browser
) -> None:
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    page.goto(f"{console.base}/console/login")
    sign_in(page, console, "wang", "handling_team")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator('[data-figure="stage-intake"]')).to_have_text("1")
    expect(page.locator('[data-figure="clock-overdue"]')).not_to_have_text("0")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator("#lag")).to_contain_text("0")

    page.click('[data-figure="stage-intake"]')
    expect(page.locator("#cases tbody tr")).to_have_count(1)
    expect(page.locator("#cases")).to_contain_text("TS-R3")
    page.goto(f"{console.base}/console/")
    page.click('[data-figure="clock-overdue"]')
    expect(page.locator("#filters")).to_contain_text("clock_status = overdue")
    expect(page.locator("#cases")).to_contain_text("TS-R3")

    page.click("text=Work queue")
    expect(page.locator("#queue tbody tr")).to_have_count(1)  # the handling group's: TS-R2
    expect(page.locator("#queue")).to_contain_text("TS-R2")

    page.click("#queue >> text=TS-R2")
    expect(page.locator("#ref")).to_have_text("TS-R2")
    expect(page.locator("#clocks")).to_contain_text("regulatory")
    expect(page.locator("#remedies")).to_contain_text("apology")
    before = event_count(console.url)
    page.click("text=Add a note")
    note = page.locator('form[data-command="add_note"]')
    note.locator('textarea[name="text"]').fill("客户来电询问进展")
    note.locator("button").click()
    expect(page.locator("#done")).to_contain_text("add_note")
    added = page.locator('#timeline tr[data-event="NoteAdded"]')
    expect(added).to_have_count(1)
    expect(added).to_contain_text("wang (handling_team)")
    expect(added).to_contain_text("token")
    assert event_count(console.url) == before + 1

    for path in (
        "/console/reports/sla",
        "/console/reports/stats",
        "/console/reports/monthly?from=2026-09&to=2026-10",
    ):
        answer = page.goto(console.base + path)
        assert answer is not None
        assert answer.status == 200
    expect(page.locator("section.month-page")).to_have_count(1)  # only September had cases


def test_forms_need_the_csrf_token_and_a_role_that_may_act(console: Api, browser: Browser) -> None:
    page = browser.new_page(locale="en-US")
    sign_in(page, console, "wang", "handling_team")
    before = event_count(console.url)
    forged = page.request.post(
        f"{console.base}/console/cases/TS-R2/actions",
        form={"command": "add_note", "text": "forged"},
    )
    wrong = page.request.post(
        f"{console.base}/console/cases/TS-R2/actions",
        form={"command": "add_note", "text": "x", "csrf": "guess"},
    )
    assert (forged.status, wrong.status) == (403, 403)
    assert "CSRF" in forged.text()

    auditor = browser.new_page(locale="en-US")
    sign_in(auditor, console, "su")
    auditor.goto(f"{console.base}/console/cases/TS-R2")
    expect(auditor.locator("#no-actions")).to_be_visible()
    expect(auditor.locator("#actions form")).to_have_count(0)
    csrf = auditor.locator('input[name="csrf"]').first.get_attribute("value")
    refused = auditor.request.post(
        f"{console.base}/console/cases/TS-R2/actions",
        form={"command": "add_note", "text": "x", "csrf": csrf or ""},
    )
    assert refused.status == 403
    assert "may not add-note" in refused.text()
    assert event_count(console.url) == before


def test_the_language_follows_the_browser_and_the_switch(console: Api, browser: Browser) -> None:
    page = browser.new_page(locale="zh-CN")
    sign_in(page, console, "chen")
    expect(page.locator("h1")).to_have_text("总览")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Dashboard")
    page.click("text=Work queue")  # the choice sticks (a cookie)
    expect(page.locator("h1")).to_have_text("Work queue")
