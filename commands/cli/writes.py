"""One subcommand per command. Each builds the same JSON object ``apply`` takes and submits it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import click

from commands.cli.base import cli
from commands.cli.output import db_option, format_option, printable, to_json
from commands.handlers import Outcome, handle
from commands.models import parse_command
from ledger.store.root import open_ledger

F = TypeVar("F", bound=Callable[..., Any])


def write_options(fn: F) -> F:
    """Options every write takes: who, when, an optional command id, where, and how to answer."""
    for option in reversed(
        [
            click.option(
                "--actor", envvar="LEDGER_ACTOR", required=True, help="Actor id (env LEDGER_ACTOR)."
            ),
            click.option(
                "--role",
                envvar="LEDGER_ROLE",
                required=True,
                help="customer_service, handling_team or leadership (env LEDGER_ROLE).",
            ),
            click.option(
                "--occurred-at",
                metavar="TIME",
                help="When it happened, ISO 8601 with an offset (default: now).",
            ),
            click.option(
                "--command-id",
                metavar="ID",
                help="Idempotency key: resubmitting it appends nothing (default: a new UUID).",
            ),
            db_option,
            format_option("table", "json"),
        ]
    ):
        fn = option(fn)
    return fn


def business_options(overrides: str) -> Callable[[F], F]:
    """``--business-type`` and ``--business-channel``: the regulator's codes (JR/T 0169-2018),
    checked against the code list in force like ``--cause``; ``overrides`` ends their help."""

    def add(fn: F) -> F:
        fn = click.option(
            "--business-channel",
            metavar="CODE",
            help="The regulator's business channel (业务办理渠道): a code of the code list in "
            f"force (codes show{overrides}).",
        )(fn)
        return click.option(
            "--business-type",
            metavar="CODE",
            help="The regulator's business type (业务类别): a code of the code list in force "
            f"(codes show{overrides}).",
        )(fn)

    return add


def submit(action: str, ref: str | None, fields: dict[str, Any], opts: dict[str, Any]) -> None:
    outcome = run_command(action, ref, fields, opts)
    click.echo(to_json(outcome.as_dict()) if opts["fmt"] == "json" else describe(outcome))


def run_command(
    action: str, ref: str | None, fields: dict[str, Any], opts: dict[str, Any]
) -> Outcome:
    """Build the command the options describe (the object ``apply`` would take) and apply it."""
    data: dict[str, Any] = {
        "command": action,
        "command_id": opts["command_id"] or str(uuid.uuid4()),
        "actor": {"id": opts["actor"], "role": opts["role"]},
    }
    if ref is not None:
        data["ref"] = ref
    if opts["occurred_at"] is not None:
        data["occurred_at"] = opts["occurred_at"]
    data.update({k: v for k, v in fields.items() if v is not None and v != ()})
    command = parse_command(data)
    with open_ledger(opts["db"]) as ledger:
        return handle(ledger, command)


def describe(outcome: Outcome) -> str:
    line = f"{outcome.ref}: {', '.join(outcome.events)} (version {outcome.version})"
    if outcome.duplicate:
        line += f" — command {outcome.command_id} was already applied; nothing appended"
    return printable(line)


@cli.command()
@click.option("--ref", help="Case reference (default: the next TS-YYYYMMDD-NNNN).")
@click.option(
    "--channel", help="phone, email, sms, online_chat, letter, visit, web, regulator_referral."
)
@click.option(
    "--received-at", metavar="TIME", help="When the complaint arrived (ISO 8601 with offset)."
)
@click.option("--name", help="Complainant's name.")
@click.option("--phone", help="Complainant's phone.")
@click.option("--id-number", help="Complainant's ID number.")
@click.option("--address", help="Complainant's address.")
@click.option("--account-ref", help="The debtor's account or loan reference.")
@click.option("--collector", help="The collector or agency complained about.")
@click.option("--content", help="What the complainant says.")
@click.option("--category", help="Primary category, e.g. harassment.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option("--referral-number", help="The regulator's referral number (12378 referrals).")
@click.option("--agency", help="The outsourced collection agency complained about.")
@click.option(
    "--public-attention",
    is_flag=True,
    help="Media or public-opinion risk (舆情): escalates at once to the leadership group.",
)
@click.option(
    "--escalate-to",
    metavar="UNIT|STAFF",
    help="Who a public-attention escalation goes to (default leadership_group).",
)
@write_options
def receive(**o: Any) -> None:
    """Record a new complaint.

    \b
    Example:
      complaint-ledger receive --channel phone --received-at 2026-09-24T16:00+08:00 \\
        --name 张三 --content "催收员多次深夜来电" --category harassment --actor li --role \\
        customer_service
    """
    fields = {
        k: o[k]
        for k in (
            "channel",
            "received_at",
            "account_ref",
            "collector",
            "content",
            "category",
            "tags",
            "referral_number",
            "escalate_to",
            "agency",
        )
    }
    fields["public_attention"] = o["public_attention"] or None
    person = {k: o[k] for k in ("name", "phone", "id_number", "address") if o[k] is not None}
    fields["complainant"] = person or None
    submit("receive", o["ref"], fields, o)


@cli.command()
@click.argument("ref")
@click.option("--severity", help="normal, urgent or major (urgent and major escalate).")
@click.option("--category", help="Category after the initial judgment.")
@click.option("--assessment", help="The initial judgment.")
@click.option(
    "--escalate-to",
    metavar="UNIT|STAFF",
    help="Who the escalation goes to (starts the acknowledgement clock).",
)
@click.option(
    "--public-attention",
    is_flag=True,
    help="Media or public-opinion risk (舆情): escalates at once.",
)
@click.option("--agency", help="The outsourced collection agency, when found at triage.")
@click.option(
    "--cause", metavar="CODE", help="A cause code of the code list in force (codes list)."
)
@business_options("")
@write_options
def triage(ref: str, **o: Any) -> None:
    """Record the initial judgment.

    \b
    Example:
      complaint-ledger triage TS-1 --severity urgent --category harassment \\
        --assessment "涉嫌暴力催收" --cause C02 --business-type 03 --business-channel 04 \\
        --actor wang --role handling_team
    """
    fields = _pick(o, "severity", "category", "assessment", "escalate_to", "agency", "cause",
                   "business_type", "business_channel")  # fmt: skip
    submit("triage", ref, {**fields, "public_attention": o["public_attention"] or None}, o)


@cli.command()
@click.argument("ref")
@click.option("--reason", help="Why the leadership group must take it.")
@click.option(
    "--to",
    metavar="UNIT|STAFF",
    help="Who it goes to: a unit (leadership_group …) or a member; starts the "
    "acknowledgement clock.",
)
@click.option("--public-attention", is_flag=True, help="Media or public-opinion risk (舆情).")
@write_options
def escalate(ref: str, **o: Any) -> None:
    """Escalate to the leadership group (or the unit or member named by --to).

    \b
    Example:
      complaint-ledger escalate TS-1 --reason "媒体关注" --to leadership_group \
        --actor wang --role handling_team
    """
    fields = _pick(o, "reason", "to")
    submit("escalate", ref, {**fields, "public_attention": o["public_attention"] or None}, o)


@cli.command()
@click.argument("ref")
@click.option("--handler", help="Who handles the complaint.")
@click.option("--team", help="Which team.")
@write_options
def assign(ref: str, **o: Any) -> None:
    """Assign a handler and team.

    \b
    Example:
      complaint-ledger assign TS-1 --handler zhao --team 处置一组 --actor wang --role \\
        handling_team
    """
    submit("assign", ref, _pick(o, "handler", "team"), o)


@cli.command()
@click.argument("ref")
@click.option("--channel", help="phone, email, sms, online_chat, letter, visit or web.")
@click.option("--reached/--not-reached", default=None, help="Whether the complainant was reached.")
@click.option("--summary", help="What was said.")
@write_options
def contact(ref: str, **o: Any) -> None:
    """Record contact with the complainant.

    \b
    Example:
      complaint-ledger contact TS-1 --channel phone --reached --summary "已告知调查进展" \\
        --actor li --role customer_service
    """
    submit("contact", ref, _pick(o, "channel", "reached", "summary"), o)


@cli.command("record-findings")
@click.argument("ref")
@click.option("--substantiated", help="yes, partly or no.")
@click.option("--findings", help="The verified facts.")
@click.option("--evidence", multiple=True, help="Evidence id, e.g. a call recording (repeatable).")
@write_options
def record_findings(ref: str, **o: Any) -> None:
    """Record the investigation's findings.

    \b
    Example:
      complaint-ledger record-findings TS-1 --substantiated partly --findings "录音证实" \\
        --evidence REC-1 --actor wang --role handling_team
    """
    submit("record_findings", ref, _pick(o, "substantiated", "findings", "evidence"), o)


@cli.command()
@click.argument("ref")
@click.option(
    "--remedy",
    "remedies",
    multiple=True,
    metavar="KIND[:AMOUNT[:DETAIL]]",
    help="A remedy, e.g. refund:120.50:退还滞纳金 or apology (repeatable).",
)
@write_options
def plan(ref: str, **o: Any) -> None:
    """Set the resolution plan.

    \b
    Example:
      complaint-ledger plan TS-1 --remedy refund:120.50 --remedy apology --actor wang \\
        --role handling_team
    """
    remedies = []
    for text in o["remedies"]:
        kind, _, rest = text.partition(":")
        amount, _, detail = rest.partition(":")
        remedy = {"kind": kind, "amount": amount or None, "detail": detail or None}
        remedies.append({k: v for k, v in remedy.items() if v is not None})
    submit("plan", ref, {"remedies": remedies or None}, o)


@cli.command()
@click.argument("ref")
@click.option("--detail", help="What was done.")
@write_options
def execute(ref: str, **o: Any) -> None:
    """Record that the plan was carried out.

    \b
    Example:
      complaint-ledger execute TS-1 --detail "已退款" --actor wang --role handling_team
    """
    submit("execute", ref, _pick(o, "detail"), o)


@cli.command("notify-outcome")
@click.argument("ref")
@click.option("--channel", help="phone, email, sms, online_chat, letter, visit or web.")
@click.option("--summary", help="What the complainant was told.")
@write_options
def notify_outcome(ref: str, **o: Any) -> None:
    """Record that the outcome was told to the complainant.

    \b
    Example:
      complaint-ledger notify-outcome TS-1 --channel phone --summary "告知处理结果" --actor \\
        wang --role handling_team
    """
    submit("notify_outcome", ref, _pick(o, "channel", "summary"), o)


@cli.command("record-callback")
@click.argument("ref")
@click.option("--satisfaction", type=int, help="1 (very unhappy) to 5 (very satisfied).")
@click.option("--comment", help="What the complainant said.")
@click.option(
    "--not-reached",
    is_flag=True,
    help="The callback did not reach the complainant (no satisfaction to record).",
)
@write_options
def record_callback(ref: str, **o: Any) -> None:
    """Record the satisfaction callback (回访), or an attempt that did not reach the
    complainant; also after the complaint was closed.

    \b
    Example:
      complaint-ledger record-callback TS-1 --satisfaction 4 --actor li --role \\
        customer_service
      complaint-ledger record-callback TS-1 --not-reached --comment "无人接听" --actor li \\
        --role customer_service
    """
    fields = _pick(o, "satisfaction", "comment")
    if o["not_reached"]:
        fields["reached"] = False
    submit("record_callback", ref, fields, o)


@cli.command()
@click.argument("ref")
@click.option("--root-cause", help="Why it happened.")
@click.option("--improvement", help="What will change.")
@click.option(
    "--cause",
    metavar="CODE",
    help="A cause code of the code list in force (overrides the triage's).",
)
@business_options("; overrides the triage's")
@write_options
def close(ref: str, **o: Any) -> None:
    """Close the complaint.

    \b
    Example:
      complaint-ledger close TS-1 --root-cause "外包催收员违规" --improvement "加强培训" \\
        --cause C02 --business-channel 04 --actor wang --role handling_team
    """
    fields = _pick(o, "root_cause", "improvement", "cause", "business_type", "business_channel")
    submit("close", ref, fields, o)


@cli.command()
@click.argument("ref")
@click.option("--reason", help="Why the case is reopened.")
@write_options
def reopen(ref: str, **o: Any) -> None:
    """Reopen a closed complaint.

    \b
    Example:
      complaint-ledger reopen TS-1 --reason "客户不满意" --actor li --role customer_service
    """
    submit("reopen", ref, _pick(o, "reason"), o)


@cli.command()
@click.argument("ref")
@click.option("--reason", help="What the complainant said.")
@write_options
def withdraw(ref: str, **o: Any) -> None:
    """Record that the complainant withdrew.

    \b
    Example:
      complaint-ledger withdraw TS-1 --reason "客户撤诉" --actor li --role \\
        customer_service
    """
    submit("withdraw", ref, _pick(o, "reason"), o)


@cli.command()
@click.argument("ref")
@click.option("--clock", help="intake, investigation, plan, execution, summary or regulatory.")
@click.option("--days", type=int, help="By how many days (in the clock's unit).")
@click.option("--reason", help="Why.")
@click.option("--approved-by", help="The approving leader.")
@write_options
def extend(ref: str, **o: Any) -> None:
    """Extend a deadline (leadership only).

    \b
    Example:
      complaint-ledger extend TS-1 --clock regulatory --days 15 --reason "案情复杂" \\
        --approved-by chen --actor chen --role leadership
    """
    submit("extend", ref, _pick(o, "clock", "days", "reason", "approved_by"), o)


@cli.command()
@click.argument("ref")
@click.option("--event", type=int, metavar="N", help="The version of the action to re-date.")
@click.option(
    "--corrected-occurred-at",
    metavar="TIME",
    help="When that action really happened (--occurred-at is when this correction was made).",
)
@click.option("--reason", help="Why the recorded time was wrong.")
@click.option("--approved-by", help="The approving leader (the recording actor).")
@write_options
def correct(ref: str, **o: Any) -> None:
    """Re-date a recorded action the clocks are judged on (leadership only).

    The clocks then use the corrected time, and every verdict the correction changed is
    marked (before -> after) in sla and report sla. See docs/sla.md.

    \b
    Example:
      complaint-ledger correct TS-1 --event 5 --corrected-occurred-at 2026-09-25T09:00+08:00 \\
        --reason "录入时间有误" --approved-by chen --actor chen --role leadership
    """
    fields = _pick(o, "event", "corrected_occurred_at", "reason", "approved_by")
    submit("correct", ref, fields, o)


@cli.command()
@click.argument("ref")
@click.option("--reason", help="What the company is waiting for from the complainant.")
@write_options
def pause(ref: str, **o: Any) -> None:
    """Pause the plan's internal clocks while waiting on the complainant (if the policy allows).

    \b
    Example:
      complaint-ledger pause TS-1 --reason "等待客户提供还款凭证" --actor wang --role handling_team
    """
    submit("pause", ref, _pick(o, "reason"), o)


@cli.command()
@click.argument("ref")
@click.option("--reason", help="What arrived.")
@write_options
def resume(ref: str, **o: Any) -> None:
    """Resume the paused clocks.

    \b
    Example:
      complaint-ledger resume TS-1 --reason "客户已提供凭证" --actor wang --role handling_team
    """
    submit("resume", ref, _pick(o, "reason"), o)


@cli.command("add-note")
@click.argument("ref")
@click.option("--text", help="The note.")
@write_options
def add_note(ref: str, **o: Any) -> None:
    """Add a note.

    \b
    Example:
      complaint-ledger add-note TS-1 --text "客户要求书面答复" --actor li --role \\
        customer_service
    """
    submit("add_note", ref, _pick(o, "text"), o)


def _pick(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: options[name] for name in names}
