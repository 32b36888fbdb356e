"""Roles, actions and the permission matrix (design §7): the one place that decides who may do
what. Roles are ordered, each including the one before; the app, the CLI and the library ask
`can(role, action)`."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Roles in increasing order of power; each includes everything the one before may do."""

    EXECUTIVE = "executive"
    GOVERNANCE_LEAD = "governance_lead"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    @property
    def title(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Action(StrEnum):
    VIEW_DASHBOARDS = "view_dashboards"
    DOWNLOAD_MINUTES = "download_minutes"
    IMPORT_DATA = "import_data"
    EDIT_OBJECTIVES = "edit_objectives"
    EDIT_REVIEWS = "edit_reviews"
    FINALISE_MINUTES = "finalise_minutes"
    EDIT_METRICS = "edit_metrics"
    MANAGE_USERS = "manage_users"
    EDIT_SETTINGS = "edit_settings"
    VIEW_AUDIT_LOG = "view_audit_log"
    EDIT_SOA = "edit_soa"
    EDIT_GAPS = "edit_gaps"
    EVALUATE_FAIRNESS = "evaluate_fairness"
    EDIT_FAIRNESS_POLICY = "edit_fairness_policy"
    VIEW_NOTIFICATIONS = "view_notifications"
    MANAGE_NOTIFICATIONS = "manage_notifications"


# The permission matrix: the least role allowed to perform each action.
MINIMUM_ROLE: dict[Action, Role] = {
    Action.VIEW_DASHBOARDS: Role.EXECUTIVE,
    Action.DOWNLOAD_MINUTES: Role.EXECUTIVE,
    Action.IMPORT_DATA: Role.GOVERNANCE_LEAD,
    Action.EDIT_OBJECTIVES: Role.GOVERNANCE_LEAD,
    Action.EDIT_REVIEWS: Role.GOVERNANCE_LEAD,
    Action.FINALISE_MINUTES: Role.GOVERNANCE_LEAD,
    Action.EDIT_METRICS: Role.ANALYST,
    Action.MANAGE_USERS: Role.ADMIN,
    Action.EDIT_SETTINGS: Role.ADMIN,
    Action.VIEW_AUDIT_LOG: Role.ADMIN,
    Action.EDIT_SOA: Role.GOVERNANCE_LEAD,
    Action.EDIT_GAPS: Role.GOVERNANCE_LEAD,
    Action.EVALUATE_FAIRNESS: Role.GOVERNANCE_LEAD,
    Action.EDIT_FAIRNESS_POLICY: Role.ANALYST,
    Action.VIEW_NOTIFICATIONS: Role.GOVERNANCE_LEAD,
    Action.MANAGE_NOTIFICATIONS: Role.ADMIN,
}


class PermissionDenied(PermissionError):
    """The role may not perform the action."""


def _as_role(role: Role | str | None) -> Role | None:
    try:
        return Role(role) if role is not None else None
    except ValueError:
        return None


def can(role: Role | str | None, action: Action | str) -> bool:
    """True when `role` may perform `action`; unknown roles and actions may do nothing."""
    known_role = _as_role(role)
    try:
        needed = MINIMUM_ROLE[Action(action)]
    except ValueError:
        return False
    return known_role is not None and known_role.rank >= needed.rank


def require(role: Role | str | None, action: Action | str) -> None:
    """Raise PermissionDenied unless `role` may perform `action` (for library write paths)."""
    if not can(role, action):
        raise PermissionDenied(f"the role {role or 'signed out'!s} may not {Action(action).value}")


def allowed_actions(role: Role | str | None) -> list[Action]:
    return [action for action in Action if can(role, action)]
