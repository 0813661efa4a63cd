"""The read models' tables, in one place: what a read command needs to name and create
them without loading the projections (and the policy, calendar and SLA engine they use).

``docs/read-models.md`` describes them column by column.
"""

from __future__ import annotations

from datetime import UTC, datetime

CASES = {
    "case_state": """CREATE TABLE IF NOT EXISTS {case_state} (
        ref TEXT PRIMARY KEY, status TEXT NOT NULL, stage TEXT NOT NULL, channel TEXT NOT NULL,
        category TEXT NOT NULL, severity TEXT, handler TEXT, team TEXT, collector TEXT,
        received_at TEXT NOT NULL, month TEXT NOT NULL, last_activity_at TEXT NOT NULL,
        escalated INTEGER NOT NULL, reopened_count INTEGER NOT NULL, remedies TEXT NOT NULL,
        refund_total TEXT NOT NULL, satisfaction INTEGER, policy_version TEXT NOT NULL,
        closed_at TEXT, withdrawn_at TEXT, handling_seconds BIGINT, version INTEGER NOT NULL,
        escalated_to TEXT, acknowledged INTEGER, public_attention INTEGER,
        instructions INTEGER, signed_off INTEGER, accountability TEXT, agency TEXT,
        cause_code TEXT, regulator_cause_code TEXT, codes_version TEXT,
        improvements INTEGER, improvements_open INTEGER, evidence_files INTEGER,
        regulator_business_type TEXT, regulator_business_channel TEXT)""",
    "sla_clocks": """CREATE TABLE IF NOT EXISTS {sla_clocks} (
        ref TEXT NOT NULL, clock TEXT NOT NULL, started_at TEXT NOT NULL, due_at TEXT NOT NULL,
        risk_at TEXT NOT NULL, met_at TEXT, late_seconds BIGINT, cancelled INTEGER NOT NULL,
        estimated INTEGER NOT NULL, received_at TEXT NOT NULL, team TEXT, handler TEXT,
        channel TEXT NOT NULL, ended_at TEXT, fixed_from TEXT,
        recorded_after_due INTEGER NOT NULL, changes TEXT, late_business_seconds BIGINT,
        schedule TEXT, PRIMARY KEY (ref, clock))""",
    "case_folds": """CREATE TABLE IF NOT EXISTS {case_folds} (
        case_id TEXT PRIMARY KEY, state TEXT NOT NULL)""",
    # The policies and calendars the clocks above were worked out by: the query side builds
    # its rulebook from them, as a login that may not read the log (ledger_reader) must. And
    # the code lists, which that login's codes list and codes show read; and, for a policy,
    # its line of policy list (``entry``), which that login's policy list reads.
    "publications": """CREATE TABLE IF NOT EXISTS {publications} (
        label TEXT PRIMARY KEY, recorded_at TEXT NOT NULL, kind TEXT NOT NULL,
        effective_from TEXT, document TEXT NOT NULL, entry TEXT)""",
    # Breaches and running clocks counted per clock, team, channel and the day they count from
    # (``projections.tally``): the SLA summary reads groups, not clocks.
    "sla_tally": """CREATE TABLE IF NOT EXISTS {sla_tally} (
        rank INTEGER NOT NULL, clock TEXT NOT NULL, team TEXT NOT NULL,
        unassigned INTEGER NOT NULL, channel TEXT NOT NULL, day TEXT NOT NULL,
        n BIGINT NOT NULL, PRIMARY KEY (rank, clock, team, unassigned, channel, day))""",
    "statistics_dirty": """CREATE TABLE IF NOT EXISTS {statistics_dirty} (
        month TEXT NOT NULL, channel TEXT NOT NULL, category TEXT NOT NULL,
        severity TEXT NOT NULL, PRIMARY KEY (month, channel, category, severity))""",
}
CASES_INDEXES = [
    ("sla_clocks", "due_at"),
    ("sla_clocks", "received_at"),
    ("case_state", "received_at"),
    ("case_state", "regulator_cause_code"),
    ("case_state", "regulator_business_type"),
    ("case_state", "regulator_business_channel"),
    # The paged SLA report and its summary (``projections.sla_pages``): each status read in
    # its own order from an index, so a page is a walk of 100 entries, and the summary counts
    # only the reported clocks. Breaches, worst first ({C}: text by code point on PostgreSQL);
    # clocks still open, by deadline (overdue and at risk as of T: ``due_at < T`` on this
    # index, not every clock ever met); clocks met or ended after a moment; clocks whose
    # stored deadline is not yet exact; clocks met thanks to a late entry.
    ("sla_clocks", "late_seconds DESC, ref{C}, clock{C} WHERE late_seconds > 0"),
    ("sla_clocks", "due_at{C}, ref{C}, clock{C} WHERE met_at IS NULL AND ended_at IS NULL"),
    ("sla_clocks", "met_at"),
    ("sla_clocks", "ended_at"),
    ("sla_clocks", "fixed_from"),
    ("sla_clocks", "met_at, clock WHERE recorded_after_due = 1"),
    # The open clocks at risk as of T (``risk_at <= T <= due_at``), their warning moment in
    # the index beside the deadline: only the clocks at risk are read from the table, not
    # every open clock due after T. Read models built before it are read without it.
    ("sla_clocks", "due_at{C}, risk_at WHERE met_at IS NULL AND ended_at IS NULL"),
    # The summary's breaches counted on the as-of day itself (``projections.tally``): the
    # clocks started or at risk that day up to the moment, beside the other moments above.
    ("sla_clocks", "started_at"),
    ("sla_clocks", "risk_at"),
    # The tally's emptied groups, deleted after each batch without a walk of the tally.
    ("sla_tally", "n"),
    ("sla_tally", "day"),
]
# The shape of the case read models (tables and folds): a runner that finds read models of
# an older shape rebuilds them before it applies anything (``Runner.catch_up_all``), and the
# query side refuses to read them until then. 3: sla_clocks counts business hours
# (late_business_seconds, schedule; risk_at in business time), and folds keep action times
# in UTC (earlier folds kept each action's own offset). 4: the publications the clocks were
# worked out by are kept in ``publications``. 5: the escalation loop (issue 15): case_state's
# escalated_to, acknowledged, public_attention, instructions, signed_off, accountability and
# agency, folds with the escalation and acknowledgement facts, the acknowledgement clock in
# sla_clocks. 6 (issue 15): cause codes — case_state's cause_code, regulator_cause_code and
# codes_version, folds with the cause code given at triage or closure; improvement measures —
# case_state's improvements and improvements_open, folds with the improvements' facts, their
# clocks (improvement:<id>) in sla_clocks; the regulator-reply clock — folds with the referral
# and reply facts, the clock in sla_clocks; case_state's evidence_files, the number of files
# attached as evidence. 7: ``publications`` also holds the code lists (kind ``codes``), which
# codes list and codes show read for a login that may not read the log; and (issue 17)
# ``sla_tally``, the breaches and running clocks counted per clock, team, channel and day,
# and the indexes of sla_clocks' started_at and risk_at. 8: a policy's row of
# ``publications`` holds its line of policy list (``entry``: version, effective_from as
# published, reason, drill), which policy list reads for a login that may not read the log;
# read models of shape 7 are brought to it in place (``Runner._upgrade``), not rebuilt. 9: the
# regulator's business type and business channel a triage or closure gives (case_state's
# regulator_business_type and regulator_business_channel, folds with them). Rebuilt, not
# patched in place: a runner of an earlier release still following may have folded a triage
# that gave them, and which ones it did only the log can tell.
CASES_SHAPE = 9
SHAPE_KEY = "shape:cases"
# The shape of ``audit_trail``: 2 since its summaries leave out text sealed under the
# complaint's key (earlier rows copied reasons in plain; the upgrade rebuilds them away).
AUDIT_SHAPE = 2
AUDIT_SHAPE_KEY = "shape:audit_trail"
# Where each projection's position (and the shapes above) is kept.
POSITIONS = "projection_positions"
# The log's head for a login that may not read the log (sql/roles.sql creates it).
HEAD_FUNCTION = "complaint_ledger_head"

