"""Configuration audit event bodies: who did what to which target, with old and new values."""

from __future__ import annotations

from typing import Any

from tailscale_emulator.event_types import PARTS, POLICY_UPDATE
from tailscale_emulator.hashing import hash_of, stable_id
from tailscale_emulator.nodes import USERS, Node, domain_of, make_node
from tailscale_emulator.policies import policy_version
from tap_tailscale.admin_audit import EVENT_TYPES

JsonDict = dict[str, Any]

# Every 7th operation writes two events; with 116 types the payloads repeat every
# 116 * 7 operations, times 5 so each type also shows several payload variants.
PAIR_EVERY = 7
CONFIG_PERIOD = len(EVENT_TYPES) * PAIR_EVERY * 5
# Policy updates come from their own cadence (see `policy_update_bodies`), so they chain;
# the round-robin slot of that type writes a DNS change instead.
_POLICY_INDEX = EVENT_TYPES.index(POLICY_UPDATE)
_POLICY_STAND_IN = EVENT_TYPES.index("TAILNET.UPDATE.DNS_CONFIG")

_MISSING = object()


# One branch per property reads better here than a table of lambdas.
def _old_new(  # noqa: PLR0911, PLR0912
    action: str, prop: str, v: int, node: Node, domain: str
) -> tuple[Any, Any]:
    """Plausible before/after values of the changed property (`_MISSING` = key absent)."""
    toggles = {"ENABLE": (False, True), "DISABLE": (True, False)}
    if prop == "ACL_TAGS":
        return (["tag:ci"] if v % 3 else None), ["tag:ci", "tag:builder"]
    if prop in {"ALLOWED_IPS", "AUTO_APPROVED_ROUTES"}:
        return ["10.20.0.0/16"], ["10.20.0.0/16", "192.168.7.0/24", "fd00:7::/64"]
    if prop == "ATTRIBUTES":
        old: Any = {"custom:tier": "silver", "custom:score": 3}
        new: Any = {"custom:tier": "gold", "custom:score": 4.5, "custom:managed": True}
        if action == "CREATE":
            return _MISSING, new
        if action == "DELETE":
            return old, _MISSING
        return old, new
    if prop == "KEY_EXPIRY_TIME":
        if action == "EXPIRED":
            return "2025-03-04T10:02:00Z", None
        return "2025-06-01T00:00:00Z", "2025-09-01T00:00:00.5Z"
    if prop == "MAX_KEY_DURATION":
        return (180, 90) if v % 2 else (90.5, 30)
    if prop == "DNS_CONFIG":
        return {"nameservers": ["1.1.1.1"], "magicDNS": True}, {
            "nameservers": ["1.1.1.1", "2606:4700:4700::1111"],
            "searchPaths": [domain],
            "magicDNS": True,
            "splitDNS": {"corp." + domain: ["10.20.0.2"]},
        }
    if prop == "USER_ROLE":
        return "member", ("admin" if v % 2 else "owner")
    if prop == "MACHINE_NAME":
        return node.host, node.host + "-renamed"
    if prop == "EXIT_NODE":
        return False, ("exit-fra" if v % 2 else True)
    if prop in {"SUBSCRIPTION"}:
        return {"plan": "starter", "seats": 3}, {"plan": "premium", "seats": 12}
    if prop in {"EMAIL", "ACCOUNT_EMAIL", "SECURITY_EMAIL", "SUPPORT_EMAIL", "BILLING_OWNER"}:
        return f"ops@{domain}", f"security+{v}@{domain}"
    if prop == "SUBSCRIBED_EVENTS":
        return ["nodeCreated"], ["nodeCreated", "policyUpdate", "userSuspended"]
    if prop == "LOGSTREAM_ENDPOINT":
        value = {"destinationType": "splunk", "url": "https://splunk.example.net:8088"}
        return (_MISSING, value) if action == "CREATE" else (value, None)
    if action in toggles:
        return toggles[action] if prop or v % 4 else (_MISSING, _MISSING)
    if prop == "CLIENT_LOG":
        return _MISSING, "node disconnected: control key rotated"
    if prop in {"ADDRESS", "PAYMENT_INFO", "STRIPE_CUSTOMER_ID", "TCD"}:
        return f"old-{prop.lower()}-{v}", f"new-{prop.lower()}-{v + 1}"
    if action == "CREATE":
        return _MISSING, ({} if v % 2 else {"description": "ci key", "expirySeconds": 7776000})
    if action == "DELETE":
        return {"id": node.node_id, "reusable": False}, _MISSING
    if prop:
        return None, {"value": v % 1000, "enabled": bool(v % 2)}
    return _MISSING, _MISSING


