"""What each staff role may do. One table, asked by the web forms, the API and the CLI alike.

Anonymous readers (role None) may only read public lists and decisions.
"""

from __future__ import annotations

from app.models import ROLES

PERMISSIONS: dict[str, frozenset[str]] = {
    "read_private": frozenset({"admin", "editor", "viewer"}),
    "edit_decisions": frozenset({"admin", "editor"}),
    "link_discussions": frozenset({"admin", "editor"}),
    "edit_tags": frozenset({"admin", "editor"}),
    "correct_positions": frozenset({"admin", "editor"}),
    "hide_messages": frozenset({"admin", "editor"}),
    "purge_messages": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
    "manage_lists": frozenset({"admin"}),
    "view_audit": frozenset({"admin"}),
    "view_model": frozenset({"admin"}),
    "view_sources": frozenset({"admin"}),
}
assert all(roles <= set(ROLES) for roles in PERMISSIONS.values())


def allowed(role: str | None, action: str) -> bool:
    """Whether a role may perform an action; unknown actions are refused, not allowed."""
    return role is not None and role in PERMISSIONS.get(action, frozenset())
