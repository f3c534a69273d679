"""The tailnet policy file's versions: HuJSON as people write it, and its JSON form.

Policy updates (`TAILNET.UPDATE.ACL`) walk the versions in a cycle, so consecutive updates
chain (one update's `new` is the next one's `old`) and the cycle holds both a widening
(a break-glass rule to `*:*`) and the narrowing that takes it back.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

# Building blocks of the versions. `{domain}` is the tailnet's user domain; comments,
# trailing commas and non-ASCII on purpose, as people write HuJSON.
_GROUPS = """  "groups": {{
    "group:eng": ["alice@{domain}", "bob@{domain}", "zoe.muller@{domain}"],{extra}
  }},
"""
_TAG_OWNERS = """  "tagOwners": {{
    "tag:prod": ["autogroup:admin"],
    "tag:db":   ["autogroup:admin"],
    "tag:ci":   ["group:eng"],
  }},
"""
_ENG_WEB = '    {{"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]}},\n'
_CI_DB_TO = '    {{"action": "accept", "src": ["tag:ci"], "dst": ["tag:db:5432"{host}]}},\n'
_CI_DB = _CI_DB_TO.replace("{host}", "")
_BREAK_GLASS = (
    "    /* INC-4821 break-glass (Zoë): every member to everything until the outage is over */\n"
    '    {{"action": "accept", "src": ["autogroup:member"], "dst": ["*:*"]}},\n'
)
_CONTRACTORS = (
    "    // Contractors: web tier only, reviewed quarterly.\n"
    '    {{"action": "accept", "src": ["group:contractors"], "dst": ["tag:prod:80,443"]}},\n'
)
_SSH = """  "ssh": [
    {{"action": "check", "src": ["group:eng"], "dst": ["tag:prod"], "users": ["root"]}},
  ],
"""
_TESTS = """  "tests": [
    {{"src": "alice@{domain}", "accept": ["tag:prod:443"], "deny": ["tag:db:5432"]}},
  ],
"""
_HOSTS = '  "hosts": {{"corp-db": "10.20.4.15"}},\n'
_CONTRACTOR_GROUP = '\n    "group:contractors": ["sam@{domain}"],'


def _version(title: str, head: str, rules: str, tail: str = "") -> str:
    """One policy text; braces are doubled because `policy_version` formats `{domain}`."""
    return (
        "// Policy for {domain}: "
        + title
        + "\n{{\n"
        + head
        + '  "acls": [\n'
        + rules
        + "  ],\n"
        + tail
        + "}}\n"
    )


_BASE_HEAD = _GROUPS.replace("{extra}", "") + _TAG_OWNERS
_VERSIONS = (
    _version("engineers reach prod web, CI the database.", _BASE_HEAD, _ENG_WEB + _CI_DB, _SSH),
    _version(
        "break-glass open while INC-4821 lasts.",
        _BASE_HEAD,
        _ENG_WEB + _CI_DB + _BREAK_GLASS,
        _SSH,
    ),
    _version("after INC-4821, prod web only; no CI database access.", _BASE_HEAD, _ENG_WEB, _TESTS),
    _version(
        "contractors get the web tier, CI the database again.",
        _GROUPS.replace("{extra}", _CONTRACTOR_GROUP) + _HOSTS + _TAG_OWNERS,
        _ENG_WEB + _CI_DB_TO.replace("{host}", ', "corp-db:5432"') + _CONTRACTORS,
    ),
)
POLICY_VERSION_COUNT = len(_VERSIONS)

_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?\*/', re.DOTALL)
_TRAILING_COMMA = re.compile(r'("(?:[^"\\]|\\.)*")|,(\s*[\]}])')


def hujson_to_json(text: str) -> Any:
    """The JSON value of a HuJSON document (comments and trailing commas removed)."""
    no_comments = _COMMENT_OR_STRING.sub(
        lambda m: m.group(0) if m.group(0).startswith('"') else " ", text
    )
    standard = _TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2), no_comments)
    return orjson.loads(standard)


@dataclass(frozen=True)
class PolicyVersion:
    """One version of the policy file as `GET /acl` serves it."""

    number: int
    hujson: str

    @property
    def json(self) -> Any:
        """The parsed policy (what `Accept: application/json` returns)."""
        return hujson_to_json(self.hujson)

    @property
    def etag(self) -> str:
        """The `ETag` header value, quotes included."""
        return '"' + hashlib.sha256(self.hujson.encode()).hexdigest()[:32] + '"'


def policy_version(number: int, domain: str) -> PolicyVersion:
    """Version `number` of the cycle (any integer; the cycle repeats)."""
    return PolicyVersion(number, _VERSIONS[number % POLICY_VERSION_COUNT].format(domain=domain))
