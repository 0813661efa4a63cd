"""Read model ``audit_trail``: one row per event, with a one-line summary in Chinese and English.

A summary is made of the event's unsealed fields only: text sealed under the complaint's key
(reasons, notes, findings…) is never copied here, not even from events written before it was
sealed, so an erasure leaves nothing to drop and a rebuild nothing to bring back
(docs/read-models.md). Read it with ``show`` or ``history``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ledger.domain.events import Coverage, entry_of
from ledger.domain.readiness import READINESS_BOOK_ID, READINESS_REF
from ledger.domain.staff import STAFF_DIRECTORY_ID, STAFF_REF
from ledger.integrity.sealbook import SEAL_BOOK_ID, SEAL_BOOK_REF
from ledger.store.books import CALENDAR_BOOK_ID, CALENDAR_BOOK_REF, POLICY_BOOK_ID, POLICY_BOOK_REF
from projections.cases import Rules
from projections.db import Cursor

AUDIT_COLUMNS = ("position", "ref", "version", "action", "actor_id", "actor_role", "occurred_at",
                 "recorded_at", "summary_zh", "summary_en", "backdated",
                 "actor_method")  # fmt: skip

CHANNELS_ZH = {
    "phone": "电话", "email": "邮件", "sms": "短信", "online_chat": "在线客服", "letter": "信函",
    "visit": "来访", "regulator_referral": "监管转办", "web": "网页",
}  # fmt: skip
SEVERITY_ZH = {"normal": "一般", "urgent": "紧急", "major": "重大"}
SUBSTANTIATED_ZH = {"yes": "属实", "partly": "部分属实", "no": "不属实"}
EVIDENCE_ZH = {"recording": "录音", "document": "文件", "screenshot": "截图"}

Summary = Callable[[Any], tuple[str, str]]
SHANGHAI = ZoneInfo("Asia/Shanghai")  # improvement deadlines are set in Shanghai time


def _opened(event: Any) -> tuple[str, str]:
    return "建立登记簿", "Register opened"


def _plain(reason: Any, zh: str, en: str) -> tuple[str, str]:
    """A reason only when it is the ledger's own words (plain ``str``); sealed ones are left out."""
    return ("", "") if not isinstance(reason, str) else (f"{zh}{reason}", f"{en}{reason}")


def _business_zh(e: Any) -> str:
    """The regulator's business type and channel a triage or closure gave (events stored
    before them read None)."""
    return ("" if e.business_type is None else f"，业务类别：{e.business_type}") + (
        "" if e.business_channel is None else f"，业务办理渠道：{e.business_channel}"
    )


def _business_en(e: Any) -> str:
    return ("" if e.business_type is None else f", business type {e.business_type}") + (
        "" if e.business_channel is None else f", business channel {e.business_channel}"
    )


def _with_reason(zh: str, en: str) -> Summary:
    def summary(e: Any) -> tuple[str, str]:
        said_zh, said_en = _plain(e.reason, "：", ": ")
        return zh + said_zh, en + said_en

    return summary


def _due(moment: datetime) -> str:
    """A deadline in Shanghai time; one at local midnight as the last second of the day before
    (as ``sla`` shows deadlines)."""
    local = moment.astimezone(SHANGHAI)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        local -= timedelta(seconds=1)
    return f"{local:%Y-%m-%d %H:%M:%S} +08:00"


