"""The README's screenshots of the console, taken in a real Chromium over the demo's ledger.

    .venv/bin/python -m tests.e2e.console_screenshots docs/screenshots

Runs ``complaint-ledger demo`` in a temporary directory (36 complaints, 6 to 27 November
2026), adds two members to its staff directory (a leader, and wu of the handling group, who
handles some of the demo's complaints), serves it and saves one PNG per page.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page

from tests.e2e.browser import chromium
from tests.e2e.http_server import Api, issue_token, serving
from tests.helpers import run

LEAD = ["--actor", "chen", "--role", "leadership"]
SINCE = ["--from", "2026-01-01T00:00:00+08:00"]


def demo_ledger(folder: Path) -> str:
    script = Path(sys.executable).parent / "complaint-ledger"
    subprocess.run([str(script), "demo"], cwd=folder, check=True, capture_output=True)
    url = f"sqlite:///{folder / 'demo.db'}"
    for staff_id, name, unit, role in (
        ("chen", "陈静", "leadership_group", "leadership"),
        ("wu", "吴强", "handling_group", "handling_team"),
    ):
        added = run(
            url,
            "staff",
            "add",
            staff_id,
            "--name",
            name,
            "--unit",
            unit,
            "--grant",
            role,
            *SINCE,
            *LEAD,
        )
        assert added.exit_code == 0, added.output
    assert run(url, "projections", "run").exit_code == 0
    return url


def save(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def main(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = demo_ledger(Path(tmp))
        tokens = {who: issue_token(url, who) for who in ("chen", "wu")}
        with serving(url) as base, chromium() as browser:
            api = Api(url, base, tokens)
            api.wait_fresh()
            for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
                page = browser.new_page(locale=locale, viewport={"width": 1280, "height": 860})
                page.goto(f"{base}/console/login")
                if lang == "en":
                    save(page, target, "login")
                page.fill("#token", tokens["wu"])
                page.click("#sign-in")
                page.wait_for_selector("#who")
                save(page, target, f"dashboard-{lang}")
                if lang == "zh":
                    continue
                page.goto(f"{base}/console/queue")
                save(page, target, "queue")
                ref = page.locator("#queue tbody tr a").first.inner_text()
                page.goto(f"{base}/console/cases?clock_status=breached")
                save(page, target, "cases")
                page.goto(f"{base}/console/cases/{ref}")
                page.click("text=Add a note")
                save(page, target, "case")
                page.goto(f"{base}/console/reports/sla?as_of=2026-11-27T18:00:00%2B08:00")
                save(page, target, "sla-report")
                page.goto(f"{base}/console/reports/monthly?from=2026-11&to=2026-11")
                page.emulate_media(media="print")
                save(page, target, "monthly-print")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
