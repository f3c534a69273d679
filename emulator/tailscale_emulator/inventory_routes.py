"""The inventory endpoints: devices, users, keys, the policy file and DNS."""

from __future__ import annotations

import base64
import re
from itertools import islice
from typing import TYPE_CHECKING, Any

import orjson

from tailscale_emulator.access import Reject, allowed_scopes, first, missing_scope
from tailscale_emulator.base import HandlerBase
from tailscale_emulator.config import KEY_SCOPES
from tailscale_emulator.inventory import KEY_OWNER_ID, USER_ROLES, USER_TYPES
from tailscale_emulator.posture_data import planted

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tailscale_emulator.access import Grant, RequestLogEntry

TAILNET_INVENTORY_PATH = re.compile(
    r"/api/v2/tailnet/([^/]+)/"
    r"(devices|users|keys|acl|dns/(?:nameservers|preferences|searchpaths|split-dns|configuration))/?"
)
DEVICE_PATH = re.compile(r"/api/v2/device/([^/]+)(?:/(attributes|device-invites))?/?")
_SCOPES = {"devices": "devices:core:read", "users": "users:read", "acl": "policy_file:read"}
# Per-device resources and their scopes (one request per device).
DEVICE_DETAIL_SCOPES = {
    None: "devices:core:read",
    "attributes": "devices:posture_attributes:read",
    "device-invites": "device_invites:read",
}
# Devices per chunk of a streamed device list.
_DEVICES_PER_CHUNK = 256
# Endpoints the live API hides (404 `not found`) from a credential without their scope.
_HIDDEN = frozenset({"users"})
_KEY_TYPE_SCOPES = dict(zip(("auth", "api", "client", "federated"), KEY_SCOPES, strict=True))
_DEVICE_OBJECT_FIELDS = frozenset({"clientConnectivity", "postureIdentity", "distro"})
Query = dict[str, list[str]]


class InventoryMixin(HandlerBase):
    """GET routes of the inventory; every one is a full snapshot (no pagination)."""

    def _serve_inventory(
        self, entry: RequestLogEntry, tailnet_segment: str, resource: str, query: Query
    ) -> None:
        if resource == "keys":
            self._serve_keys(entry, tailnet_segment, query)
            return
        scope = _SCOPES.get(resource, "dns:read")
        tailnet = self._authorize(entry, tailnet_segment, scope, hidden=resource in _HIDDEN)
        if resource in self.emulator.config.refused_paths:
            raise missing_scope()
        dataset = self.emulator.dataset
        if resource == "devices":
            fields = _fields(query)
            filters = {k: v for k, v in query.items() if k != "fields"}
            if bad := sorted(set(filters) & _DEVICE_OBJECT_FIELDS):
                raise Reject(400, f"cannot filter on object field(s): {', '.join(bad)}")
            devices = dataset.iter_devices(tailnet, fields, filters)
            self._send_json_list(entry, b'{"devices":[', devices, b"]}")
            return
        if resource == "users":
            kind, role = first(query, "type") or "member", first(query, "role") or "all"
            if kind not in {*USER_TYPES, "all"} or role not in {*USER_ROLES, "all"}:
                raise Reject(400, "missing or invalid parameter(s): type or role")
            payload: Any = {"users": dataset.users(tailnet, kind, role)}
        elif resource == "acl":
            self._serve_policy(entry, tailnet, query)
            return
        else:
            payload = dataset.dns(tailnet)[resource.removeprefix("dns/")]
        self._send_json(entry, 200, payload)

    def _serve_device(
        self, entry: RequestLogEntry, device_id: str, query: Query, detail: str | None = None
    ) -> None:
        """`/device/{id}`, or its `attributes` or `device-invites`, each with its scope."""
        grant, tailnet = self._grant(entry, "-")
        scope = DEVICE_DETAIL_SCOPES[detail]
        if not allowed_scopes(grant, (scope,), self.emulator.config.denied()):
            raise missing_scope()
        dataset = self.emulator.dataset
        for name in (tailnet, *grant.other_tailnets):
            if name not in self.emulator.config.tailnets:
                continue
            if detail == "attributes":
                found: Any = dataset.device_attributes(name, device_id)
            elif detail == "device-invites":
                found = dataset.device_invites(name, device_id)
            else:
                found = dataset.device(name, device_id, _fields(query))
            if found is not None:
                self._send_json(entry, 200, found)
                return
        raise Reject(404, "Device not found")

    def _send_json_list(
        self, entry: RequestLogEntry, head: bytes, items: Iterator[Any], tail: bytes
    ) -> None:
        """A 200 JSON body made and sent a chunk at a time (chunked transfer encoding)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent, opened = 0, False
        for batch in iter(lambda: list(islice(items, _DEVICES_PER_CHUNK)), []):
            chunk = (b"," if opened else head) + orjson.dumps(batch)[1:-1]
            opened = True
            self._write_chunk(chunk)
            sent += len(chunk)
        last = tail if opened else head + tail
        self._finish_entry(entry, 200, sent + len(last))
        self._write_chunk(last)
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _serve_keys(self, entry: RequestLogEntry, tailnet_segment: str, query: Query) -> None:
        """Each key type needs its own scope; a credential sees the types it may read.

        As live: 200 with only those kinds, and no word about the others; 403 with none.
        """
        grant, tailnet = self._grant(entry, tailnet_segment)
        readable = allowed_scopes(grant, KEY_SCOPES, self.emulator.config.denied())
        if not readable:
            raise missing_scope()
        types = tuple(t for t, s in _KEY_TYPE_SCOPES.items() if s in readable)
        found = self.emulator.dataset.keys(tailnet, types)
        if self.emulator.config.plant_secrets:
            found = [k | {"key": planted(tailnet, "key", i)} for i, k in enumerate(found)]
        if (first(query, "all") or "").lower() != "true":
            found = [k for k in found if _own_key(grant, k, self)]
        self._send_json(entry, 200, {"keys": found})

    def _serve_policy(self, entry: RequestLogEntry, tailnet: str, query: Query) -> None:
        """HuJSON unless JSON is asked for; `details=true` wraps the text in base64."""
        policy = self.emulator.dataset.policy(tailnet)
        etag = [("ETag", policy.etag)]
        if (first(query, "details") or "").lower() == "true":
            details: dict[str, Any] = {
                "acl": base64.b64encode(policy.hujson.encode()).decode(),
                "warnings": [],
                "errors": None,
            }
            self._send_json(entry, 200, details, etag)
        elif "application/json" in (self.headers.get("Accept") or ""):
            self._send_json(entry, 200, policy.json, etag)
        else:
            body = policy.hujson.encode()
            self._send_raw(entry, 200, body, etag, content_type="application/hujson")


def _fields(query: Query) -> str:
    fields = first(query, "fields") or "default"
    if fields not in {"all", "default"}:
        raise Reject(400, "missing or invalid parameter(s): fields")
    return fields


def _own_key(grant: Grant, key: dict[str, Any], handler: HandlerBase) -> bool:
    """Without `all=true`: a user's API key sees its user's keys, a trust credential its kind."""
    config = handler.emulator.config
    if grant.credential_id in config.federated_clients:
        return bool(key["keyType"] == "federated")
    if grant.credential_id in config.oauth_clients:
        return bool(key["keyType"] == "client")
    return bool(key.get("userId") == KEY_OWNER_ID)
