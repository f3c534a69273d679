"""Real inventory bodies (tests/data/real_world/inventory, see SOURCES.md) through the tap.

Each body is served as the API would serve it. Every object becomes one record holding
every value as sent (timestamps normalized, free-form objects as JSON text, unknown
fields in `extra_fields`, secrets nowhere), and the same body pretty-printed or with its
keys reordered at every level gives the very same records, primary keys included.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from tailscale_emulator import hujson_to_json
from tap_tailscale.inventory.records import DEVICE_SPEC, KEY_SPEC, USER_SPEC
from tap_tailscale.inventory.shaping import JSON, TIME
from tap_tailscale.secret_fields import SECRET_FIELDS
from tap_tailscale.timeutil import normalize_optional_timestamp
from tests.conftest import fast_settings, run_tap

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CORPUS = Path(__file__).parent / "data" / "real_world" / "inventory"
API = "/api/v2/tailnet/-"
DATE = "Sun, 06 Dec 2026 04:00:00 GMT"
ETAG = '"d253bd9c3c7a1e3b"'
FORBIDDEN = b'{"message":"calling actor does not have enough permissions to perform this function"}'
LISTS = {
    "devices": ("devices", DEVICE_SPEC),
    "users": ("users", USER_SPEC),
    "keys": ("keys", KEY_SPEC),
}
VARIANTS: dict[str, Callable[[Any], bytes]] = {
    "pretty": lambda body: json.dumps(body, indent=4).encode(),
    "reordered": lambda body: json.dumps(_reordered(body), separators=(",", ":")).encode(),
}
Answer = tuple[int, bytes]


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def _file(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes: dict[str, Answer]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def date_time_string(self, timestamp: float | None = None) -> str:
        return DATE  # one snapshot instant for every run: equal records, synced_at included

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.endswith("/logging/configuration"):
            status, body = 200, b'{"version":"1.1","tailnet":"example.com","logs":null}'
        else:
            status, body = self.routes.get(path, (404, b'{"message":"not found"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if path.endswith("/acl"):
            self.send_header("ETag", ETAG)
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve(routes: dict[str, Answer]) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _sync(routes: dict[str, Answer], streams: tuple[str, ...], **settings: Any) -> Any:
    with serve(routes) as url:
        return run_tap(fast_settings(url, **settings), streams=streams)


def _expected(obj: dict[str, Any], spec: Any) -> dict[str, Any]:
    """The object as its record must restore it: timestamps normalized, no secret."""
    converters = dict(spec)
    out = {}
    for name, value in obj.items():
        convert = converters.get(name)
        shaped = (
            normalize_optional_timestamp(value) if convert is TIME and value is not None else value
        )
        if name not in SECRET_FIELDS and shaped is not None:
            out[name] = shaped
    return out


def _restored(record: dict[str, Any], spec: Any) -> dict[str, Any]:
    """The API object a record stands for: its fields, JSON text parsed, extras merged."""
    out = {}
    for name, convert in spec:
        value = record.get(name)
        if convert is JSON and value is not None:
            value = json.loads(value)
        if name == "clientConnectivity" and isinstance(value, dict) and "latency" in value:
            value = {**value, "latency": json.loads(value["latency"])}
        if value is not None:
            out[name] = value
    return {**out, **json.loads(record["extra_fields"] or "{}")}


LIST_BODIES = [
    ("devices", "devices-client-go-v2.json"),
    ("devices", "devices-tailscale2otel.json"),
    ("devices", "devices-reference.json"),
    ("users", "users-tailscale2otel.json"),
    ("users", "users-reference.json"),
    ("keys", "keys-tailscale2otel.json"),
    ("keys", "keys-reference.json"),
]


@pytest.mark.parametrize(("stream", "name"), LIST_BODIES)
def test_every_object_is_one_record_with_every_value_as_sent(stream: str, name: str) -> None:
    envelope, spec = LISTS[stream]
    body = json.loads(_file(name))
    run = _sync({f"{API}/{stream}": (200, _file(name))}, (stream,))
    assert run.error is None
    records = run.records[stream]
    objects = body[envelope]
    assert len(records) == len(objects)
    for record, obj in zip(records, objects, strict=True):
        assert _restored(record, spec) == _expected(obj, spec)
        assert record["tailnet"] == "example.com"
        assert record["synced_at"] == "2026-12-06T04:00:00.000000000Z"
        assert "tskey-" not in json.dumps(record)


@pytest.mark.parametrize(("stream", "name"), LIST_BODIES)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_pretty_or_reordered_bodies_give_the_same_records(
    stream: str, name: str, variant: str
) -> None:
    sent = _file(name)
    again = VARIANTS[variant](json.loads(sent))
    assert again != sent
    first = _sync({f"{API}/{stream}": (200, sent)}, (stream,))
    second = _sync({f"{API}/{stream}": (200, again)}, (stream,))
    assert first.records[stream] == second.records[stream]


DNS_BODIES = [
    "dns-configuration-tailscale2otel.json",
    "dns-configuration-tailscale2otel-probe.json",
    "dns-configuration-reference.json",
]


@pytest.mark.parametrize("name", DNS_BODIES)
def test_the_dns_configuration_is_kept_as_sent_in_any_key_order(name: str) -> None:
    body = json.loads(_file(name))
    runs = [
        _sync({f"{API}/dns/configuration": (200, sent)}, ("dns",))
        for sent in (_file(name), *(v(body) for v in VARIANTS.values()))
    ]
    (record,) = runs[0].records["dns"]
    assert record["nameservers"] == body["nameservers"]
    assert record["searchPaths"] == body.get("searchPaths")
    assert (json.loads(record["splitDNS"]) if record["splitDNS"] else None) == body.get("splitDNS")
    preferences = body.get("preferences", {})
    assert record["magicDNS"] == preferences.get("magicDNS")
    assert record["overrideLocalDNS"] == preferences.get("overrideLocalDNS")
    assert record["extra_fields"] is None
    for other in runs[1:]:
        assert other.records["dns"] == [record]  # dns_version included


def test_the_older_dns_endpoints_give_the_same_record_when_configuration_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    bodies = {
        path: json.loads(_file(f"dns-{path}-reference.json"))
        for path in ("nameservers", "preferences", "searchpaths", "split-dns")
    }
    older = {f"{API}/dns/{path}": (200, json.dumps(b).encode()) for path, b in bodies.items()}
    refused = _sync({**older, f"{API}/dns/configuration": (403, FORBIDDEN)}, ("dns",))
    (record,) = refused.records["dns"]
    assert "read the four older DNS endpoints" in caplog.text
    # The same configuration as `/dns/configuration` writes it: no server used with exit
    # nodes and local DNS not overridden, so those keys are omitted (false, omitempty).
    servers = bodies["split-dns"]
    configuration = {
        "nameservers": [{"address": a} for a in bodies["nameservers"]["dns"]],
        "splitDNS": {
            d: None if s is None else [{"address": a} for a in s] for d, s in servers.items()
        },
        "searchPaths": bodies["searchpaths"]["searchPaths"],
        "preferences": bodies["preferences"],
    }
    direct = _sync(
        {f"{API}/dns/configuration": (200, json.dumps(configuration).encode())}, ("dns",)
    )
    assert direct.records["dns"] == [record]  # dns_version included


def test_the_policy_file_is_kept_as_sent_and_parsed() -> None:
    text = _file("policy-client-go-v2.hujson")
    run = _sync({f"{API}/acl": (200, text)}, ("policy",))
    (record,) = run.records["policy"]
    assert record["hujson"] == text.decode()
    assert record["etag"] == ETAG
    assert record["policy_version"] == ETAG.strip('"')
    assert json.loads(record["policy"]) == hujson_to_json(text.decode())
    assert record["parse_error"] is None


def _errors() -> list[dict[str, Any]]:
    return json.loads(_file("errors.json"))


def _error(request: str) -> Answer:
    found = next(e for e in _errors() if e["request"] == request)
    return found["status"], found["body"].encode()


def test_the_live_404_on_users_is_a_skip_naming_the_scope(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    routes = {
        f"{API}/users": _error("GET /api/v2/tailnet/{tailnet}/users"),
        f"{API}/keys": (200, _file("keys-reference.json")),
    }
    run = _sync(routes, ("users", "keys"))
    assert run.error is None
    assert "users" not in run.records
    assert len(run.records["keys"]) == 4
    naming = [r.getMessage() for r in caplog.records if "users:read" in r.getMessage()]
    assert len(naming) == 1
    assert "HTTP 404: not found" in naming[0]


def test_the_live_403_on_devices_is_a_skip_naming_the_scope(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    routes = {f"{API}/devices": _error("GET /api/v2/tailnet/{tailnet}/devices?fields=all")}
    run = _sync(routes, ("devices",))
    assert run.error is None
    naming = [r.getMessage() for r in caplog.records if "devices:core:read" in r.getMessage()]
    assert len(naming) == 1


def test_the_live_403_for_another_tailnet_is_a_tailnet_error() -> None:
    routes = {f"{API}/devices": _error("GET /api/v2/tailnet/{tailnet}/devices")}
    run = _sync(routes, ("devices",))
    assert run.error is not None
    assert "refused the tailnet (HTTP 403: user tailnet does not match)" in str(run.error)


def test_the_token_endpoints_live_refusal_is_one_line() -> None:
    routes = {"/api/v2/oauth/token": _error("POST /api/v2/oauth/token")}
    oauth = {"api_key": None, "client_id": "kExporter", "client_secret": "exporter-secret-123"}
    with serve(routes) as url:
        settings = {k: v for k, v in fast_settings(url, **oauth).items() if v is not None}
        run = run_tap(settings, streams=("devices",))
    assert run.error is not None
    assert 'OAuth client cannot grant scopes "users:read policy_file:read' in str(run.error)
    assert "oauth_scopes" in str(run.error)
