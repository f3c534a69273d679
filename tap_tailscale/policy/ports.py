"""Ports and protocols of ACL destinations (`host:22,80-90`) and grant `ip` entries.

Syntax: https://tailscale.com/docs/reference/syntax/policy-file.md ("ACLs": `dst` is
`host:port`, ports `*`, `22`, `80,443` or `1000-2000`; `proto` names an IANA protocol by
name or number) and https://tailscale.com/docs/reference/syntax/grants.md (`ip` entries
`*`, `443`, `tcp:443`, `udp:*`, `icmp:*`). An absent protocol means any; a part that
does not parse is kept as the whole range of its protocol, so a typo reads as wider.
"""

from __future__ import annotations

from typing import NamedTuple

ALL_PORTS = (0, 65535)
ANY_PROTO = "*"
_PROTO_NUMBERS = {
    "1": "icmp",
    "2": "igmp",
    "6": "tcp",
    "17": "udp",
    "47": "gre",
    "50": "esp",
    "51": "ah",
    "58": "ipv6-icmp",
    "132": "sctp",
}


class PortRange(NamedTuple):
    """One protocol and an inclusive port range."""

    proto: str
    lo: int
    hi: int

    def ports_text(self) -> str:
        """`*`, `443` or `1000-2000`."""
        if (self.lo, self.hi) == ALL_PORTS:
            return "*"
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"


def proto_name(raw: object) -> str:
    """A protocol in one spelling (`tcp`), `*` for any or absent."""
    text = str(raw).strip().lower() if raw not in (None, "") else ANY_PROTO
    return _PROTO_NUMBERS.get(text, text)


def _one(part: str) -> tuple[int, int]:
    part = part.strip()
    lo, _, hi = part.partition("-")
    if part == "*" or not (lo.isdigit() and (hi or lo).isdigit()):
        return ALL_PORTS
    low, high = int(lo), int(hi or lo)
    return (low, high) if low <= high else (high, low)


def port_ranges(spec: str, proto: str = ANY_PROTO) -> list[PortRange]:
    """The ranges of a port list such as `*`, `22`, `80,443` or `1000-2000`."""
    return [PortRange(proto, *_one(part)) for part in spec.split(",")]


def ip_entry(entry: str) -> list[PortRange]:
    """The ranges of one grant `ip` entry (`*`, `443`, `tcp:443`, `udp:*`)."""
    proto, colon, ports = entry.strip().rpartition(":")
    if not colon:
        return port_ranges(entry)
    return port_ranges(ports, proto_name(proto))


def split_destination(dst: str) -> tuple[str, str]:
    """An ACL destination `host:ports` as (host, ports); no colon means every port."""
    host, colon, ports = dst.strip().rpartition(":")
    if not colon or not ports or not all(c.isdigit() or c in "*,- " for c in ports):
        return dst.strip(), "*"
    return host, ports
