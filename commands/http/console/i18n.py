"""The console's two languages: Chinese and English. The ``lang`` cookie (set by the switch)
wins; otherwise the browser's ``Accept-Language`` picks, and English when it names neither."""

from __future__ import annotations

from fastapi import Request

LANGS = ("zh", "en")
COOKIE = "console_lang"

# key: (Chinese, English)
TEXT: dict[str, tuple[str, str]] = {
    "title": ("投诉台账 · 监督控制台", "Complaint ledger · supervisor console"),
    "dashboard": ("总览", "Dashboard"),
    "queue": ("工作队列", "Work queue"),
    "cases": ("投诉列表", "Complaints"),
    "reports": ("报表", "Reports"),
    "monthly": ("月度监督报告", "Monthly supervision report"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "token": ("员工令牌", "Staff token"),
    "role": ("角色", "Role"),
    "role_hint": ("持有多个角色时必选", "Needed when you hold several roles"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "lag": ("读模型落后", "Read models behind by"),
    "events": ("条事件", "events"),
    "open_by_stage": ("在办投诉（按阶段）", "Open complaints by stage"),
    "clocks_now": ("当前时限状态", "Clocks now"),
    "breaches_per_month": ("各时限每月超时数", "Breaches per clock per month"),
    "volume_channel": ("每月受理量（按渠道）", "Received per month by channel"),
    "volume_category": ("每月受理量（按类别）", "Received per month by category"),
    "satisfaction": ("平均满意度", "Mean satisfaction"),
    "month": ("月份", "Month"),
    "received": ("受理", "Received"),
    "closed": ("办结", "Closed"),
    "closed_on_time": ("按时办结", "Closed on time"),
    "escalated": ("升级", "Escalated"),
    "withdrawn": ("撤诉", "Withdrawn"),
    "reopened": ("重开", "Reopened"),
    "breached": ("已超时", "Breached"),
    "overdue": ("逾期未办", "Overdue"),
    "at_risk": ("临近超时", "At risk"),
    "pending": ("进行中", "Pending"),
    "met": ("按时完成", "Met"),
    "cancelled": ("已取消", "Cancelled"),
    "ref": ("编号", "Reference"),
    "stage": ("阶段", "Stage"),
    "status": ("状态", "Status"),
    "channel": ("渠道", "Channel"),
    "category": ("类别", "Category"),
    "severity": ("严重程度", "Severity"),
    "handler": ("经办人", "Handler"),
    "team": ("小组", "Team"),
    "clock": ("时限", "Clock"),
    "due": ("截止", "Due"),
    "met_at": ("完成于", "Met at"),
    "lateness": ("超时", "Late by"),
    "remaining": ("剩余时间", "Time left"),
    "next_clock": ("下一时限", "Next clock"),
    "timeline": ("时间线", "Timeline"),
    "occurred": ("发生时间", "Occurred"),
    "recorded": ("记录时间", "Recorded"),
    "who": ("记录人", "Who"),
    "how": ("身份认证", "Authenticated by"),
    "backdated": ("补录", "backdated"),
    "action": ("操作", "Action"),
    "summary": ("摘要", "Summary"),
    "plan": ("处置方案", "Plan and remedies"),
    "remedies": ("补救措施", "Remedies"),
    "refund_total": ("退款合计", "Refund total"),
    "audit_trail": ("审计轨迹", "Audit trail"),
    "actions": ("可执行操作", "Actions"),
    "no_actions": ("您的角色不能对本投诉执行操作。", "Your role may not act on this complaint."),
    "submit": ("提交", "Submit"),
    "occurred_at_hint": ("发生时间（可选，ISO 8601）", "Occurred at (optional, ISO 8601)"),
    "sla_report": ("时限报告", "SLA report"),
    "statistics": ("统计", "Statistics"),
    "as_of": ("截至", "As of"),
    "from": ("自", "From"),
    "to": ("至", "To"),
    "filter": ("筛选", "Filter"),
    "download_csv": ("下载 CSV", "Download CSV"),
    "totals": ("合计", "Totals"),
    "none": ("无", "None"),
    "more": ("下一页", "Next page"),
    "unit": ("部门", "Unit"),
    "your_unit_queue": (
        "本部门在办投诉（按下一时限排序）",
        "Your unit's open complaints, next due first",
    ),
    "print": ("打印", "Print"),
    "error": ("出错了", "Something went wrong"),
    "back": ("返回", "Back"),
    "recorded_ok": ("已记录", "Recorded"),
    "all": ("全部", "All"),
    "open": ("在办", "Open"),
    "estimated": ("估算", "estimated"),
    "generated_at": ("生成时间", "Generated at"),
    "clocks": ("各项时限", "Clocks"),
    "stage_intake": ("受理", "intake"),
    "stage_investigation": ("调查核实", "investigation"),
    "stage_plan": ("制定方案", "plan"),
    "stage_execution": ("执行", "execution"),
    "stage_summary": ("总结回访", "summary"),
}


def lang_of(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(COOKIE)
    if chosen in LANGS:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def translator(lang: str) -> dict[str, str]:
    index = LANGS.index(lang)
    return {key: pair[index] for key, pair in TEXT.items()}