_USER_ORIGINS = ("ADMIN_CONSOLE",) * 4 + ("CONFIG_API",) * 3 + ("SUPPORT_REQUEST",)


def _actor(kind: str, v: int, node: Node, domain: str) -> tuple[JsonDict, str]:
    """The actor object and the origin that fits it."""
    if kind == "NODE":
        actor: JsonDict = {"id": node.node_id, "type": "NODE", "displayName": node.host}
        if node.tags:
            actor["tags"] = list(node.tags)
        return actor, ("NODE" if v % 2 else "CONTROL")
    if kind == "USER":
        uid, login, display = USERS[v % len(USERS)]
        origin = _USER_ORIGINS[v % len(_USER_ORIGINS)]
        actor = {
            "id": uid,
            "type": "USER",
            "loginName": f"{login}@{domain}",
            "displayName": display,
        }
        return actor, origin
    fixed: dict[str, tuple[JsonDict, str]] = {
        "OAUTH_CLIENT": (
            {
                "id": "kTf39CrCNTRL",
                "type": "OAUTH_CLIENT",
                "loginName": "",
                "displayName": "terraform-ci",
            },
            "CONFIG_API",
        ),
        "AUTOMATED_WORKER": (
            {"id": "", "type": "AUTOMATED_WORKER", "displayName": "Tailscale"},
            "CONTROL",
        ),
        "SCIM": ({"id": "scim-okta", "type": "SCIM", "displayName": "Okta"}, "IDENTITY_PROVIDER"),
        "MULLVAD": ({"id": "mullvad", "type": "MULLVAD", "displayName": "Mullvad VPN"}, "CONTROL"),
        "LOGSTREAM": (
            {"id": "logstream", "type": "LOGSTREAM", "displayName": "log streaming"},
            "CONTROL",
        ),
        "SECRET_SCANNER": (
            {"id": "secret-scanner", "type": "SECRET_SCANNER", "displayName": "GitHub"},
            "SECURITY_NOTIFICATION",
        ),
        "STRIPE": ({"id": "", "type": "AUTOMATED_WORKER", "displayName": "Stripe"}, "STRIPE"),
    }
    return fixed[kind]


def _actor_kind(ttype: str, action: str, prop: str, v: int) -> str:  # noqa: PLR0911
    if action == "EXPIRED":
        return "AUTOMATED_WORKER"
    if ttype == "NODE" and action in {"LOGIN", "LOGOUT", "DISCONNECT_NODE"}:
        return "NODE"
    if ttype == "NODE" and prop in {"POSTURE_IDENTITY", "TKA"}:
        return "NODE"
    if action in {"PUSH_USER", "PUSH_GROUP"}:
        return "SCIM"
    if ttype == "BILLING" and v % 2:
        return "STRIPE"
    if prop == "MULLVAD_VPN" and v % 2:
        return "MULLVAD"
    if prop == "LOGSTREAM_ENDPOINT" and action == "UPDATE":
        return "LOGSTREAM"
    if prop == "SECRET" and v % 2:
        return "SECRET_SCANNER"
    return ("USER", "USER", "OAUTH_CLIENT", "USER", "NODE")[v % 5]


