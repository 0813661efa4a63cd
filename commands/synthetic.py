"""Realistic synthetic complaint lifecycles, as the command objects ``apply`` takes.

Used by the demo (and by tests and benchmarks): several channels, Chinese
content, escalations, late stages, reopenings, extensions and withdrawals.
The same seed gives the same lifecycles.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from commands.synthetic_codes import give_causes
from ledger.store.evidence import stored_path

CONTENT = {
    "harassment": [
        "催收人员连续多日在晚上十点后打电话催款，严重影响休息。",
        "催收员上门堵门，在小区里大声喧哗，让我在邻居面前抬不起头。",
    ],
    "third_party_contact": [
        "催收方打电话给我的同事和领导，透露我的欠款情况。",
        "我的通讯录联系人都收到了催收短信，其中有我年迈的父母。",
    ],
    "abusive_language": [
        "电话里催收员辱骂我，还说要让我全家不得安宁。",
        "催收员言语威胁，称不还款就会上门找我孩子的学校。",
    ],
    "excessive_calls": [
        "一天之内接到二十多个催收电话，号码每次都不一样。",
        "已经约定了还款日期，但催收电话仍然每天不停。",
    ],
    "fees": [
        "催收通知里的违约金和滞纳金明显超过合同约定。",
        "已经还清欠款，却被要求再支付一笔“上门服务费”。",
    ],
    "debt_disputed": [
        "这笔贷款不是我本人办理的，却一直被催收。",
        "我已经提前结清，系统仍显示逾期并继续催收。",
    ],
    "impersonation": [
        "催收员自称是法院工作人员，说要冻结我的银行卡。",
        "对方冒充公安机关，发来伪造的“立案通知书”。",
    ],
}
CHANNELS = ["phone"] * 5 + ["online_chat"] * 2 + ["sms", "email", "letter", "visit"]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明"]
AGENCIES = ["信达催收外包一部", "华融委外团队", "诚信资产管理", "安和信息咨询", "自营催收二组"]
OUTSOURCED = frozenset(AGENCIES) - {"自营催收二组"}  # the in-house team is no agency
CUSTOMER_SERVICE = ["cs-liu", "cs-sun", "cs-zhou"]
HANDLERS = [("zhao", "处置一组"), ("qian", "处置一组"), ("wu", "处置二组"), ("zheng", "处置二组")]
LEADER = "lead-chen"
# Every sixth complaint comes from the complainant of the one four before it (issue 15: the
# blind index finds them), without a draw from the random stream.
REPEAT_EVERY, REPEAT_GAP = 6, 4


@dataclass
class Lifecycle:
    """One complaint: its receipt, then the commands that follow it (without a ref yet)."""

    receive: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    repeat_of: int | None = None  # the index of the complaint its complainant made before

    def with_ref(self, ref: str) -> list[dict[str, Any]]:
        return [{**step, "ref": ref} for step in self.steps]


class _Builder:
    def __init__(self, rng: random.Random, now: datetime, prefix: str) -> None:
        self.rng, self.now, self.prefix = rng, now, prefix
        self.counter = 0
        self.referrals = 0  # regulator referrals generated so far (their replies take turns)

    def command_id(self) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.counter:06d}"

    def step(
        self, life: Lifecycle, at: datetime, command: str, actor: tuple[str, str], **fields: Any
    ) -> bool:
        if at > self.now:
            return False
        life.steps.append(
            {
                "command": command,
                "command_id": self.command_id(),
                "actor": {"id": actor[0], "role": actor[1]},
                "occurred_at": at.isoformat(),
                **fields,
            }
        )
        return True


def lifecycles(
    count: int, now: datetime, seed: int = 2026, days: int = 21, addressed: bool = False,
    coded: bool = False, improvements: bool = False, replies: bool = False,
) -> Iterator[Lifecycle]:  # fmt: skip
    """``count`` complaints received over the ``days`` before ``now``, oldest first.

    The leadership group acknowledges every escalation, instructs on major cases, signs off
    the result of urgent and major ones and records accountability for cases late at every
    stage. ``addressed``: escalations name who they go to (the leadership group), which
    starts their acknowledgement clock, and complaints tagged 媒体关注 are received with
    public attention. ``coded``: triage and closure give a cause code of the example code list
    (``commands.synthetic_codes``, which must be in force). ``improvements``: a substantiated
    case that stays closed gets an improvement measure (``_improvement``). ``replies``:
    the three oldest complaints arrive as regulator referrals, and referrals are replied to
    late, on time or not at all, in turn (``_reply_regulator``). The loop's steps, the codes, the
    measures and the replies draw nothing from the random stream, so the same seed gives the
    same lifecycles otherwise."""
    rng = random.Random(seed)
    builder = _Builder(rng, now, f"gen-{seed}")
    starts = sorted(now - timedelta(minutes=rng.randint(60, days * 24 * 60)) for _ in range(count))
    recent: list[Lifecycle] = []
    for n, received_at in enumerate(starts):
        at = received_at.replace(second=0, microsecond=0)
        life = _lifecycle(builder, rng, at, addressed, improvements)
        if coded:
            give_causes(life)
        if replies:
            if n < 3:  # the oldest three come from the regulator: each kind of reply shows
                _as_referral(life)
            _reply_regulator(builder, life)
        _repeat_complainant(life, n, recent)
        recent = [*recent, life][-REPEAT_GAP:]
        yield _with_evidence(builder, life)


def _as_referral(life: Lifecycle) -> None:
    """The complaint arrives as a regulator referral (12378), whatever channel was drawn."""
    if life.receive["channel"] != "regulator_referral":
        received = datetime.fromisoformat(life.receive["received_at"])
        life.receive["channel"] = "regulator_referral"
        life.receive["referral_number"] = f"12378-{received:%Y%m%d}-{life.receive['command_id']}"


def _reply_regulator(b: _Builder, life: Lifecycle) -> None:
    """The reply to a regulator referral (issue 15), by the referral's turn among those
    generated (nothing more is taken from the random stream): the first of every three is
    replied to 18 days after receipt (late: the regulator-reply clock allows 15), the second
    10 days after, the third never (unanswered). A withdrawn referral gets none; a reply that
    would come after ``now`` is not made yet."""
    if life.receive.get("referral_number") is None:
        return
    b.referrals += 1
    turn = (b.referrals - 1) % 3
    if turn == 2 or any(step["command"] == "withdraw" for step in life.steps):
        return
    received = datetime.fromisoformat(life.receive["received_at"])
    late = turn == 0
    at = received + timedelta(days=18 if late else 10)
    if not b.step(life, at, "reply_regulator", ("zhao", "handling_team"),
                  summary="已核实情况并向监管部门书面答复处理结果"):  # fmt: skip
        return
    # Recorded in its place among the case's steps by date: an action recorded after a
    # closure may not be dated before it (the time rule).
    reply = life.steps.pop()
    place = next((i for i, s in enumerate(life.steps)
                  if datetime.fromisoformat(s["occurred_at"]) > at), len(life.steps))  # fmt: skip
    life.steps.insert(place, reply)


def _repeat_complainant(life: Lifecycle, n: int, recent: list[Lifecycle]) -> None:
    """Complaint ``n`` comes again from the complainant (same person, phone and account) of
    complaint ``n - REPEAT_GAP`` when ``n`` is the last of every ``REPEAT_EVERY``."""
    if n % REPEAT_EVERY != REPEAT_EVERY - 1 or len(recent) < REPEAT_GAP:
        return
    earlier = recent[-REPEAT_GAP].receive
    life.receive["complainant"] = dict(earlier["complainant"])
    life.receive["account_ref"] = earlier["account_ref"]
    life.repeat_of = n - REPEAT_GAP


def link_step(life: Lifecycle, ref: str, other: str, command_id: str) -> dict[str, Any] | None:
    """A link of the repeat complaint ``ref`` to its complainant's earlier one ``other``,
    dated at its last action; None for a withdrawn complaint (which takes no link)."""
    steps = [life.receive, *life.steps]
    if any(step["command"] == "withdraw" for step in steps):
        return None
    return {
        "command": "link",
        "command_id": command_id,
        "ref": ref,
        "other": other,
        "actor": life.receive["actor"],
        "occurred_at": max(steps, key=lambda s: s["occurred_at"])["occurred_at"],
        "reason": "同一客户就同一催收行为再次投诉",
    }


def _lifecycle(
    b: _Builder, rng: random.Random, received_at: datetime, addressed: bool = False,
    improvements: bool = False,
) -> Lifecycle:  # fmt: skip
    category = rng.choice(list(CONTENT))
    channel = rng.choice([*CHANNELS, "regulator_referral"])
    cs = (rng.choice(CUSTOMER_SERVICE), "customer_service")
    handler, team = rng.choice(HANDLERS)
    team_actor = (handler, "handling_team")
    slow = rng.random() < 0.2  # about one case in five runs late at every stage
    recorded = received_at + timedelta(minutes=rng.choice([3, 5, 10, 15, 75 if slow else 25]))
    receive: dict[str, Any] = {
        "command": "receive",
        "command_id": b.command_id(),
        "actor": {"id": cs[0], "role": cs[1]},
        "occurred_at": min(recorded, b.now).isoformat(),
        "channel": channel,
        "received_at": received_at.isoformat(),
        "complainant": {
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN]),
            "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
        },
        "account_ref": f"LN{rng.randrange(10**8):08d}",
        "collector": rng.choice(AGENCIES),
        "content": rng.choice(CONTENT[category]),
        "category": category,
        "tags": rng.sample(
            ["夜间来电", "多次投诉", "媒体关注", "老年客户", "外包机构"], k=rng.randint(0, 2)
        ),
    }
    if receive["collector"] in OUTSOURCED:  # drawn already: nothing more from the stream
        receive["agency"] = receive["collector"]
    public = addressed and "媒体关注" in receive["tags"]
    if public:
        receive["public_attention"] = True
    if channel == "regulator_referral":
        receive["referral_number"] = f"12378-{received_at:%Y%m%d}-{rng.randrange(10**4):04d}"
    life = Lifecycle(receive)
    t = max(recorded, received_at)

    def later(low_hours: float, high_hours: float) -> datetime:
        nonlocal t
        t += timedelta(hours=rng.uniform(low_hours, high_hours) * (3 if slow else 1))
        return t

    severity = rng.choices(["normal", "urgent", "major"], weights=[7, 2, 1])[0]
    if channel == "regulator_referral" and severity == "normal":
        severity = "urgent"
    assessment = {
        "normal": "一般投诉，按流程处理",
        "urgent": "涉嫌违规催收，需优先处理",
        "major": "可能引发监管关注，立即上报",
    }
    escalating = severity in ("urgent", "major")
    address = {"escalate_to": "leadership_group"} if addressed and escalating else {}
    if not b.step(
        life,
        later(0.1, 0.5),
        "triage",
        team_actor,
        severity=severity,
        category=category,
        assessment=assessment[severity],
        **address,
    ):
        return life
    triaged = t
    b.step(life, later(0.05, 0.3), "assign", team_actor, handler=handler, team=team)
    if rng.random() < 0.08:
        b.step(life, later(2, 30), "withdraw", cs, reason="客户表示问题已自行解决，撤回投诉")
        return life
    if not b.step(
        life,
        later(0.5, 3),
        "contact",
        cs,
        channel="phone",
        reached=rng.random() < 0.8,
        summary="告知已受理并在调查中",
    ):
        return life
    # Listed after the first contact (dated from the triage): a lifecycle starts receive,
    # triage, assign, contact as it always did.
    leader = (LEADER, "leadership")
    if escalating or public:  # acknowledged within the hour, mostly (slow cases: later)
        b.step(life, triaged + timedelta(minutes=95 if slow else 20), "acknowledge", leader)
    if severity == "major":
        b.step(life, triaged + timedelta(minutes=110 if slow else 40), "instruct", leader,
               text="请处置小组立即核查，24小时内上报进展")  # fmt: skip
    if rng.random() < 0.15:
        b.step(
            life,
            later(1, 4),
            "extend",
            (LEADER, "leadership"),
            clock="regulatory",
            days=15,
            reason="涉及多家外包机构，案情复杂",
            approved_by=LEADER,
        )
    substantiated = rng.choices(["yes", "partly", "no"], weights=[4, 3, 3])[0]
    if not b.step(
        life,
        later(3, 12),
        "record_findings",
        team_actor,
        substantiated=substantiated,
        findings="调取通话录音及催收记录核实",
        evidence=[f"REC-{rng.randrange(10**6):06d}"],
    ):
        return life
    remedies: list[dict[str, Any]] = [{"kind": "explanation", "detail": "向客户说明核实情况"}]
    if substantiated != "no":
        remedies += [
            {"kind": "apology"},
            {"kind": "collector_action", "detail": "对涉事催收员停岗培训"},
        ]
        if rng.random() < 0.5:
            remedies.append(
                {
                    "kind": "refund",
                    "amount": f"{rng.randint(5, 200) * 10}.00",
                    "detail": "退还不当收取的费用",
                }
            )
    if not b.step(life, later(3, 16), "plan", team_actor, remedies=remedies):
        return life
    if not b.step(life, later(12, 72), "execute", team_actor, detail="方案已执行完毕"):
        return life
    if not b.step(
        life,
        later(1, 24),
        "notify_outcome",
        team_actor,
        channel="phone",
        summary="电话告知处理结果",
    ):
        return life
    b.step(
        life,
        later(1, 24),
        "record_callback",
        cs,
        satisfaction=rng.choices([1, 2, 3, 4, 5], weights=[1, 1, 2, 4, 3])[0],
        comment="回访完成",
    )
    closing = later(2, 48)
    if escalating:  # the result is reported to the leadership group before closure
        b.step(life, closing - timedelta(hours=1), "sign_off", leader,
               text="处理结果已上报应急领导小组，同意办结")  # fmt: skip
    if not b.step(
        life,
        closing,
        "close",
        team_actor,
        root_cause="催收人员未遵守作业规范",
        improvement="加强合规培训与录音抽检",
    ):
        return life
    if rng.random() < 0.2:
        b.step(life, later(24, 72), "reopen", cs, reason="客户对处理结果不满意，再次投诉")
        return life
    if improvements and substantiated != "no":
        _improvement(b, life, closing, handler, slow)
    if slow:  # a case that stays closed: leadership holds the handler to account
        b.step(life, closing + timedelta(hours=12), "record_accountability", leader,
               staff=handler, team=team, finding="各环节均超出预案时限",
               decision="通报批评，限期整改")  # fmt: skip
    return life


def _improvement(b: _Builder, life: Lifecycle, closing: datetime, handler: str, slow: bool) -> None:
    """An improvement measure (溯源整改) after a substantiated case closed, owned by its
    handler, due a week after the closure (three days on a case late at every stage): done in
    two days; ``zheng``'s a day after the deadline (late); never on a late case of ``wu``'s
    (open, overdue once due). Draws nothing from the random stream."""
    owner = (handler, "handling_team")
    due = closing + timedelta(days=3 if slow else 7)
    if not b.step(life, closing + timedelta(hours=2), "add_improvement", owner,
                  action="修订催收作业规范，组织涉事团队合规培训", owner=handler,
                  due=due.isoformat()):  # fmt: skip
        return
    if slow and handler == "wu":
        return  # promised and never carried out
    done = due + timedelta(days=1) if handler == "zheng" else closing + timedelta(days=2)
    b.step(life, done, "complete_improvement", owner, improvement_id="1",
           text="培训已完成，录音抽检无异常")  # fmt: skip


def training_session(now: datetime, seed: int) -> dict[str, Any]:
    """A training session on the plan two days before ``now``: customer service, the handlers
    and the leader the lifecycles name attend (the readiness book, issue 15 item 7)."""
    held = now - timedelta(days=2)
    return {
        "command": "record_training",
        "command_id": f"gen-{seed}-training",
        "actor": {"id": LEADER, "role": "leadership"},
        "occurred_at": held.isoformat(),
        "topic": "应急预案培训：初步判断、升级与领导小组批示",
        "date": held.date().isoformat(),
        "attendees": [*CUSTOMER_SERVICE, *(h for h, _ in HANDLERS), LEADER],
    }


def synthetic_evidence(command_id: str) -> bytes:
    """The bytes of the file a synthetic ``attach`` stands for (``demo`` writes them into
    the evidence folder; ``generate`` records the hash without a file)."""
    return f"synthetic call recording {command_id}\n".encode()


def _with_evidence(b: _Builder, life: Lifecycle) -> Lifecycle:
    """Evidence and callbacks after closure (issue 15): the recording of the first call of
    a phone complaint, attached just after it, and a callback after closure that did not
    reach the complainant. Dated from the lifecycle's own steps, they draw nothing from the
    random stream, so a seed gives the same lifecycles otherwise."""
    contact = next((i for i, s in enumerate(life.steps) if s["command"] == "contact"), None)
    if contact is not None and life.receive["channel"] == "phone":
        call = life.steps[contact]
        at = datetime.fromisoformat(call["occurred_at"]) + timedelta(minutes=10)
        if at <= b.now:
            command_id = b.command_id()
            data = synthetic_evidence(command_id)
            sha256 = hashlib.sha256(data).hexdigest()
            life.steps.insert(contact + 1, {
                "command": "attach", "command_id": command_id, "actor": call["actor"],
                "occurred_at": at.isoformat(), "sha256": sha256, "size": len(data),
                "kind": "recording", "location": stored_path(sha256),
                "filename": f"call-{at:%Y%m%d-%H%M}.mp3", "note": "首次联系客户的通话录音",
            })  # fmt: skip
    commands = [s["command"] for s in life.steps]
    if "close" in commands and "reopen" not in commands:
        closing = datetime.fromisoformat(life.steps[commands.index("close")]["occurred_at"])
        actor = life.receive["actor"]
        b.step(life, closing + timedelta(days=1), "record_callback", (actor["id"], actor["role"]),
               reached=False, comment="办结后回访，电话无人接听")  # fmt: skip
    return life