# By the event's registered name (ledger.domain.events).
SUMMARIES: dict[str, Summary] = {
    "Complaint.EscalationAddressed": lambda e: (
        f"升级至 {e.to}" + ("（舆情）" if e.public_attention else ""),
        f"Escalated to {e.to}" + (" (public attention)" if e.public_attention else ""),
    ),
    "Complaint.AgencyNamed": lambda e: (f"外包机构：{e.agency}", f"Agency: {e.agency}"),
    # The measure itself is sealed: only its number, owner and deadline are summarised.
    "Complaint.ImprovementAdded": lambda e: (
        f"新增整改措施 {e.improvement_id}，责任人 {e.owner}，期限 {_due(e.due)}",
        f"Improvement {e.improvement_id} added, owner {e.owner}, due {_due(e.due)}",
    ),
    "Complaint.ImprovementCompleted": lambda e: (
        f"整改措施 {e.improvement_id} 已完成",
        f"Improvement {e.improvement_id} done",
    ),
    # The reason is sealed: the summary names the other complaint only.
    "Complaint.ComplaintLinked": lambda e: (f"关联投诉 {e.other}", f"Linked to {e.other}"),
    "Complaint.EscalationAcknowledged": lambda e: ("领导小组已确认升级", "Escalation acknowledged"),
    "Complaint.LeadershipInstructed": lambda e: ("领导批示", "Leadership instruction"),
    "Complaint.SignedOff": lambda e: ("领导小组已审签处理结果", "Result signed off"),
    "Complaint.RegulatorReplied": lambda e: ("已答复监管转办", "Replied to the regulator"),
    "Complaint.AccountabilityRecorded": lambda e: (
        f"责任追究：{e.staff}",
        f"Accountability recorded: {e.staff}",
    ),
    # The file's name and where it is kept are sealed; the hash and size prove it.
    "Complaint.EvidenceAttached": lambda e: (
        f"附加证据（{EVIDENCE_ZH.get(str(e.kind), str(e.kind))}）：sha256 {e.sha256[:12]}，"
        f"{e.size} 字节",
        f"Evidence attached ({e.kind}): sha256 {e.sha256[:12]}, {e.size} bytes",
    ),
    "Complaint.CallbackNotReached": lambda e: ("回访未联系上", "Callback: not reached"),
    **dict.fromkeys(
        (
            "PolicyBook.Opened",
            "CalendarBook.Opened",
            "SealBook.Opened",
            "StaffDirectory.Opened",
            "ReadinessBook.Opened",
        ),
        _opened,
    ),
    "Complaint.Received": lambda e: (
        f"受理投诉（{CHANNELS_ZH.get(str(e.channel), str(e.channel))}），类别：{e.category}",
        f"Complaint received by {e.channel}, category {e.category}",
    ),
    "Complaint.Triaged": lambda e: (
        f"初步判断：{SEVERITY_ZH.get(str(e.severity), str(e.severity))}，类别：{e.category}"
        + ("" if e.cause is None else f"，原因代码：{e.cause}")
        + _business_zh(e),
        f"Triaged as {e.severity}, category {e.category}"
        + ("" if e.cause is None else f", cause {e.cause}")
        + _business_en(e),
    ),
    "Complaint.Escalated": _with_reason("上报应急领导小组", "Escalated to leadership"),
    "Complaint.Assigned": lambda e: (
        f"分派给{e.team}的{e.handler}",
        f"Assigned to {e.handler} ({e.team})",
    ),
    "Complaint.CustomerContacted": lambda e: (
        f"联系客户（{CHANNELS_ZH.get(str(e.channel), str(e.channel))}）"
        + ("，已联系上" if e.reached else "，未联系上"),
        f"Customer contacted by {e.channel}, " + ("reached" if e.reached else "not reached"),
    ),
    "Complaint.FindingsRecorded": lambda e: (
        f"调查核实完成，投诉{SUBSTANTIATED_ZH.get(str(e.substantiated), '')}",
        f"Findings recorded: substantiated {e.substantiated}",
    ),
    "Complaint.ResolutionPlanned": lambda e: (
        "制定处理方案：" + "、".join(str(r.kind) for r in e.remedies),
        "Resolution planned: " + ", ".join(str(r.kind) for r in e.remedies),
    ),
    "Complaint.ResolutionExecuted": lambda e: ("处理方案已执行", "Resolution executed"),
    "Complaint.OutcomeCommunicated": lambda e: (
        "已向客户反馈处理结果",
        "Outcome communicated to the complainant",
    ),
    "Complaint.CallbackRecorded": lambda e: (
        f"回访：满意度 {e.satisfaction}/5",
        f"Callback: satisfaction {e.satisfaction}/5",
    ),
    "Complaint.Closed": lambda e: (
        "投诉办结" + ("" if e.cause is None else f"，原因代码：{e.cause}") + _business_zh(e),
        "Complaint closed" + ("" if e.cause is None else f", cause {e.cause}") + _business_en(e),
    ),
    "Complaint.Reopened": _with_reason("重新处理", "Reopened"),
    "Complaint.Withdrawn": _with_reason("客户撤诉", "Withdrawn by the complainant"),
    "Complaint.DeadlineExtended": lambda e: (
        f"{e.clock} 时限延长 {e.days} 天（批准人：{e.approved_by}）",
        f"{e.clock} deadline extended by {e.days} days (approved by {e.approved_by})",
    ),
    "Complaint.ClocksRestarted": lambda e: (
        "重新计时：" + "、".join(map(str, e.clocks)),
        "Clocks restarted: " + ", ".join(map(str, e.clocks)),
    ),
    "Complaint.OccurrenceCorrected": lambda e: (
        f"更正第 {e.event} 条记录的发生时间：{e.previous_occurred_at.isoformat()} → "
        f"{e.corrected_occurred_at.isoformat()}（批准人：{e.approved_by}）",
        f"Event {e.event} re-dated from {e.previous_occurred_at.isoformat()} to "
        f"{e.corrected_occurred_at.isoformat()} (approved by {e.approved_by})",
    ),
    "Complaint.ClocksPaused": _with_reason("等待客户，计时暂停", "Clocks paused"),
    "Complaint.ClocksResumed": _with_reason("恢复计时", "Clocks resumed"),
    "Complaint.NoteAdded": lambda e: ("添加备注", "Note added"),
    "PolicyBook.PolicyPublished": lambda e: (
        f"发布时限政策 {e.version}" + (f"（演练 {e.drill} 后修订）" if e.drill else ""),
        f"SLA policy {e.version} published"
        + (f" (revised after drill {e.drill})" if e.drill else ""),
    ),
    "ReadinessBook.TrainingRecorded": lambda e: (
        f"培训 {e.training_id}（{e.held_on}），参训 {len(e.attendees)} 人",
        f"Training {e.training_id} on {e.held_on}: {len(e.attendees)} attended",
    ),
    "ReadinessBook.DrillCompleted": lambda e: (
        f"演练 {e.drill_id} 完成（预案 {e.policy_version}），得分 {e.score}",
        f"Drill {e.drill_id} completed against policy {e.policy_version}: score {e.score}",
    ),
    "PolicyBook.CodesPublished": lambda e: (
        f"发布投诉分类代码 {e.version}",
        f"Code list {e.version} published",
    ),
    "Complaint.PersonalDataErased": lambda e: (
        f"删除投诉人个人信息：{e.reason}",
        f"Personal data erased: {e.reason}",
    ),
    "Complaint.AlertSent": lambda e: (
        f"已发送提醒（{e.rule}，{e.clock}）给 {e.recipient}，渠道 {e.channel}：{e.address}",
        f"Alert {e.rule} ({e.clock}) sent to {e.recipient} by {e.channel}: {e.address}",
    ),
    "Complaint.AlertFailed": lambda e: (
        f"提醒发送失败（{e.rule}，{e.clock}）给 {e.recipient}，渠道 {e.channel}，"
        f"尝试 {e.attempts} 次：{e.error}",
        f"Alert {e.rule} ({e.clock}) to {e.recipient} by {e.channel} failed after "
        f"{e.attempts} tries: {e.error}",
    ),
    "SealBook.LedgerSealed": lambda e: (
        f"账本封存至第 {e.position} 条",
        f"Ledger sealed up to position {e.position}",
    ),
    "CalendarBook.CalendarPublished": lambda e: (
        f"发布 {e.year} 年工作日历",
        f"Calendar for {e.year} published",
    ),
    "StaffDirectory.MemberAdded": lambda e: (
        f"新增工作人员 {e.staff_id}（{e.unit}），角色：{'、'.join(e.roles)}",
        f"Staff member {e.staff_id} added ({e.unit}) as {', '.join(e.roles)}",
    ),
    "StaffDirectory.RoleGranted": lambda e: (
        f"授予 {e.staff_id} 角色 {e.role}",
        f"Role {e.role} granted to {e.staff_id}",
    ),
    "StaffDirectory.RoleRevoked": lambda e: (
        f"撤销 {e.staff_id} 的角色 {e.role}",
        f"Role {e.role} revoked from {e.staff_id}",
    ),
    "StaffDirectory.TokenIssued": lambda e: (
        f"为 {e.staff_id} 签发令牌 {e.token_hash[:12]}",
        f"Token {e.token_hash[:12]} issued to {e.staff_id}",
    ),
    "StaffDirectory.TokenRevoked": lambda e: (
        f"吊销 {e.staff_id} 的令牌 {'、'.join(e.token_ids)}",
        f"Token {', '.join(e.token_ids)} of {e.staff_id} revoked",
    ),
    "StaffDirectory.AuthenticationRequired": lambda e: (
        "要求身份认证后方可写入",
        "Authenticated writes required",
    ),
    "StaffDirectory.ServiceLoginAllowed": lambda e: (
        f"允许服务账号 {e.login} 代为操作",
        f"Service login {e.login} may act for staff",
    ),
}
COVERAGE = Coverage.of(
    "audit summaries (projections.audit)",
    ["Complaint", "StaffDirectory", "PolicyBook", "CalendarBook", "SealBook", "ReadinessBook"],
    handled=SUMMARIES,
)