def _target(ttype: str, prop: str, v: int, *, salt: int, node: Node, tailnet: str) -> JsonDict:
    domain = domain_of(tailnet)
    uid, login, _display = USERS[(v + 2) % len(USERS)]
    if ttype in {"TAILNET", "BILLING"}:
        tgt: JsonDict = {"id": tailnet, "name": tailnet}
    elif ttype in {"USER", "ADMIN_CONSOLE"}:
        tgt = {"id": uid, "name": f"{login}@{domain}"}
    elif ttype == "GROUP":
        tgt = {"id": "group:eng", "name": "Engineering"}
    elif ttype in {"NODE", "WEB_INTERFACE", "SHARE"}:
        tgt = {"id": node.node_id, "name": node.fqdn}
    elif ttype == "API_KEY":
        tgt = {
            "id": stable_id("k", hash_of(salt, v, 0xA91)),
            # What the live API writes: the kind of key is in the name.
            "name": ("API access token", "Auth key", "OAuth client")[v % 3],
        }
    elif ttype == "INVITE":
        tgt = {"id": stable_id("i", hash_of(salt, v, 0x1E)), "name": f"invite for {login}@{domain}"}
    elif ttype == "WEBHOOK_ENDPOINT":
        tgt = {"id": stable_id("w", hash_of(salt, v, 0x3E)), "name": "https://hooks.example.net/ts"}
    else:
        request = ("POST /api/v2/tailnet/-/keys", "DELETE /api/v2/device/{deviceId}")[v % 2]
        tgt = {"id": f"req-{hash_of(salt, v, 0xFA):016x}", "name": request}
    tgt["type"] = ttype
    if ttype == "NODE":
        tgt["isEphemeral"] = node.ephemeral
    if prop:
        tgt["property"] = prop
    elif v % 5 == 0:
        tgt["property"] = ""  # "empty means no field changed", and it does appear empty
    return tgt


def _pair_partner(index: int) -> int:
    """A second event type of the same target type for two-event operations, or itself."""
    ttype, action, prop = PARTS[index]
    n = len(EVENT_TYPES)
    for step in range(1, n):
        j = (index + step) % n
        if PARTS[j][0] == ttype and PARTS[j][1:] != (action, prop) and j != _POLICY_INDEX:
            return j
    return index


_PARTNERS = tuple(_pair_partner(i) for i in range(len(EVENT_TYPES)))


# Event values the live API sends beyond the spec's enum (see the tap's LIVE_ROWS and
# tests/data/real_world): in one live export every other event was an OAuth access
# token being issued, so about one operation in four brings one here.
OAUTH_TOKEN_EVERY = 4
POSTURE_EVERY = 41
#: A body's `eventGroupID` that asks for a group of its own (the dataset derives one).
OWN_GROUP = "own-group"


def _live_body(salt: int, tailnet: str, r: int, h: int, node_count: int) -> JsonDict | None:
    """An event of a type the spec does not list, for some slots; None for the rest."""
    if h % OAUTH_TOKEN_EVERY == 1:
        return {
            "eventGroupID": OWN_GROUP,
            "origin": "CONFIG_API",
            "actor": {
                "id": "k3F261FC38A07CNTRL",
                "type": "OAUTH_CLIENT",
                "loginName": "",
                "displayName": "OAuth client",
            },
            "target": {
                "id": stable_id("k", hash_of(salt, r, 0x70C)),
                "name": ("OAuth access token", "API access token")[(h >> 9) % 5 == 0],
                "type": "OAUTH_ACCESS_TOKEN",
            },
            "action": "CREATE",
            "actionDetails": ("scopes - all", "scopes - all:read", "scopes - logs:read")[
                (h >> 12) % 3
            ],
        }
    if h % POSTURE_EVERY == 2:
        domain = domain_of(tailnet)
        node = make_node(salt, tailnet, (h >> 7) % max(node_count, 4))
        uid, login, display = USERS[(h >> 11) % len(USERS)]
        disabled = bool((h >> 14) % 2)
        return {
            "eventGroupID": OWN_GROUP,
            "origin": "ADMIN_CONSOLE",
            "actor": {
                "id": uid,
                "type": "USER",
                "loginName": f"{login}@{domain}",
                "displayName": display,
            },
            "target": {
                "id": node.node_id,
                "name": node.fqdn,
                "type": "NODE",
                "property": "POSTURE",
            },
            "action": "UPDATE",
            "old": {"PostureDisabled": not disabled},
            "new": {"PostureDisabled": disabled},
        }
    return None


