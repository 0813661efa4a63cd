"""The US CFPB Consumer Complaint Database (CSV export) as complaint histories. Pure: no database.

Each row becomes the commands a handling team would have issued — receive, triage, and for a
final company response findings, plan, execute, notify-outcome and close — plus a note that keeps
the CFPB's own fields verbatim. The mapping, field by field, and why each synthesised step sits
where it does in time, is documented in docs/import-cfpb.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from commands.errors import describe_validation_error
from commands.importers.records import Record, Rejection, Row, read_records
from commands.models import MAX_CONTENT, MAX_TEXT, Command, parse_command

COLUMNS = (
    "Date received",
    "Product",
    "Sub-product",
    "Issue",
    "Sub-issue",
    "Consumer complaint narrative",
    "Company public response",
    "Company",
    "State",
    "ZIP code",
    "Tags",
    "Consumer consent provided?",
    "Submitted via",
    "Date sent to company",
    "Company response to consumer",
    "Timely response?",
    "Consumer disputed?",
    "Complaint ID",
)
ACTOR = {"id": "cfpb-import", "role": "handling_team"}
# The CFPB's dates are its business days in Washington, DC.
CFPB_TIME_ZONE = ZoneInfo("America/New_York")
# A company has 15 calendar days from the day the CFPB sent it a complaint to respond in time.
RESPONSE_DAYS = 15
MAX_TAG = 50

Step = Callable[..., dict[str, Any]]

CHANNELS = {
    "Web": "web",
    "Referral": "regulator_referral",
    "Web Referral": "regulator_referral",
    "Phone": "phone",
    "Postal mail": "letter",
    "Fax": "letter",
    "Email": "email",
}


@dataclass(frozen=True)
class Response:
    """How a final company response is recorded: our reading, not a CFPB finding."""

    substantiated: str
    remedy: dict[str, str]


RESPONSES: dict[str, Response | None] = {
    "Closed with explanation": Response(
        "no", {"kind": "explanation", "detail": "the company's explanation"}
    ),
    "Closed with monetary relief": Response(
        "partly", {"kind": "other", "detail": "monetary relief; the CFPB publishes no amount"}
    ),
    "Closed with non-monetary relief": Response(
        "partly", {"kind": "other", "detail": "non-monetary relief; the CFPB does not say which"}
    ),
    "Closed with relief": Response(
        "partly", {"kind": "other", "detail": "relief; the CFPB does not say of which kind"}
    ),
    "Closed without relief": Response("no", {"kind": "other", "detail": "closed without relief"}),
    "Closed": Response("no", {"kind": "other", "detail": "closed; no relief reported"}),
    # Not final: the complaint stays open.
    "In progress": None,
    "Untimely response": None,
    "": None,
}


class RowInvalid(ValueError):
    """A row whose values cannot be mapped; the message says which and why."""


@dataclass(frozen=True)
class FilteredOut:
    """A readable row of a product that was not asked for."""

    line: int


def read_rows(
    lines: Iterable[str], name: str, products: Collection[str] = ()
) -> Iterator[Row | Rejection | FilteredOut]:
    """Every row of a CFPB export, as validated commands or the reason it cannot be imported.

    ``products`` keeps only rows of those products (compared without regard to case).
    """
    wanted = {p.strip().casefold() for p in products}
    for item in read_records(lines, COLUMNS[0], COLUMNS, name):
        if isinstance(item, Rejection):
            yield item
        elif wanted and item.fields["Product"].strip().casefold() not in wanted:
            yield FilteredOut(item.line)
        else:
            yield _validated(item)


def _validated(record: Record) -> Row | Rejection:
    try:
        dicts = complaint_commands(record.fields)
        commands = tuple(_complaint_command(d) for d in dicts)
    except RowInvalid as e:
        return Rejection(record.line, str(e))
    except ValidationError as e:
        ref = f"CFPB-{record.fields['Complaint ID'].strip()}"
        return Rejection(record.line, f"{ref}: {describe_validation_error(e)}")
    return Row(record.line, commands[0].ref or "", commands)


def _complaint_command(data: dict[str, Any]) -> Command:
    command = parse_command(data)
    assert isinstance(command, Command)  # the mapping only writes commands on one complaint
    return command


def complaint_commands(fields: Mapping[str, str]) -> list[dict[str, Any]]:
    """The JSON Lines commands (see docs/commands.md) that record one CFPB row."""
    f = {column: fields[column].strip() for column in COLUMNS}
    number = f["Complaint ID"]
    if not number.isdigit():
        raise RowInvalid(f"Complaint ID {number!r} is not a number")
    ref = f"CFPB-{number}"
    received = _date(f, "Date received", ref)
    sent = _date(f, "Date sent to company", ref)
    if sent < received:
        raise RowInvalid(f"{ref}: Date sent to company {sent} is before Date received {received}")
    for column in ("Product", "Issue"):
        if not f[column]:
            raise RowInvalid(f"{ref}: {column} is empty")
    channel = _lookup(CHANNELS, f, "Submitted via", ref)
    response = _lookup(RESPONSES, f, "Company response to consumer", ref)
    timely = _lookup({"Yes": True, "No": False}, f, "Timely response?", ref)
    # The earliest moment the CFPB's dates and its timely flag allow (docs/import-cfpb.md).
    answered_at = _at(sent) if timely else _at(sent, RESPONSE_DAYS + 1)

    def step(command: str, key: str, occurred_at: str | None, **body: Any) -> dict[str, Any]:
        head = {"command": command, "command_id": f"cfpb-{number}-{key}", "ref": ref}
        timing = {} if occurred_at is None else {"occurred_at": occurred_at}
        return {**head, "actor": dict(ACTOR), **timing, **body}

    content, continued = _split_narrative(f["Consumer complaint narrative"])
    steps = [
        step(
            "receive",
            "receive",
            _at(received),
            channel=channel,
            received_at=_at(received),
            complainant=_complainant(f),
            collector=f["Company"] or None,
            content=content or _no_narrative(f),
            category=f["Product"],
            tags=_tags(f),
            referral_number=number,
        ),
        step(
            "triage",
            "triage",
            _at(sent),
            severity="normal",
            category=f["Issue"],
            assessment=_assessment(f, sent),
        ),
    ]
    if response is not None:
        steps += _response_steps(step, f, response, answered_at)
    for k, part in enumerate(continued, start=2):
        text = f"Narrative, continued ({k} of {len(continued) + 1}): {part}"
        steps.append(step("add_note", f"narrative-{k}", None, text=text))
    note = _record_note(f, sent, answered_at if response is not None else None)
    digest = hashlib.sha256(note.encode()).hexdigest()[:12]
    steps.append(step("add_note", f"note-{digest}", None, text=note))
    return steps


def _response_steps(
    step: Step, f: dict[str, str], response: Response, at: str
) -> list[dict[str, Any]]:
    answer = f["Company response to consumer"]
    public = f["Company public response"] or "none"
    return [
        step(
            "record_findings",
            "findings",
            at,
            substantiated=response.substantiated,
            findings=(
                f"The CFPB publishes no findings. Company response: {answer}; company public "
                f"response: {public}. Substantiated '{response.substantiated}' is the import's "
                "reading of the response type, not a finding of the CFPB."
            ),
        ),
        step("plan", "plan", at, remedies=[dict(response.remedy)]),
        step("execute", "execute", at, detail=f"The company reported to the CFPB: {answer}."),
        step(
            "notify_outcome",
            "notify-outcome",
            at,
            channel="web",
            summary=f"The company's response ({answer}) reached the consumer through the CFPB.",
        ),
        step(
            "close",
            "close",
            at,
            root_cause="not published by the CFPB",
            improvement="not published by the CFPB",
        ),
    ]


def _date(f: dict[str, str], column: str, ref: str) -> date:
    value = f[column]
    for pattern in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise RowInvalid(f"{ref}: {column} {value!r} is not a date (YYYY-MM-DD or MM/DD/YYYY)")


def _at(day: date, days_later: int = 0) -> str:
    """The start of a CFPB business day, as an ISO time with its offset."""
    return datetime.combine(day + timedelta(days=days_later), time(), CFPB_TIME_ZONE).isoformat()


def _lookup(table: Mapping[str, Any], f: dict[str, str], column: str, ref: str) -> Any:
    if f[column] not in table:
        known = ", ".join(repr(k) for k in table if k)
        raise RowInvalid(f"{ref}: {column} {f[column]!r} is not one of {known}")
    return table[f[column]]


def _complainant(f: dict[str, str]) -> dict[str, str]:
    address = " ".join(part for part in (f["State"], f["ZIP code"]) if part)
    return {"address": address} if address else {}


def _tags(f: dict[str, str]) -> list[str]:
    tags = [t.strip() for t in f["Tags"].split(",") if t.strip()]
    if f["Sub-product"] and len(f["Sub-product"]) <= MAX_TAG:
        tags.insert(0, f["Sub-product"])
    return list(dict.fromkeys(tags))


def _assessment(f: dict[str, str], sent: date) -> str:
    company = f["Company"] or "the company"
    return (
        f"The CFPB sent the complaint to {company} on {sent.isoformat()}. "
        f"Product: {f['Product']}; sub-product: {f['Sub-product'] or 'none'}; "
        f"issue: {f['Issue']}; sub-issue: {f['Sub-issue'] or 'none'}."
    )


def _no_narrative(f: dict[str, str]) -> str:
    sub_issue = f"; sub-issue: {f['Sub-issue']}" if f["Sub-issue"] else ""
    return f"The CFPB publishes no narrative for this complaint. Issue: {f['Issue']}{sub_issue}."


def _record_note(f: dict[str, str], sent: date, answered_at: str | None) -> str:
    def shown(column: str) -> str:
        return f[column] or "blank"

    note = (
        f"CFPB complaint {f['Complaint ID']}: submitted via {shown('Submitted via')}; sent to "
        f"the company on {sent.isoformat()}; company response: "
        f"{shown('Company response to consumer')}; timely response: {f['Timely response?']}; "
        f"company public response: {shown('Company public response')}; consumer disputed: "
        f"{shown('Consumer disputed?')}; consent to publish the narrative: "
        f"{shown('Consumer consent provided?')}."
    )
    if answered_at is not None:
        note += (
            " The CFPB publishes no date for the response: it is recorded at "
            f"{answered_at}, the earliest moment the CFPB's dates and timely flag allow."
        )
    return note


def _split_narrative(text: str) -> tuple[str, list[str]]:
    """The narrative as content (up to the content limit) and the rest in note-sized parts.

    Each cut falls on white space where there is some near the limit; that white space is
    dropped (fields are stripped), nothing else is.
    """
    first, rest = _cut(text, MAX_CONTENT)
    parts: list[str] = []
    # Room for the "Narrative, continued (k of n): " prefix of each note.
    while rest:
        part, rest = _cut(rest, MAX_TEXT - 60)
        parts.append(part)
    return first, parts


def _cut(text: str, limit: int) -> tuple[str, str]:
    text = text.strip()
    if len(text) <= limit:
        return text, ""
    at = next((i for i in range(limit, limit - 200, -1) if text[i].isspace()), limit)
    return text[:at].rstrip(), text[at:].strip()
