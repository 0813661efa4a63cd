"""``alerts follow`` running beside 32 concurrent API clients (real ``serve`` on uvicorn,
httpx clients in threads) sends each due alert once: the clients' commands and the alerter's
records race on the same complaints, and every alert is still delivered and recorded once."""

from __future__ import annotations

import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ledger.store.root import open_ledger
from tests.alert_receivers import hours_ago, smtp_server, staff_with_addresses
from tests.e2e.http_server import issue_token, serving
from tests.e2e.test_alerts_kill import TOLD, start_follow, wait_for

CLIENTS = 32
NOTES = 4  # follow-up commands per client after the receipt and the assignment


def work(base: str, tokens: dict[str, str], n: int, received: str) -> list[int]:
    """One client's commands: receive a complaint, assign it, add notes; their statuses."""
    import httpx

    ref = f"TS-C{n}"
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("li", "customer_service", {"command": "receive", "ref": ref, "channel": "phone",
                                    "received_at": received, "content": "夜间来电",
                                    "category": "harassment"}),
        ("wang", "handling_team", {"command": "assign", "ref": ref, "handler": "wang",
                                   "team": "处置一组"}),
        *[("li", "customer_service", {"command": "add_note", "ref": ref, "text": f"跟进 {i}"})
          for i in range(NOTES)],
    ]  # fmt: skip
    statuses = []
    for who, role, command in steps:
        headers = {"Authorization": f"Bearer {tokens[who]}", "X-Acting-Role": role}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            answer = client.post("/v1/commands", json=command)
        statuses.append(answer.status_code)
    return statuses


def alerts_recorded(url: str) -> Counter[tuple[str, str, str]]:
    found: Counter[tuple[str, str, str]] = Counter()
    with open_ledger(url) as ledger:
        for n in range(CLIENTS):
            if not ledger.has_complaint(f"TS-C{n}"):
                continue
            for e in ledger.complaint_events(f"TS-C{n}"):
                if type(e).__name__ in ("AlertSent", "AlertFailed"):
                    found[(e.command_id, type(e).__name__, e.recipient)] += 1  # type: ignore[attr-defined]
    return found


def test_alerts_follow_beside_32_api_clients_sends_each_due_alert_once(ledger_url: str) -> None:
    staff_with_addresses(ledger_url)
    tokens = {who: issue_token(ledger_url, who) for who in ("li", "wang")}
    received = hours_ago(2).isoformat()  # every intake clock is overdue at once
    expected = CLIENTS * len(TOLD)

    with smtp_server() as smtp, serving(ledger_url, follow=False) as base:
        follower = start_follow(ledger_url, smtp)
        try:
            with ThreadPoolExecutor(CLIENTS) as pool:
                statuses = list(pool.map(lambda n: work(base, tokens, n, received), range(CLIENTS)))
            wait_for(lambda: len(smtp.mails) >= expected, timeout=240)
            time.sleep(1.0)  # more passes: nothing more is sent
        finally:
            follower.send_signal(signal.SIGTERM)
            _, stderr = follower.communicate(timeout=60)
        mails = list(smtp.mails)

    assert {s for client in statuses for s in client} == {201}
    assert b"Traceback" not in stderr
    delivered = Counter((m.alert_id, m.to[0]) for m in mails)
    assert len(mails) == expected
    assert set(delivered.values()) == {1}
    assert Counter(to for _, to in delivered) == dict.fromkeys(TOLD, CLIENTS)
    records = alerts_recorded(ledger_url)
    assert len(records) == expected
    assert set(records.values()) == {1}
    assert {event for _, event, _ in records} == {"AlertSent"}
    assert {alert for alert, _, _ in records} == {alert for alert, _ in delivered}