def config_bodies(salt: int, tailnet: str, r: int, node_count: int) -> tuple[JsonDict, ...]:
    """Everything except eventTime/deferredAt/eventGroupID for operation slot `r`."""
    h = hash_of(salt, r, 0xC0F)
    live = _live_body(salt, tailnet, r, hash_of(h, 0x11FE), node_count)
    spec = _spec_bodies(salt, tailnet, r, h, node_count)
    # The live event comes first, in the same instant: an OAuth client gets its token,
    # then acts. Every spec type keeps its slots.
    return spec if live is None else (live, *spec)


def _spec_bodies(salt: int, tailnet: str, r: int, h: int, node_count: int) -> tuple[JsonDict, ...]:
    domain = domain_of(tailnet)
    v = h >> 5
    t_index = r % len(EVENT_TYPES)
    if t_index == _POLICY_INDEX:
        t_index = _POLICY_STAND_IN
    indices = [t_index]
    if r % PAIR_EVERY == PAIR_EVERY - 1:
        indices.append(_PARTNERS[t_index])
    node = make_node(salt, tailnet, v % max(node_count, 4))
    ttype, action, prop = PARTS[t_index]
    kind = _actor_kind(ttype, action, prop, v)
    actor_node = make_node(salt, tailnet, (v >> 3) % max(node_count, 4))
    actor, origin = _actor(kind, v >> 7, actor_node, domain)
    if ttype == "TAILNET" and v % 37 == 0:
        origin = "LEGAL_NOTIFICATION"
    bodies: list[JsonDict] = []
    for n, idx in enumerate(indices):
        ttype, action, prop = PARTS[idx]
        # A same-type pair must still differ, so the second one touches another node/user.
        tnode = node if idx != t_index or n == 0 else make_node(salt, tailnet, v % 7 + 1)
        tv = v if n == 0 else v + 1
        body: JsonDict = {
            "origin": origin,
            "actor": actor,
            "target": _target(ttype, prop, tv, salt=salt, node=tnode, tailnet=tailnet),
            "action": action,
        }
        old, new = _old_new(action, prop, tv, tnode, domain)
        if old is not _MISSING:
            body["old"] = old
        if new is not _MISSING:
            body["new"] = new
        if (v >> 11) % 11 == 0:
            body["actionDetails"] = ("tighten prod access", "offboarding", "INC-4821")[v % 3]
        if (v >> 15) % 17 == 0:
            body["error"] = ("only the tailnet owner can transfer ownership", "rate limited")[v % 2]
        if (v >> 19) % 23 == 0:
            body["newField"] = 1 if n == 0 else {"nested": [1, "two", None]}
        # Some targets (a group, the tailnet) are the same whatever node or user the pair
        # moves to: an exact copy would be one event sent twice, not a second event.
        if n == 0 or body != bodies[0]:
            bodies.append(body)
    return tuple(bodies)


def policy_update_bodies(salt: int, tailnet: str, number: int) -> tuple[JsonDict, ...]:
    """The policy update to version `number`: `old` is version `number - 1`, as HuJSON text."""
    domain = domain_of(tailnet)
    v = hash_of(salt, number, 0xAC1) >> 5
    actor, origin = _actor(
        "OAUTH_CLIENT" if v % 3 == 0 else "USER", v >> 7, make_node(salt, tailnet, 0), domain
    )
    body: JsonDict = {
        "origin": origin,
        "actor": actor,
        "target": {"id": tailnet, "name": tailnet, "type": "TAILNET", "property": "ACL"},
        "action": "UPDATE",
        "old": policy_version(number - 1, domain).hujson,
        "new": policy_version(number, domain).hujson,
    }
    return (body,)
