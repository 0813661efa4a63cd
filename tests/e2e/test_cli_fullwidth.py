"""Full-width identifiers (what Chinese input methods type) and the blind index, through the
command line on SQLite and PostgreSQL: a complainant recorded with one form is found from a
complaint recorded with the other, and index rows an earlier release filed for full-width
values are filed again by ``index backfill``."""

from __future__ import annotations

import hashlib
import hmac
import re

from tests.e2e.test_cli_repeats import CS, receive, same, sql
from tests.helpers import jsonl, run

FULL_PHONE = "＋８６\u3000１３８－１２３４－５６７８"  # the space is U+3000
FULL_ID = "11010519491231002\uff38"  # the check character typed full-width
FULL_ACCOUNT = "\uff2c\uff2e\u2014\uff12\uff10\uff12\uff16\u2015\uff10\uff10\uff14\uff12"


def full_and_plain(url: str) -> None:
    """TS-F was recorded with full-width identifiers through ``receive``, TS-P with the
    plain forms through JSON Lines; TS-O is somebody else."""
    received = run(url, "receive", "--ref", "TS-F", "--channel", "phone",
                   "--received-at", "2026-09-20T10:00:00+08:00", "--phone", FULL_PHONE,
                   "--id-number", FULL_ID, "--account-ref", FULL_ACCOUNT,
                   "--content", "来电投诉", "--category", "harassment",
                   "--occurred-at", "2026-09-20T10:05:00+08:00", *CS)  # fmt: skip
    assert received.exit_code == 0, received.output
    commands = [
        receive("TS-P", 21, "LN-2026-0042", phone="138-1234-5678", id_number="11010519491231002X"),
        receive("TS-O", 22, "LN-2026-0043", phone="13812345679"),
    ]
    assert run(url, "apply", "-", input=jsonl(commands)).exit_code == 0


def test_a_complainant_recorded_full_width_is_found_from_the_plain_form_and_back(
    ledger_url: str,
) -> None:
    full_and_plain(ledger_url)

    from_full = same(ledger_url, "TS-F")
    from_plain = same(ledger_url, "TS-P")

    assert from_full == [("TS-P", ["account_ref", "id_number", "phone"])]
    assert from_plain == [("TS-F", ["account_ref", "id_number", "phone"])]


def earlier_release_digest(secret: bytes, kind: str, value: str) -> str:
    """The digest the release before full-width normalisation filed: only ASCII dashes and
    whitespace stripped, ``+86`` of a phone, upper case for the others."""
    plain = re.sub(r"[\s\-]+", "", value)
    plain = plain.removeprefix("+86") if kind == "phone" else plain.upper()
    return hmac.new(secret, f"{kind}:{plain}".encode(), hashlib.sha256).hexdigest()


def test_the_backfill_files_again_the_rows_an_earlier_release_filed_for_full_width_values(
    ledger_url: str,
) -> None:
    full_and_plain(ledger_url)
    [(secret,)] = sql(ledger_url, "SELECT secret FROM {s}index_secret")
    for kind, value in (
        ("phone", FULL_PHONE),
        ("id_number", FULL_ID),
        ("account_ref", FULL_ACCOUNT),
    ):
        old = earlier_release_digest(bytes(secret), kind, value)
        sql(
            ledger_url,
            "UPDATE {s}complainant_index SET digest = ? WHERE ref = 'TS-F' AND kind = ?",
            (old, kind),
        )
    before = same(ledger_url, "TS-F")

    backfilled = run(ledger_url, "index", "backfill")
    again = run(ledger_url, "index", "backfill")

    assert before == []  # as an earlier release left it
    assert backfilled.exit_code == 0, backfilled.output
    assert backfilled.stdout == (
        "indexed 0 complaints (0 rows)\n"
        "re-indexed 1 complaints whose identifiers are now normalised differently\n"
    )
    assert again.stdout == "indexed 0 complaints (0 rows)\n"
    assert same(ledger_url, "TS-F") == [("TS-P", ["account_ref", "id_number", "phone"])]
