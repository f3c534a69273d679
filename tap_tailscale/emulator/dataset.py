"""Deterministic synthetic Tailscale logs, generated per window by arithmetic.

Nothing is stored: event `i` of a tailnet sits in the time slot
`[i * interval, (i + 1) * interval)` counted from the Unix epoch, and everything about it
comes from a 64-bit hash of `(seed, tailnet, i)`. Any window can therefore be produced
lazily and two windows agree on the events they share, however large the dataset is.

Payload bodies (actor, target, old/new, traffic arrays) repeat with a fixed period and are
cached, so the returned dicts share nested objects: treat them as read-only.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

JsonDict = dict[str, Any]

NS_PER_SECOND = 1_000_000_000
ZERO_TIME = "0001-01-01T00:00:00Z"
CONFIG_VERSION = "1.1"
MAX_U64 = (1 << 64) - 1

# The `event` filter enum of listConfigurationAuditLogs, in spec order
# (tailscale-client-go-v2 OpenAPI spec, commit b5064907). A word list keeps 116 names short.
EVENT_TYPES: tuple[str, ...] = tuple(
    """
    ADMIN_CONSOLE.LOGIN ADMIN_CONSOLE.LOGOUT API_KEY.CREATE API_KEY.EXPIRED API_KEY.REVOKE
    BILLING.CANCEL.SUBSCRIPTION BILLING.CREATE.SUBSCRIPTION BILLING.UPDATE.ADDRESS
    BILLING.UPDATE.BILLING_OWNER BILLING.UPDATE.EMAIL BILLING.UPDATE.PAYMENT_INFO
    BILLING.UPDATE.STRIPE_CUSTOMER_ID BILLING.UPDATE.SUBSCRIPTION FAILED_REQUEST.UPDATE
    GROUP.PUSH_GROUP.ATTRIBUTES INVITE.ACCEPT.FEATURE INVITE.ACCEPT.NODE_SHARE
    INVITE.ACCEPT.TAILNET_INVITE INVITE.CREATE.FEATURE INVITE.CREATE.NODE_SHARE
    INVITE.CREATE.TAILNET_INVITE INVITE.DELETE.NODE_SHARE INVITE.DELETE.TAILNET_INVITE
    INVITE.RESEND.NODE_SHARE INVITE.RESEND.TAILNET_INVITE NODE.APPROVE NODE.CREATE
    NODE.CREATE.ATTRIBUTES NODE.DELETE NODE.DELETE.ATTRIBUTES NODE.DISABLE.KEY_EXPIRY
    NODE.DISCONNECT_NODE.CLIENT_LOG NODE.ENABLE.KEY_EXPIRY NODE.EXPIRED.KEY_EXPIRY_TIME
    NODE.LOGIN NODE.LOGOUT NODE.REVOKE NODE.UPDATE.ACL_TAGS NODE.UPDATE.ALLOWED_IPS
    NODE.UPDATE.ATTRIBUTES NODE.UPDATE.AUTO_APPROVED_ROUTES NODE.UPDATE.EXIT_NODE
    NODE.UPDATE.KEY_EXPIRY_TIME NODE.UPDATE.MACHINE_NAME NODE.UPDATE.POSTURE_IDENTITY
    NODE.UPDATE.TKA SHARE.CREATE SHARE.DELETE SHARE.UPDATE TAILNET.ACCEPT.FEATURE TAILNET.CREATE
    TAILNET.CREATE.LOGSTREAM_ENDPOINT TAILNET.CREATE.POSTURE_INTEGRATION TAILNET.CREATE.TKA
    TAILNET.DELETE.LOGSTREAM_ENDPOINT TAILNET.DELETE.POSTURE_INTEGRATION TAILNET.DELETE.TKA
    TAILNET.DISABLE.COLLECT_POSTURE_IDENTITY TAILNET.DISABLE.COLLECT_SERVICES
    TAILNET.DISABLE.FILE_SHARING TAILNET.DISABLE.GEOSTEERING TAILNET.DISABLE.HTTPS
    TAILNET.DISABLE.LOG_EXIT_FLOWS TAILNET.DISABLE.MACHINE_APPROVAL_NEEDED
    TAILNET.DISABLE.MAGIC_DNS TAILNET.DISABLE.MULLVAD_VPN TAILNET.DISABLE.NETWORK_FLOW_LOGGING
    TAILNET.DISABLE.SCIM TAILNET.DISABLE.TKA TAILNET.DISABLE.USER_APPROVAL_REQUIRED
    TAILNET.ENABLE.COLLECT_POSTURE_IDENTITY TAILNET.ENABLE.COLLECT_SERVICES
    TAILNET.ENABLE.FILE_SHARING TAILNET.ENABLE.GEOSTEERING TAILNET.ENABLE.HTTPS
    TAILNET.ENABLE.LOG_EXIT_FLOWS TAILNET.ENABLE.MACHINE_APPROVAL_NEEDED
    TAILNET.ENABLE.MAGIC_DNS TAILNET.ENABLE.MULLVAD_VPN TAILNET.ENABLE.NETWORK_FLOW_LOGGING
    TAILNET.ENABLE.SCIM TAILNET.ENABLE.TKA TAILNET.ENABLE.USER_APPROVAL_REQUIRED TAILNET.JOIN
    TAILNET.JOIN_WAITLIST.FEATURE TAILNET.LEAVE TAILNET.UPDATE.ACCOUNT_EMAIL TAILNET.UPDATE.ACL
    TAILNET.UPDATE.DNS_CONFIG TAILNET.UPDATE.LOGSTREAM_ENDPOINT TAILNET.UPDATE.MAX_KEY_DURATION
    TAILNET.UPDATE.POSTURE_INTEGRATION TAILNET.UPDATE.SECURITY_EMAIL
    TAILNET.UPDATE.SUPPORT_EMAIL TAILNET.UPDATE.TCD TAILNET.UPDATE.TKA
    TAILNET.VERIFY.ACCOUNT_EMAIL TAILNET.VERIFY.SECURITY_EMAIL TAILNET.VERIFY.SUPPORT_EMAIL
    USER.APPROVE USER.CREATE USER.DELETE USER.INVITE USER.PUSH_USER.ATTRIBUTES
    USER.RESEND.TAILNET_INVITE USER.RESTORE USER.RESTORE_GLOBAL USER.SUSPEND USER.SUSPEND_GLOBAL
    USER.UPDATE.USER_ROLE WEBHOOK_ENDPOINT.CREATE WEBHOOK_ENDPOINT.DELETE
    WEBHOOK_ENDPOINT.UPDATE.SECRET WEBHOOK_ENDPOINT.UPDATE.SUBSCRIBED_EVENTS WEB_INTERFACE.LOGIN
    WEB_INTERFACE.LOGOUT
    """.split()  # noqa: SIM905
)
EVENT_TYPE_SET = frozenset(EVENT_TYPES)
_PARTS: tuple[tuple[str, str, str], ...] = tuple(
    (p[0], p[1], p[2] if len(p) > 2 else "") for p in (t.split(".") for t in EVENT_TYPES)
)

# Every 7th operation writes two events; with 116 types the payloads repeat every
# 116 * 7 operations, times 5 so each type also shows several payload variants.
_PAIR_EVERY = 7
_CONFIG_PERIOD = len(EVENT_TYPES) * _PAIR_EVERY * 5
_NETWORK_PERIOD = 61
# eventTime precision, as Go trims it: mostly microseconds, some nanoseconds, some
# milliseconds or centiseconds, some whole seconds (truncation step in ns).
_TRIM = (1000,) * 14 + (1,) * 2 + (1_000_000, 10_000_000, NS_PER_SECOND, NS_PER_SECOND)

# --------------------------------------------------------------------------- settings


@dataclass
class TailnetConfig:
    """How one emulated tailnet behaves and how dense its logs are."""

    plan_has_flow_logs: bool = True
    flow_logs_enabled: bool = True
    config_event_interval_seconds: float = 900
    network_nodes: int = 3
    network_interval_seconds: float = 300
    traffic_items: int = 3
    quiet_periods: list[tuple[datetime, datetime]] = field(default_factory=list)


class DatasetSettings(Protocol):
    """The part of the emulator configuration that decides the data (read live)."""

    @property
    def dataset_start(self) -> datetime: ...

    @property
    def dataset_end(self) -> datetime: ...

    @property
    def tailnets(self) -> Mapping[str, TailnetConfig]: ...

    @property
    def seed(self) -> int: ...

    @property
    def inclusive_end(self) -> bool: ...


# ------------------------------------------------------------------------------ time

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def to_ns(moment: datetime) -> int:
    """Nanoseconds since the Unix epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: give a timezone (UTC)")
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def parse_rfc3339_ns(text: str) -> int | None:
    """Epoch nanoseconds of an RFC 3339 timestamp, or None if it is not one.

    Like Go's time.Parse(time.RFC3339, ...): any number of fractional digits, `Z` or a
    numeric offset. Digits beyond nanoseconds are dropped.
    """
    m = _RFC3339.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, second, tzinfo=UTC)  # range check only
    except ValueError:
        return None
    offset = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * 60 * (1 if m.group(9) == "+" else -1)
    frac = (m.group(7) or "")[:9].ljust(9, "0")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    return seconds * NS_PER_SECOND + int(frac)


