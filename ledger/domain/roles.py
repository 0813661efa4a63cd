"""Who may do what, following the plan's organisation.

Customer service records what comes in and makes the initial judgment (triage, escalate);
the handling team works the case;
leadership may do everything the team may and alone approves extensions and
erasure and keeps the staff directory. The business department may contact the
complainant and record findings. Auditors read; operators read and run the alerter, whose
only write is the record of an alert sent (``record_alert``).
"""

from __future__ import annotations

from ledger.domain.errors import RoleNotAllowed
from ledger.domain.values import Role

# An improvement measure (溯源整改) is marked done by whoever owns it, in any working unit,
# or by leadership: the role lets them try, the complaint checks the owner (issue 15).
IMPROVEMENT_OWNER_ACTIONS = frozenset({"complete_improvement"})
# Customer service makes the initial judgment (初步判断): it may triage and escalate (issue 15).
# Each unit that works a case may attach the evidence it holds (a call recording, a letter).
CUSTOMER_SERVICE_ACTIONS = frozenset(
    {"receive", "contact", "record_callback", "reopen", "withdraw", "add_note", "triage",
     "escalate", "link", "attach"}
) | IMPROVEMENT_OWNER_ACTIONS  # fmt: skip
HANDLING_TEAM_ACTIONS = CUSTOMER_SERVICE_ACTIONS | frozenset(
    {
        "triage",
        "escalate",
        "assign",
        "record_findings",
        "plan",
        "execute",
        "notify_outcome",
        "close",
        "pause",
        "resume",
        "add_improvement",  # the handling team sets the measures; leadership may too
        # The reply to a regulator referral (issue 15): the handling team (and leadership).
        "reply_regulator",
    }
)
BUSINESS_DEPARTMENT_ACTIONS = (
    frozenset({"contact", "record_findings", "attach"}) | IMPROVEMENT_OWNER_ACTIONS
)
# Who works here, and how they prove it: the leadership group's to decide.
STAFF_ACTIONS = frozenset(
    {"add_staff", "grant_role", "revoke_role", "issue_token", "revoke_token",
     "require_authentication", "allow_service_login"}
)  # fmt: skip
# The leadership group's side of the escalation loop (issue 15): acknowledging an
# escalation, instructing (批示), signing off the result, and accountability (责任追究).
ESCALATION_LOOP_ACTIONS = frozenset(
    {"acknowledge", "instruct", "sign_off", "record_accountability"}
)
# Publishing a policy revision (预案修订), a code list or a calendar, and re-dating a recorded
# action, are the leadership group's decisions.
# Training sessions and drills (培训、演练): organised by the office and the handling group
# (handling_team) or the leadership group.
READINESS_ACTIONS = frozenset({"record_training", "record_drill"})
LEADERSHIP_ACTIONS = (
    HANDLING_TEAM_ACTIONS
    | READINESS_ACTIONS
    | frozenset(
        {"extend", "correct", "erase", "publish_policy", "publish_codes", "publish_calendar"}
    )
    | ESCALATION_LOOP_ACTIONS
    | STAFF_ACTIONS
)

PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.CUSTOMER_SERVICE: CUSTOMER_SERVICE_ACTIONS,
    Role.HANDLING_TEAM: HANDLING_TEAM_ACTIONS | READINESS_ACTIONS,
    Role.LEADERSHIP: LEADERSHIP_ACTIONS,
    Role.AUDITOR: frozenset(),
    Role.OPERATOR: frozenset({"record_alert"}),
    Role.BUSINESS_DEPARTMENT: BUSINESS_DEPARTMENT_ACTIONS,
}


def roles_allowed(action: str) -> list[Role]:
    return [role for role, actions in PERMISSIONS.items() if action in actions]


def check_role(role: Role, action: str) -> None:
    """Raise ``RoleNotAllowed`` unless ``role`` may issue ``action``."""
    if action not in PERMISSIONS[role]:
        allowed = ", ".join(roles_allowed(action)) or "no role"
        raise RoleNotAllowed(f"role {role} may not {action.replace('_', '-')}; allowed: {allowed}")