def summarise(event: Any) -> tuple[str, str]:
    entry = entry_of(event)
    summary = SUMMARIES.get(entry.name)
    if summary is None:
        return entry.short, entry.short  # one this read model does not describe keeps its name
    return summary(event)


FIXED_STREAMS: dict[str, tuple[str, str | None]] = {  # the books: a reference of their own
    POLICY_BOOK_ID.hex: (POLICY_BOOK_REF, None),
    CALENDAR_BOOK_ID.hex: (CALENDAR_BOOK_REF, None),
    SEAL_BOOK_ID.hex: (SEAL_BOOK_REF, None),
    STAFF_DIRECTORY_ID.hex: (STAFF_REF, None),
    READINESS_BOOK_ID.hex: (READINESS_REF, None),
}


def _streams(cur: Cursor, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    found = dict(FIXED_STREAMS)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        cur.execute(
            f"SELECT stream_id, ref, policy_version FROM {{audit_streams}} "
            f"WHERE stream_id IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        found.update((r["stream_id"], (r["ref"], r["policy_version"])) for r in cur.fetchall())
    return found


def apply_events(cur: Cursor, events: Iterable[tuple[int, Any]], rules: Rules) -> None:
    """Add one audit row per event; ``events`` are (position, event) in log order."""
    batch = list(events)
    streams = _streams(cur, sorted({e.originator_id.hex for _, e in batch}))
    new_streams, rows = audit_rows(batch, rules, streams)
    cur.insert("audit_streams", ("stream_id", "ref", "policy_version"), new_streams)
    cur.insert("audit_trail", AUDIT_COLUMNS, rows)


# The events ``Rules.learn`` takes in; it passes over every other one.
_LEARNED = frozenset(("PolicyBook.CodesPublished", "PolicyBook.PolicyPublished",
                      "CalendarBook.CalendarPublished"))  # fmt: skip


def audit_rows(
    batch: list[tuple[int, Any]], rules: Rules, streams: dict[str, tuple[str, str | None]]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The audit rows of ``batch`` and the rows of the streams it starts (those not in
    ``streams``, which learns them): rows only, nothing read or written."""
    new_streams = []
    rows = []
    # Worked out again only when a publication changes the rules: by policy version, how
    # long after it happened an action may be recorded before it counts as backdated.
    policies = rules.policies
    backdated: dict[str | None, timedelta] = {}
    for position, event in batch:
        entry = entry_of(event)
        if entry.cls.__qualname__ in _LEARNED:
            rules.learn(event)
            policies, backdated = rules.policies, {}
        stream = event.originator_id.hex
        if stream not in streams:
            ref = str(getattr(event, "ref", stream))
            streams[stream] = (ref, getattr(event, "policy_version", None))
            new_streams.append((stream, *streams[stream]))
        ref, version = streams[stream]
        after = backdated.get(version)
        if after is None:
            policy = policies.get(version or "", None) or policies["default-2026.1"]
            after = backdated[version] = timedelta(hours=policy.backdated_after_hours)
        occurred = getattr(event, "occurred_at", None)
        timestamp = event.timestamp
        late = occurred is not None and timestamp - occurred > after
        actor = getattr(event, "actor", None)
        summary = SUMMARIES.get(entry.name)
        zh, en = (entry.short, entry.short) if summary is None else summary(event)
        rows.append(
            (position, ref, event.originator_version, type(event).__name__,
             getattr(actor, "id", None), None if actor is None else str(actor.role),
             None if occurred is None else _stamped(occurred), _stamped(timestamp), zh, en,
             int(late), None if actor is None else str(actor.method))
        )  # fmt: skip
    return new_streams, rows


def _stamped(moment: datetime) -> str:
    """``stamp(moment)`` of a time that is not None."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")
