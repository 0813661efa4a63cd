"""The example code list (``docs/codes-example.toml``) as data, and the cause codes (and the
regulator's business type and channel) synthetic lifecycles give at triage and closure:
``demo`` and ``generate --cause-codes`` publish the list and code their complaints with it.

``tests/unit/test_synthetic_codes.py`` checks that ``EXAMPLE_CODES`` is the example file.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commands.synthetic import Lifecycle

_CAUSES = {
    "C01": ("催收方式不当", "11"), "C02": ("暴力催收", "11"), "C03": ("骚扰第三人", "11"),
    "C04": ("信息泄露", "10"), "C05": ("冒充公检法或虚假承诺", "11"), "C06": ("息费计算争议", "05"),
    "C07": ("还款入账争议", "01"), "C08": ("服务态度差", "08"), "C99": ("其他", None),
}  # fmt: skip
EXAMPLE_CODES: dict[str, Any] = {
    "version": "codes-2026.1",
    "causes": {
        code: {"label": label, **({"regulator": reg} if reg else {})}
        for code, (label, reg) in _CAUSES.items()
    },
    "regulator": {
        "standard": "JR/T 0169-2018",
        "channels": {"01": "营业网点", "02": "自助机具",
                     "03": "电子渠道（网上银行、手机银行、电话银行）",
                     "04": "第三方渠道（含委托催收机构）", "99": "其他渠道"},
        "business_types": {"01": "借记卡", "02": "信用卡", "03": "个人贷款", "04": "支付结算",
                           "05": "个人金融信息", "99": "其他"},
        "causes": {"01": "管理制度、业务规则与流程", "02": "营销方式和手段", "03": "信息披露",
                   "04": "自主选择权", "05": "定价收费", "06": "产品收益", "07": "合同条款",
                   "08": "服务态度及服务质量", "09": "消费者资金安全", "10": "消费者信息安全",
                   "11": "债务催收方式和手段", "99": "其他"},
    },
}  # fmt: skip
# The cause a synthetic complaint's category is triaged with.
CATEGORY_CAUSES = {
    "harassment": "C01", "third_party_contact": "C03", "abusive_language": "C02",
    "excessive_calls": "C01", "fees": "C06", "debt_disputed": "C07", "impersonation": "C05",
}  # fmt: skip

# The regulator's business type a synthetic complaint is triaged with (业务类别: fees on a
# credit card, repayments on a personal loan …); its closure names the business channel,
# the outsourced collection (第三方渠道), and keeps the type.
CATEGORY_BUSINESS_TYPES = {
    "harassment": "03", "third_party_contact": "03", "abusive_language": "03",
    "excessive_calls": "02", "fees": "02", "debt_disputed": "03", "impersonation": "99",
}  # fmt: skip
CLOSURE_BUSINESS_CHANNEL = "04"


def give_causes(life: Lifecycle) -> None:
    """Triage with the category's cause and business type; close with the cause, or with 其他
    (C99) when the findings did not bear the complaint out, and the business channel."""
    cause = CATEGORY_CAUSES[life.receive["category"]]
    for step in life.steps:
        if step["command"] == "record_findings" and step["substantiated"] == "no":
            cause = "C99"
        if step["command"] in ("triage", "close"):
            step["cause"] = cause
        if step["command"] == "triage":
            step["business_type"] = CATEGORY_BUSINESS_TYPES[life.receive["category"]]
        if step["command"] == "close":
            step["business_channel"] = CLOSURE_BUSINESS_CHANNEL


def publish_codes_command(command_id: str, at: datetime, actor: str) -> dict[str, Any]:
    """The command that publishes the example code list, in force from ``at``."""
    return {
        "command": "publish_codes",
        "command_id": command_id,
        "actor": {"id": actor, "role": "leadership"},
        "occurred_at": at.isoformat(),
        "text": json.dumps(EXAMPLE_CODES, ensure_ascii=False),
        "format": "json",
        "effective_from": at.isoformat(),
    }
