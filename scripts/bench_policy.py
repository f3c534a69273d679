"""Benchmark the policy evaluator on a 5,000-line policy file.

Builds a deterministic tailnet policy of about 5,000 lines of HuJSON as people write it
(comments, one selector per line): 60 groups of 12 users, 120 tags and their owners,
200 host aliases, IP sets, postures, 450 ACL rules, 220 grants (ports, posture, `via`,
app capabilities), 100 SSH rules, node attributes, auto-approvers and tests. Then times,
as the median of `--runs` runs:
  parse     HuJSON text to a document
  relation  the access relation of one policy
  analyse   one ACL change event's whole analysis (`analyse_policy(old, new)`: both
            parses, both relations, the diff both ways, sentences and risks), where `new`
            adds one user to a group that 40 rules name
  first     the same for a first policy (no `old`): every row is new and described
Exit code 1 if `analyse` or `first` exceeds the budget (--budget seconds, default 2.0): an ACL
change is one record, and a sync must not stall on it.

Usage: python scripts/bench_policy.py [--runs 3] [--lines 5000] [--budget 2.0]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tap_tailscale.admin_audit.policy import analyse_policy
from tap_tailscale.policy import parse_policy, relation

if TYPE_CHECKING:
    from collections.abc import Callable

PORTS = ["22", "443", "80,443", "5432", "3000-3999", "*", "6443", "8080"]


def _rules(scale: int) -> dict[str, Any]:
    groups = {f"group:team{g}": [f"user{g}-{u}@example.com" for u in range(12)] for g in range(40)}
    tags = [f"tag:svc{t}" for t in range(120)]
    owners = {tag: [f"group:team{i % 40}", "autogroup:admin"] for i, tag in enumerate(tags)}
    zones = {f"ipset:zone{z}": [f"10.{z}.0.0/16", f"add host:host{z}", f"remove 10.{z}.9.0/24"]
             for z in range(20)}  # fmt: skip
    app = {"app": {"example.com/cap/db": [{"role": "reader"}]}}
    return {
        "groups": groups,
        "tagOwners": owners,
        "hosts": {f"host{h}": f"10.{h // 250}.{h % 250}.0/24" for h in range(120)},
        "ipsets": zones,
        "postures": {f"posture:p{p}": [f"node:tsVersion >= '1.{60 + p}'"] for p in range(5)},
        "acls": [{"action": "accept", "src": [f"group:team{(i * 7) % 40}", f"tag:svc{i % 120}"],
                  "dst": [f"tag:svc{(i * 3) % 120}:{PORTS[i % len(PORTS)]}", f"host{i % 120}:443"]}
                 for i in range(60 * scale)],
        "grants": [{"src": [f"group:team{i % 40}"],
                    "dst": [f"tag:svc{(i * 5) % 120}", f"ipset:zone{i % 20}"],
                    "ip": ["tcp:443", f"tcp:{9000 + i}"], "srcPosture": [f"posture:p{i % 5}"],
                    **({"via": [f"tag:svc{i % 7}"]} if i % 4 == 0 else {}),
                    **(app if i % 10 == 0 else {})}
                   for i in range(30 * scale)],
        "ssh": [{"action": "check" if i % 2 else "accept", "src": [f"group:team{i % 40}"],
                 "dst": [f"tag:svc{i % 120}"], "users": ["autogroup:nonroot", "ubuntu"]}
                for i in range(15 * scale)],
        "nodeAttrs": [{"target": [f"tag:svc{i}"], "attr": ["funnel"]} for i in range(20)],
        "autoApprovers": {"routes": {f"10.{r}.0.0/16": [f"tag:svc{r}"] for r in range(20)},
                          "exitNode": ["tag:svc0"]},
        "tests": [{"src": f"user{i}-0@example.com", "accept": [f"tag:svc{(i * 3) % 120}:443"]}
                  for i in range(30)],
    }  # fmt: skip


def policy_text(lines: int) -> tuple[str, dict[str, Any]]:
    """HuJSON of about `lines` lines, and its document."""
    scale = 1
    while True:
        doc = _rules(scale)
        text = "// Generated benchmark policy.\n" + json.dumps(doc, indent=2).replace(
            '"acls": [', '"acls": [ // network rules\n   '
        )
        if text.count("\n") >= lines or scale > 256:
            return text, doc
        scale += 1


def timed(fn: Callable[[], object], runs: int) -> float:
    """Median seconds of `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--budget", type=float, default=2.0)
    options = parser.parse_args()
    text, doc = policy_text(options.lines)
    wider = json.loads(json.dumps(doc))
    wider["groups"]["group:team0"].append("mallory@example.com")
    new_text = json.dumps(wider, indent=2)
    rows = len(relation(doc))
    parse_s = timed(lambda: parse_policy(text), options.runs)
    relation_s = timed(lambda: relation(doc), options.runs)
    analysis = analyse_policy(text, new_text)
    analyse_s = timed(lambda: analyse_policy(text, new_text), options.runs)
    first_s = timed(lambda: analyse_policy(None, text), options.runs)
    print(
        f"policy: {text.count(chr(10)) + 1} lines, {len(text) / 1e3:.0f} kB, {rows} relation rows"
    )
    print(f"parse     {parse_s * 1e3:8.1f} ms")
    print(f"relation  {relation_s * 1e3:8.1f} ms")
    print(f"analyse   {analyse_s * 1e3:8.1f} ms  (budget {options.budget * 1e3:.0f} ms)")
    print(f"first     {first_s * 1e3:8.1f} ms  (the same policy as a first policy: all new)")
    print(f"widened: {analysis.changes and analysis.changes.get('became_reachable', [])[:2]}")
    return 0 if max(analyse_s, first_s) <= options.budget else 1


if __name__ == "__main__":
    sys.exit(main())