@functools.lru_cache(maxsize=16384)
def _second_prefix(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def format_go(ns: int) -> str:
    """RFC 3339 with trailing fractional zeros trimmed, as Go's RFC3339Nano prints."""
    seconds, frac = divmod(ns, NS_PER_SECOND)
    if frac == 0:
        return _second_prefix(seconds) + "Z"
    return f"{_second_prefix(seconds)}.{f'{frac:09d}'.rstrip('0')}Z"


@functools.lru_cache(maxsize=4096)
def _minute_prefix(minute: int) -> str:
    """`YYYY-MM-DDTHH:MM:` of an epoch minute; a C-level cache hit beats strftime."""
    return time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))


# ------------------------------------------------------------------------------ hash

_M64 = MAX_U64
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(x: int) -> int:
    """splitmix64 finaliser: cheap, well distributed, identical on every platform."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _h(*parts: int) -> int:
    acc = 0
    for part in parts:
        acc = _mix(acc ^ (part & _M64))
    return acc


@functools.lru_cache(maxsize=256)
def _salt(seed: int, tailnet: str) -> int:
    # Python's hash() of a str changes per process, so derive the salt from a digest.
    digest = hashlib.blake2b(tailnet.encode(), digest_size=8).digest()
    return _h(int.from_bytes(digest, "big"), seed)


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _stable_id(prefix: str, h: int, length: int = 7) -> str:
    chars = []
    for _ in range(length):
        h, r = divmod(h, 62)
        chars.append(_ALNUM[r])
    return prefix + "".join(chars) + "CNTRL"


# ----------------------------------------------------------------------------- nodes

_HOSTS = (
    "db-replica-1",
    "build-runner-3",
    "web-prod-2",
    "alice-laptop",
    "bob-phone",
    "gw-office",
    "k8s-node-7",
    "exit-fra",
    "zoe-desktop",
    "ci-ephemeral",
)
_OSES = ("linux", "windows", "macOS", "iOS", "android", "freebsd")
_USERS: tuple[tuple[str, str, str], ...] = (
    ("uAl1ce7CNTRL", "alice", "Alice Jones"),
    ("uB0b42xCNTRL", "bob", "Bob Smith"),
    ("uZo3m9kCNTRL", "zoe.muller", "Zoë Müller"),
    ("uQx7Lm2CNTRL", "dana.ops", "Dana Ops"),
    ("uC9m2RdCNTRL", "sam", "Sam O'Neil"),
)


@dataclass(frozen=True)
class _Node:
    node_id: str
    host: str
    fqdn: str
    ipv4: str
    ipv6: str
    public: str
    ephemeral: bool
    tags: tuple[str, ...]
    info: JsonDict


def _domain(tailnet: str) -> str:
    return tailnet if "." in tailnet else "example.com"


def _magic_suffix(salt: int) -> str:
    return f"tail{salt & 0xFFFFF:05x}.ts.net"


@functools.lru_cache(maxsize=65536)
def _make_node(salt: int, tailnet: str, k: int) -> _Node:
    h = _h(salt, k, 0x4E0DE)
    host = _HOSTS[k % len(_HOSTS)] + ("" if k < len(_HOSTS) else f"-{k}")
    fqdn = f"{host}.{_magic_suffix(salt)}"
    ipv4 = f"100.{64 + (h >> 8) % 64}.{(h >> 16) % 256}.{1 + k % 254}"
    ipv6 = f"fd7a:115c:a1e0::{(h >> 24) & 0xFFFF:x}:{k + 1:x}"
    public = (
        f"203.0.113.{1 + (h >> 40) % 254}:41641"
        if k % 3
        else f"[2001:db8::{(h >> 44) & 0xFFF:x}]:41641"
    )
    tags: tuple[str, ...] = ()
    user = f"{_USERS[k % len(_USERS)][1]}@{_domain(tailnet)}"
    if k % 4 == 0:
        tags = ("tag:prod", "tag:db") if k % 8 == 0 else ("tag:ci",)
    info: JsonDict = {
        "nodeId": _stable_id("n", h >> 2),
        "name": fqdn + ".",
        "addresses": [ipv4, ipv6],
        "os": _OSES[k % len(_OSES)],
    }
    if tags:
        info["tags"] = list(tags)
    else:
        info["user"] = user
    return _Node(
        node_id=info["nodeId"],
        host=host,
        fqdn=fqdn,
        ipv4=ipv4,
        ipv6=ipv6,
        public=public,
        ephemeral=k % 5 == 4,
        tags=tags,
        info=info,
    )


# ---------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class ConfigFilter:
    """The optional `actor`, `target` and `event` query filters (OR within, AND across)."""

    actor: tuple[str, ...] = ()
    target: tuple[str, ...] = ()
    event: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.actor or self.target or self.event)

    def matches(self, ev: Mapping[str, Any]) -> bool:
        """Whether one configuration event passes every given filter."""
        if self.event and event_type_of(ev) not in self.event:
            return False
        if self.actor and not any(_actor_matches(ev.get("actor") or {}, a) for a in self.actor):
            return False
        if self.target:
            tgt = ev.get("target") or {}
            hay = (str(tgt.get("id", "")).lower(), str(tgt.get("name", "")).lower())
            if not any(t.lower() in h for t in self.target for h in hay):
                return False
        return True


def event_type_of(ev: Mapping[str, Any]) -> str:
    """The `TARGETTYPE.ACTION[.PROPERTY]` string the `event` filter compares with."""
    tgt = ev.get("target") or {}
    key = f"{tgt.get('type', '')}.{ev.get('action', '')}"
    prop = tgt.get("property")
    return f"{key}.{prop}" if prop else key


def _actor_matches(actor: Mapping[str, Any], wanted: str) -> bool:
    if wanted.startswith("~"):
        needle = wanted[1:].lower()
        return (
            needle in str(actor.get("loginName", "")).lower()
            or needle in str(actor.get("displayName", "")).lower()
        )
    return actor.get("id") == wanted


# ------------------------------------------------------------------- configuration body

# HuJSON as people write it: comments, trailing commas, non-ASCII.
_POLICIES = (
    '{\n  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]\n}\n',
    '{\n  // Engineers reach prod web servers only.\n  "acls": [\n'
    '    {"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]},\n  ],\n'
    '  "tagOwners": {\n    "tag:prod": ["autogroup:admin"],\n  },\n}\n',
    '{\n  /* Zoë\'s break-glass rule, remove after the incident */\n  "acls": [\n'
    '    {"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]},\n'
    '    {"action": "accept", "src": ["zoe.muller@example.com"], "dst": ["tag:db:5432"]},\n'
    '  ],\n  "ssh": [{"action": "check", "src": ["autogroup:member"],'
    ' "dst": ["autogroup:self"], "users": ["autogroup:nonroot"]}],\n}\n',
    '{\n  "groups": {"group:eng": ["alice@example.com", "bob@example.com",],},\n'
    '  "acls": [\n    // default deny except eng\n'
    '    {"action": "accept", "src": ["group:eng"], "dst": ["*:22,443"]},\n  ],\n}\n',
)

_MISSING = object()


# One branch per property reads better here than a table of lambdas.
def _old_new(  # noqa: PLR0911, PLR0912
    action: str, prop: str, v: int, node: _Node, domain: str
) -> tuple[Any, Any]:
    """Plausible before/after values of the changed property (`_MISSING` = key absent)."""
    toggles = {"ENABLE": (False, True), "DISABLE": (True, False)}
    if prop == "ACL":
        return _POLICIES[v % len(_POLICIES)], _POLICIES[(v + 1) % len(_POLICIES)]
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


def _actor(kind: str, v: int, node: _Node, domain: str) -> tuple[JsonDict, str]:
    """The actor object and the origin that fits it."""
    if kind == "NODE":
        actor: JsonDict = {"id": node.node_id, "type": "NODE", "displayName": node.host}
        if node.tags:
            actor["tags"] = list(node.tags)
        return actor, ("NODE" if v % 2 else "CONTROL")
    if kind == "USER":
        uid, login, display = _USERS[v % len(_USERS)]
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


def _target(ttype: str, prop: str, v: int, *, salt: int, node: _Node, tailnet: str) -> JsonDict:
    domain = _domain(tailnet)
    uid, login, _display = _USERS[(v + 2) % len(_USERS)]
    if ttype in {"TAILNET", "BILLING"}:
        tgt: JsonDict = {"id": tailnet, "name": tailnet}
    elif ttype in {"USER", "ADMIN_CONSOLE"}:
        tgt = {"id": uid, "name": f"{login}@{domain}"}
    elif ttype == "GROUP":
        tgt = {"id": "group:eng", "name": "Engineering"}
    elif ttype in {"NODE", "WEB_INTERFACE", "SHARE"}:
        tgt = {"id": node.node_id, "name": node.fqdn}
    elif ttype == "API_KEY":
        tgt = {"id": _stable_id("k", _h(salt, v, 0xA91)), "name": ("API key", "auth key")[v % 2]}
    elif ttype == "INVITE":
        tgt = {"id": _stable_id("i", _h(salt, v, 0x1E)), "name": f"invite for {login}@{domain}"}
    elif ttype == "WEBHOOK_ENDPOINT":
        tgt = {"id": _stable_id("w", _h(salt, v, 0x3E)), "name": "https://hooks.example.net/ts"}
    else:
        request = ("POST /api/v2/tailnet/-/keys", "DELETE /api/v2/device/{deviceId}")[v % 2]
        tgt = {"id": f"req-{_h(salt, v, 0xFA):016x}", "name": request}
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
    ttype, action, prop = _PARTS[index]
    n = len(EVENT_TYPES)
    for step in range(1, n):
        j = (index + step) % n
        if _PARTS[j][0] == ttype and _PARTS[j][1:] != (action, prop):
            return j
    return index


_PARTNERS = tuple(_pair_partner(i) for i in range(len(EVENT_TYPES)))


def _config_bodies(salt: int, tailnet: str, r: int, node_count: int) -> tuple[JsonDict, ...]:
    """Everything except eventTime/deferredAt/eventGroupID for operation slot `r`."""
    domain = _domain(tailnet)
    h = _h(salt, r, 0xC0F)
    v = h >> 5
    t_index = r % len(EVENT_TYPES)
    indices = [t_index]
    if r % _PAIR_EVERY == _PAIR_EVERY - 1:
        indices.append(_PARTNERS[t_index])
    node = _make_node(salt, tailnet, v % max(node_count, 4))
    ttype, action, prop = _PARTS[t_index]
    kind = _actor_kind(ttype, action, prop, v)
    actor_node = _make_node(salt, tailnet, (v >> 3) % max(node_count, 4))
    actor, origin = _actor(kind, v >> 7, actor_node, domain)
    if ttype == "TAILNET" and v % 37 == 0:
        origin = "LEGAL_NOTIFICATION"
    bodies: list[JsonDict] = []
    for n, idx in enumerate(indices):
        ttype, action, prop = _PARTS[idx]
        # A same-type pair must still differ, so the second one touches another node/user.
        tnode = node if idx != t_index or n == 0 else _make_node(salt, tailnet, v % 7 + 1)
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
        bodies.append(body)
    return tuple(bodies)


# --------------------------------------------------------------------------- network body

_PORTS = (443, 443, 22, 80, 5432, 53, 3478, 0)


def _counts(h: int) -> JsonDict:
    counts: JsonDict = {}
    tx_pkts = 1 + h % 60
    rx_pkts = 1 + (h >> 6) % 90
    tx_zero = (h >> 13) % 9 == 0
    rx_zero = not tx_zero and (h >> 17) % 5 == 0
    huge = (h >> 21) % 40
    if not tx_zero:
        counts["txPkts"] = tx_pkts
        counts["txBytes"] = tx_pkts * (60 + (h >> 27) % 1400)
    if not rx_zero:
        counts["rxPkts"] = rx_pkts
        counts["rxBytes"] = rx_pkts * (60 + (h >> 37) % 1400)
    # Counters are uint64 on the node, so values past 2**53 (and the maximum) occur.
    if huge == 0 and "txBytes" in counts:
        counts["txBytes"] = (1 << 53) + 1 + (h >> 30)
    elif huge == 1 and "rxBytes" in counts:
        counts["rxBytes"] = MAX_U64
    return counts


def _connection(kind: int, h: int, node: _Node, peer: _Node) -> JsonDict:
    port = _PORTS[(h >> 3) % len(_PORTS)]
    proto: Any = 1 if port == 0 else (17 if port in {53, 3478} else 6)
    if (h >> 9) % 10 == 0 and proto != 1:
        proto = "tcp" if proto == 6 else "udp"
    v6 = (h >> 15) % 4 == 0
    src_ip = f"[{node.ipv6}]" if v6 else node.ipv4
    sport = 0 if port == 0 else 32768 + (h >> 17) % 28000
    if kind == 0:
        dst = f"[{peer.ipv6}]:{port}" if v6 else f"{peer.ipv4}:{port}"
    elif kind == 1:
        dst = f"10.20.{(h >> 33) % 8}.{1 + (h >> 36) % 250}:{port}"
        src_ip = node.ipv4
    else:
        dst = f"[2606:4700::{(h >> 33) & 0xFFF:x}]:{port}" if v6 else f"198.51.100.7:{port}"
    conn: JsonDict = {"proto": proto, "src": f"{src_ip}:{sport}", "dst": dst}
    conn.update(_counts(_mix(h)))
    return conn


def _network_body(salt: int, tailnet: str, k: int, r: int, *, nodes: int, items: int) -> JsonDict:
    node = _make_node(salt, tailnet, k)
    h = _h(salt, k, r, 0x7E7)
    buckets: list[list[JsonDict]] = [[], [], [], []]
    for m in range(items):
        hm = _h(h, m)
        roll = hm % 20
        kind = 0 if roll < 10 else 1 if roll < 13 else 2 if roll < 16 else 3
        peer = _make_node(salt, tailnet, (k + 1 + (hm >> 5) % max(nodes - 1, 1)) % max(nodes, 2))
        if kind == 3:
            conn: JsonDict = {"src": f"{node.ipv4}:0", "dst": peer.public}
            conn.update(_counts(_mix(hm)))
        else:
            conn = _connection(kind, hm, node, peer)
        buckets[kind].append(conn)
    body: JsonDict = {}
    if (h >> 50) % 3 == 0:
        body["srcNode"] = node.info
        peers = [(k + 1 + d) % max(nodes, 2) for d in range(1 + (h >> 55) % 2)]
        body["dstNodes"] = [_make_node(salt, tailnet, p).info for p in peers if p != k]
    for name, bucket in zip(
        ("virtualTraffic", "subnetTraffic", "exitTraffic", "physicalTraffic"), buckets, strict=True
    ):
        if bucket:
            body[name] = bucket
    return body


# ---------------------------------------------------------------------------- dataset


class Dataset:
    """The synthetic logs of every configured tailnet, generated window by window.

    Reads `settings` live, so tests may change quiet periods or rates between requests.
    Bounds: `start <= t`, and `t <= end` (or `t < end` when `inclusive_end` is false), where
    `t` is `eventTime` (configuration) or `logged` (network). Only times in
    `[dataset_start, dataset_end)` exist.
    """

    def __init__(self, settings: DatasetSettings) -> None:
        self.settings = settings
        self._config_cache: dict[tuple[int, str, int], list[tuple[JsonDict, ...] | None]] = {}
        self._network_cache: dict[tuple[int, str, int, int], list[JsonDict | None]] = {}

    # -- public API --------------------------------------------------------------------

    def tailnet(self, name: str) -> TailnetConfig:
        """The tailnet's settings; KeyError if it is not configured."""
        return self.settings.tailnets[name]

    def configuration_events(
        self,
        tailnet: str,
        start: datetime,
        end: datetime,
        *,
        actor: Iterable[str] = (),
        target: Iterable[str] = (),
        event: Iterable[str] = (),
    ) -> Iterator[JsonDict]:
        """Configuration audit events in the window, chronological, as the API returns them."""
        flt = ConfigFilter(tuple(actor), tuple(target), tuple(event))
        return self.configuration_events_ns(tailnet, to_ns(start), to_ns(end), flt)

    def network_logs(self, tailnet: str, start: datetime, end: datetime) -> Iterator[JsonDict]:
        """Network flow log records whose `logged` falls in the window, chronological."""
        return self.network_logs_ns(tailnet, to_ns(start), to_ns(end))

    def all_configuration_events(self, tailnet: str) -> Iterator[JsonDict]:
        """Every configuration event in `[dataset_start, dataset_end)`."""
        lo, hi = self._range()
        return self._config_iter(tailnet, lo, hi - 1, ConfigFilter())

    def all_network_logs(self, tailnet: str) -> Iterator[JsonDict]:
        """Every network record in `[dataset_start, dataset_end)`."""
        lo, hi = self._range()
        return self._network_iter(tailnet, lo, hi - 1)

    def configuration_events_ns(
        self, tailnet: str, start_ns: int, end_ns: int, flt: ConfigFilter | None = None
    ) -> Iterator[JsonDict]:
        """Like `configuration_events`, with epoch-nanosecond bounds."""
        lo, hi = self._bounds(start_ns, end_ns)
        return self._config_iter(tailnet, lo, hi, flt or ConfigFilter())

    def network_logs_ns(self, tailnet: str, start_ns: int, end_ns: int) -> Iterator[JsonDict]:
        """Like `network_logs`, with epoch-nanosecond bounds."""
        lo, hi = self._bounds(start_ns, end_ns)
        return self._network_iter(tailnet, lo, hi)

    # -- generation --------------------------------------------------------------------

    def _range(self) -> tuple[int, int]:
        return to_ns(self.settings.dataset_start), to_ns(self.settings.dataset_end)

    def _bounds(self, start_ns: int, end_ns: int) -> tuple[int, int]:
        """The inclusive nanosecond range `[lo, hi]` a window may return."""
        ds_lo, ds_hi = self._range()
        hi = end_ns if self.settings.inclusive_end else end_ns - 1
        return max(start_ns, ds_lo), min(hi, ds_hi - 1)

    def _quiet(self, tailnet: str) -> list[tuple[int, int]]:
        return [(to_ns(a), to_ns(b)) for a, b in self.tailnet(tailnet).quiet_periods]

    def _config_memo(
        self, salt: int, tailnet: str, nodes: int
    ) -> list[tuple[JsonDict, ...] | None]:
        # Payloads repeat every _CONFIG_PERIOD operations; index a flat list by slot.
        memo_key = (salt, tailnet, nodes)
        memo = self._config_cache.get(memo_key)
        if memo is None:
            if len(self._config_cache) >= 8:
                self._config_cache.clear()
            memo = self._config_cache[memo_key] = [None] * _CONFIG_PERIOD
        return memo

    def _config_iter(self, tailnet: str, lo: int, hi: int, flt: ConfigFilter) -> Iterator[JsonDict]:
        # Validate eagerly so an unknown tailnet fails at the call, not at the first next().
        cfg = self.tailnet(tailnet)
        interval = max(1, round(cfg.config_event_interval_seconds * NS_PER_SECOND))
        return self._config_gen(tailnet, cfg, interval, lo=lo, hi=hi, flt=flt)

    def _config_gen(
        self,
        tailnet: str,
        cfg: TailnetConfig,
        interval: int,
        *,
        lo: int,
        hi: int,
        flt: ConfigFilter,
    ) -> Iterator[JsonDict]:
        # Hot loop (benchmarks pull 100k+ events per window): hashing and time formatting
        # are inlined because a Python call costs as much as the work it wraps.
        if hi < lo:
            return
        salt = _salt(self.settings.seed, tailnet)
        quiet = self._quiet(tailnet)
        filtered = bool(flt)
        span = max(1, interval * 4 // 5)
        nodes = cfg.network_nodes
        memo = self._config_memo(salt, tailnet, nodes)
        minute_prefix = _minute_prefix
        i = lo // interval - 1
        while i * interval <= hi:
            slot = i * interval
            x = (salt ^ (i * _GOLDEN)) & _M64
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
            h = x ^ (x >> 31)
            t = slot + h % span
            trimmed = t - t % _TRIM[(h >> 40) % len(_TRIM)]
            # Coarser precision must not move the event into the previous slot.
            if trimmed >= slot:
                t = trimmed
            i += 1
            if t < lo or t > hi or (quiet and any(a <= t < b for a, b in quiet)):
                continue
            r = (i - 1) % _CONFIG_PERIOD
            bodies = memo[r]
            if bodies is None:
                bodies = memo[r] = _config_bodies(salt, tailnet, r, nodes)
            # format_go(t) inlined: this loop runs per event.
            secs, frac = divmod(t, NS_PER_SECOND)
            minute, sec = divmod(secs, 60)
            if frac:
                event_time = f"{minute_prefix(minute)}{sec:02d}.{frac:09d}".rstrip("0") + "Z"
            else:
                event_time = f"{minute_prefix(minute)}{sec:02d}Z"
            group = "%016x%016x" % (h, (h * 0xD6E8FEB86659FD93) & _M64)  # noqa: UP031 - fastest
            deferred = ZERO_TIME
            if (h >> 48) % 13 == 0:
                deferred = format_go(t - 1_000_000 * (1 + (h >> 52) % 900))
            for body in bodies:
                ev: JsonDict = {
                    "eventTime": event_time,
                    "type": "CONFIG",
                    "deferredAt": deferred,
                    "eventGroupID": group,
                }
                ev.update(body)
                if not filtered or flt.matches(ev):
                    yield ev

    def _network_iter(self, tailnet: str, lo: int, hi: int) -> Iterator[JsonDict]:
        cfg = self.tailnet(tailnet)
        return self._network_gen(tailnet, cfg, lo, hi)

    def _network_memo(
        self, salt: int, tailnet: str, nodes: int, items: int
    ) -> list[JsonDict | None]:
        # Payloads repeat every _NETWORK_PERIOD reports per node; a flat list indexed by
        # (node, report % period) is the cheapest memo lookup in the hot loop.
        memo_key = (salt, tailnet, nodes, items)
        bodies = self._network_cache.get(memo_key)
        if bodies is None:
            if len(self._network_cache) >= 8:
                self._network_cache.clear()
            bodies = [None] * (nodes * _NETWORK_PERIOD)
            self._network_cache[memo_key] = bodies
        return bodies

    def _network_gen(
        self, tailnet: str, cfg: TailnetConfig, lo: int, hi: int
    ) -> Iterator[JsonDict]:
        nodes = cfg.network_nodes
        if hi < lo or nodes <= 0:
            return
        salt = _salt(self.settings.seed, tailnet)
        quiet = self._quiet(tailnet)
        period = max(nodes, round(cfg.network_interval_seconds * NS_PER_SECOND))
        stagger = period // nodes
        jitter_span = max(1, stagger // 2)
        sample_len = min(period, 5 * NS_PER_SECOND)
        items = cfg.traffic_items
        node_ids = [_make_node(salt, tailnet, k).node_id for k in range(nodes)]
        bodies = self._network_memo(salt, tailnet, nodes, items)
        prefix = _second_prefix
        j = lo // period - 1
        while j * period <= hi:
            base = j * period
            r = j % _NETWORK_PERIOD
            prev_t = 0
            idx = j * nodes
            for k in range(nodes):
                x = (salt ^ ((idx + k) * _GOLDEN)) & _M64
                x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
                x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
                h = x ^ (x >> 31)
                t = base + k * stagger + h % jitter_span
                t -= t % 1000  # the server stamps `logged` in microseconds
                # Now and then two nodes report in the same instant, so `logged` is no key.
                if k & 1 and (h >> 48) & 7 == 0:
                    t = prev_t
                prev_t = t
                if t < lo or t > hi or (quiet and any(a <= t < b for a, b in quiet)):
                    continue
                body = bodies[k * _NETWORK_PERIOD + r]
                if body is None:
                    body = _network_body(salt, tailnet, k, r, nodes=nodes, items=items)
                    bodies[k * _NETWORK_PERIOD + r] = body
                end = t - 20_000_000 - (h >> 20) % 780_000_000
                start = end - sample_len + (h >> 30) % 4_000_000
                # Six-digit and Go-style timestamps formatted inline: this is the hottest loop.
                secs, frac = divmod(t, NS_PER_SECOND)
                logged = f"{prefix(secs)}.{frac // 1000:06d}Z"
                secs, frac = divmod(end, NS_PER_SECOND)
                end_text = (
                    f"{prefix(secs)}.{frac:09d}".rstrip("0") + "Z" if frac else prefix(secs) + "Z"
                )
                secs, frac = divmod(start, NS_PER_SECOND)
                start_text = (
                    f"{prefix(secs)}.{frac:09d}".rstrip("0") + "Z" if frac else prefix(secs) + "Z"
                )
                rec: JsonDict = {
                    "logged": logged,
                    "nodeId": node_ids[k],
                    "start": start_text,
                    "end": end_text,
                }
                rec.update(body)
                yield rec
            j += 1
