"""Which OCSF 1.8.0 class and activity each configuration event family maps to.

- Logins and logouts (admin console, web interface, node) are Authentication (3002):
  they are sessions, not changes.
- Changes to a user account's existence or state (create, approve, suspend, restore,
  delete, invite, join, leave, SCIM push) are Account Change (3001).
- Role changes are User Access Management (3005): a role is a set of privileges, so a
  raise is Assign Privileges and a lowering is Revoke Privileges (with the role lost).
- Everything else changes a managed thing (device, key, policy file, tailnet setting,
  webhook, invite, share, billing) and is Entity Management (3004), the activity taken
  from Tailscale's verb. ENABLE/DISABLE of a *device property* (key expiry) is an
  Update of the device, not the device being enabled; a rename is Move, as OCSF defines
  Move ("move or rename").
- Unknown families fall back to Entity Management / 99 Other, which is always valid.

API Activity (6003) is not used: it requires `src_endpoint`, and audit records carry
no client address. Account Change and User Access Management are deprecated in the
1.9.0 drafts (User Management 3007); 1.8.0 is the release this targets.
"""

from __future__ import annotations

from typing import NamedTuple

from tap_tailscale.admin_audit import split_event

AUTHENTICATION, ACCOUNT_CHANGE, ENTITY_MANAGEMENT, USER_ACCESS = 3002, 3001, 3004, 3005
CLASS_NAMES = {
    AUTHENTICATION: "Authentication",
    ACCOUNT_CHANGE: "Account Change",
    ENTITY_MANAGEMENT: "Entity Management",
    USER_ACCESS: "User Access Management",
}
OTHER = 99

# Role ranks, to tell a raise from a lowering.
ROLE_RANKS = {
    "member": 0,
    "auditor": 1,
    "billing-admin": 1,
    "it-admin": 2,
    "network-admin": 2,
    "admin": 3,
    "owner": 4,
}
AUTH_SERVICES = {
    "ADMIN_CONSOLE": "Tailscale admin console",
    "WEB_INTERFACE": "Tailscale web interface",
    "NODE": "Tailscale coordination server",
}
_AUTH_ACTIVITIES = {"LOGIN": (1, "Logon"), "LOGOUT": (2, "Logoff")}
_ACCOUNT_ACTIVITIES = {
    "CREATE": (1, "Create"),
    "APPROVE": (2, "Enable"),
    "RESTORE": (2, "Enable"),
    "RESTORE_GLOBAL": (2, "Enable"),
    "SUSPEND": (5, "Disable"),
    "SUSPEND_GLOBAL": (5, "Disable"),
    "DELETE": (6, "Delete"),
}
_ENTITY_ACTIVITIES = {
    "CREATE": (1, "Create"),
    "UPDATE": (3, "Update"),
    "PUSH_GROUP": (3, "Update"),
    "MIGRATE_AUTH_PROVIDER": (3, "Update"),
    "DELETE": (4, "Delete"),
    "REVOKE": (4, "Delete"),
    "APPROVE": (6, "Enroll"),
    "ENABLE": (8, "Enable"),
    "DISABLE": (9, "Disable"),
    "ACCEPT": (10, "Activate"),
    "EXPIRED": (11, "Deactivate"),
    "CANCEL": (11, "Deactivate"),
}
# Whole events whose meaning differs from their verb's usual one.
_ENTITY_EXCEPTIONS = {
    "NODE.ENABLE.KEY_EXPIRY": (3, "Update"),
    "NODE.DISABLE.KEY_EXPIRY": (3, "Update"),
    "NODE.UPDATE.MACHINE_NAME": (5, "Move"),
    "NODE.REVOKE": (11, "Deactivate"),
}
_ACCOUNT_EVENTS_OTHER = frozenset(
    {
        "USER.INVITE",
        "USER.RESEND.TAILNET_INVITE",
        "USER.PUSH_USER.ATTRIBUTES",
        "TAILNET.JOIN",
        "TAILNET.LEAVE",
    }
)


class Activity(NamedTuple):
    """An OCSF class and activity for one event."""

    class_uid: int
    activity_id: int
    activity_name: str

    @property
    def class_name(self) -> str:
        """The class caption."""
        return CLASS_NAMES[self.class_uid]


def _other(verb: str) -> str:
    return verb.replace("_", " ").title() or "Other"


def role_activity(old: object, new: object) -> Activity:
    """Assign Privileges for a raise (or an unknown rank), Revoke for a lowering."""
    old_rank = ROLE_RANKS.get(str(old).strip().lower(), -1)
    new_rank = ROLE_RANKS.get(str(new).strip().lower(), -1)
    if new_rank >= 0 and old_rank > new_rank:
        return Activity(USER_ACCESS, 2, "Revoke Privileges")
    return Activity(USER_ACCESS, 1, "Assign Privileges")


def classify(event_type: str, old: object = None, new: object = None) -> Activity:
    """The class and activity for a `TARGET.ACTION[.PROPERTY]` event."""
    ttype, verb, prop = split_event(event_type)
    if ttype in AUTH_SERVICES and verb in _AUTH_ACTIVITIES:
        return Activity(AUTHENTICATION, *_AUTH_ACTIVITIES[verb])
    if event_type == "USER.UPDATE.USER_ROLE":
        return role_activity(old, new)
    if event_type in _ACCOUNT_EVENTS_OTHER:
        return Activity(ACCOUNT_CHANGE, OTHER, _other(verb))
    if ttype == "USER" and prop is None and verb in _ACCOUNT_ACTIVITIES:
        return Activity(ACCOUNT_CHANGE, *_ACCOUNT_ACTIVITIES[verb])
    activity = _ENTITY_EXCEPTIONS.get(event_type) or _ENTITY_ACTIVITIES.get(verb)
    return Activity(ENTITY_MANAGEMENT, *(activity or (OTHER, _other(verb))))