AUDIT = {
    "audit_trail": """CREATE TABLE IF NOT EXISTS {audit_trail} (
        position BIGINT PRIMARY KEY, ref TEXT NOT NULL, version INTEGER NOT NULL,
        action TEXT NOT NULL, actor_id TEXT, actor_role TEXT, occurred_at TEXT,
        recorded_at TEXT NOT NULL, summary_zh TEXT NOT NULL, summary_en TEXT NOT NULL,
        backdated INTEGER NOT NULL, actor_method TEXT)""",
    "audit_streams": """CREATE TABLE IF NOT EXISTS {audit_streams} (
        stream_id TEXT PRIMARY KEY, ref TEXT NOT NULL, policy_version TEXT)""",
}
AUDIT_INDEXES = [("audit_trail", "ref")]

CLOCKS = ("intake_record", "intake", "investigation", "plan", "execution", "summary", "regulatory")

STATISTICS = {
    "statistics": """CREATE TABLE IF NOT EXISTS {statistics} (
        month TEXT NOT NULL, channel TEXT NOT NULL, category TEXT NOT NULL,
        severity TEXT NOT NULL, received INTEGER NOT NULL, closed INTEGER NOT NULL,
        closed_on_time INTEGER NOT NULL, withdrawn INTEGER NOT NULL, escalated INTEGER NOT NULL,
        reopened INTEGER NOT NULL, """
    + ", ".join(f"breached_{c} INTEGER NOT NULL" for c in CLOCKS)
    + """, median_handling_hours DOUBLE PRECISION, remedies INTEGER NOT NULL,
        refunds INTEGER NOT NULL, refund_total TEXT NOT NULL,
        mean_satisfaction DOUBLE PRECISION, satisfaction_count INTEGER NOT NULL,
        PRIMARY KEY (month, channel, category, severity))""",
}
# A group's cases found by key: with an index on the month alone, each group read its whole
# month (1,680 groups x a month of cases, for a year of 100,000 complaints).
STATISTICS_INDEXES = [("case_state", "month, channel, category")]

DDL = {**CASES, **AUDIT, **STATISTICS}
# Columns added to a read model after ledgers had created it: added to their tables as found.
ADDED_COLUMNS = [
    ("audit_trail", "actor_method", "TEXT"),
    ("publications", "entry", "TEXT"),
    *(("case_state", column, kind) for column, kind in (
        ("escalated_to", "TEXT"), ("acknowledged", "INTEGER"), ("public_attention", "INTEGER"),
        ("instructions", "INTEGER"), ("signed_off", "INTEGER"), ("accountability", "TEXT"),
        ("agency", "TEXT"), ("cause_code", "TEXT"), ("regulator_cause_code", "TEXT"),
        ("codes_version", "TEXT"), ("improvements", "INTEGER"), ("improvements_open", "INTEGER"),
        ("evidence_files", "INTEGER"), ("regulator_business_type", "TEXT"),
        ("regulator_business_channel", "TEXT"),
    )),
]  # fmt: skip
INDEXES = [*CASES_INDEXES, *AUDIT_INDEXES, *STATISTICS_INDEXES]


def stamp(moment: datetime | None) -> str | None:
    """A time as the read models store it: fixed-width UTC ISO 8601 (text order = time order)."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")
