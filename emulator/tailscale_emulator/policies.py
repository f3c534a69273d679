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

# `{domain}` is the tailnet's user domain. Comments, trailing commas and non-ASCII on purpose.
_VERSIONS = (
    """// Policy for {domain}: engineers reach prod web, CI reaches the database.
{{
  "groups": {{
    "group:eng": ["alice@{domain}", "bob@{domain}", "zoe.muller@{domain}"],
  }},
  "tagOwners": {{
    "tag:prod": ["autogroup:admin"],
    "tag:db":   ["autogroup:admin"],
    "tag:ci":   ["group:eng"],
  }},
  "acls": [
    {{"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]}},
    {{"action": "accept", "src": ["tag:ci"], "dst": ["tag:db:5432"]}},
  ],
  "ssh": [
    {{"action": "check", "src": ["group:eng"], "dst": ["tag:prod"], "users": ["root"]}},
  ],
}}
""",
    """// Policy for {domain}: engineers reach prod web, CI reaches the database.
{{
  "groups": {{
    "group:eng": ["alice@{domain}", "bob@{domain}", "zoe.muller@{domain}"],
  }},
  "tagOwners": {{
    "tag:prod": ["autogroup:admin"],
    "tag:db":   ["autogroup:admin"],
    "tag:ci":   ["group:eng"],
  }},
  "acls": [
    {{"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]}},
    {{"action": "accept", "src": ["tag:ci"], "dst": ["tag:db:5432"]}},
    /* INC-4821 break-glass (Zoë): every member to everything until the outage is over */
    {{"action": "accept", "src": ["autogroup:member"], "dst": ["*:*"]}},
  ],
  "ssh": [
    {{"action": "check", "src": ["group:eng"], "dst": ["tag:prod"], "users": ["root"]}},
  ],
}}
""",
    """// Policy for {domain}: after INC-4821, prod web only; CI loses direct database access.
{{
  "groups": {{
    "group:eng": ["alice@{domain}", "bob@{domain}", "zoe.muller@{domain}"],
  }},
  "tagOwners": {{
    "tag:prod": ["autogroup:admin"],
    "tag:db":   ["autogroup:admin"],
    "tag:ci":   ["group:eng"],
  }},
  "acls": [
    {{"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]}},
  ],
  "tests": [
    {{"src": "alice@{domain}", "accept": ["tag:prod:443"], "deny": ["tag:db:5432"]}},
  ],
}}
""",
    """// Policy for {domain}: contractors get the web tier, CI the database again.
{{
  "groups": {{
    "group:eng": ["alice@{domain}", "bob@{domain}", "zoe.muller@{domain}"],
    "group:contractors": ["sam@{domain}"],
  }},
  "hosts": {{"corp-db": "10.20.4.15"}},
  "tagOwners": {{
    "tag:prod": ["autogroup:admin"],
    "tag:db":   ["autogroup:admin"],
    "tag:ci":   ["group:eng"],
  }},
  "acls": [
    {{"action": "accept", "src": ["group:eng"], "dst": ["tag:prod:443"]}},
    {{"action": "accept", "src": ["tag:ci"], "dst": ["tag:db:5432", "corp-db:5432"]}},
    // Contractors: web tier only, reviewed quarterly.
    {{"action": "accept", "src": ["group:contractors"], "dst": ["tag:prod:80,443"]}},
  ],
}}
""",
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
