"""A small OCSF 1.8.0 validator over the class and object definitions in tests/data/ocsf.

It checks what the schema states: every attribute is defined for its class (with the
profiles the event declares) or object, has the dictionary's type, and takes a value
of its enum; required attributes are present; `at_least_one` constraints hold; and
`type_uid`, `category_uid` and `metadata.version` agree with the schema.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parent / "data" / "ocsf"
_SCALARS: dict[str, tuple[type, ...]] = {
    "integer_t": (int,),
    "long_t": (int,),
    "port_t": (int,),
    "timestamp_t": (int,),
    "float_t": (int, float),
    "boolean_t": (bool,),
    "json_t": (object,),
}
LONG_MAX = 2**63 - 1


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def dictionary() -> dict[str, Any]:
    return _load(ROOT / "dictionary.json")["attributes"]


@cache
def _by_name(folder: str) -> dict[str, Path]:
    return {_load(p)["name"]: p for p in (ROOT / folder).rglob("*.json")}


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    merged = {k: dict(v) for k, v in parent.items()}
    for name, spec in child.items():
        if name == "$include":
            continue
        merged[name] = {**merged.get(name, {}), **spec}
    return merged


@cache
def _resolved(folder: str, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(attributes, constraints) of a class or object, with its parents'."""
    data = _load(_by_name(folder)[name])
    attributes: dict[str, Any] = {}
    parent = data.get("extends")
    if parent:
        attributes = _resolved(folder, parent)[0]
    constraints = data.get("constraints") or {}
    return _merge(attributes, data.get("attributes", {})), constraints


@cache
def classes() -> dict[int, str]:
    """class_uid -> class name, for the vendored classes."""
    categories = _load(ROOT / "categories.json")["attributes"]
    found = {}
    for name, path in _by_name("events").items():
        data, category = _load(path), None
        parent: dict[str, Any] | None = data
        while parent is not None and category is None:
            category = parent.get("category")
            extends = parent.get("extends")
            parent = _load(_by_name("events")[extends]) if extends else None
        if "uid" in data and category in categories:
            found[categories[category]["uid"] * 1000 + data["uid"]] = name
    return found


def _type_ok(value: Any, type_name: str) -> bool:
    expected = _SCALARS.get(type_name, (str,))
    if isinstance(value, bool) and bool not in expected and object not in expected:
        return False
    if type_name == "long_t" and isinstance(value, int) and not -(2**63) <= value <= LONG_MAX:
        return False
    return isinstance(value, expected)


@cache
def observable_type_ids() -> frozenset[str]:
    """Observable type ids: the compiled schema numbers types and objects that say so."""
    types = _load(ROOT / "dictionary.json")["types"]["attributes"]
    numbers = {v["observable"] for v in types.values() if "observable" in v}
    numbers |= {v["observable"] for v in dictionary().values() if "observable" in v}
    for path in (ROOT / "objects").glob("*.json"):
        numbers |= {n for n in [_load(path).get("observable")] if n is not None}
    return frozenset(str(n) for n in numbers | {0, 99})


def _allowed(path: str, definition: dict[str, Any]) -> set[str]:
    """The values an enum attribute may take, as the compiled schema has them."""
    name = path.rsplit(".", 1)[-1]
    if path in ("class_uid", "category_uid"):
        return set()  # compiled from the class and category files; checked in validate
    if name == "type_id" and path.startswith("observables["):
        return set(observable_type_ids())
    enum = set(definition.get("enum") or ())
    # The schema compiler adds Unknown (0) and Other (99) to every `_id` enum.
    return enum | {"0", "99"} if enum and name.endswith("_id") else enum


def _check_value(path: str, value: Any, spec: dict[str, Any], errors: list[str]) -> None:
    definition = {**dictionary().get(path.rsplit(".", 1)[-1].split("[", maxsplit=1)[0], {}), **spec}
    type_name = definition.get("type", "")
    if definition.get("is_array"):
        if not isinstance(value, list):
            errors.append(f"{path}: expected an array")
            return
        for n, item in enumerate(value):
            _check_one(f"{path}[{n}]", item, type_name, definition, errors)
        return
    _check_one(path, value, type_name, definition, errors)


def _check_one(
    path: str, value: Any, type_name: str, definition: dict[str, Any], errors: list[str]
) -> None:
    if type_name.endswith("_t"):
        if not _type_ok(value, type_name):
            errors.append(f"{path}: {value!r} is not {type_name}")
        allowed = _allowed(path, definition)
        if allowed and str(value) not in allowed:
            errors.append(f"{path}: {value!r} not in enum {sorted(allowed)}")
        return
    if type_name not in _by_name("objects"):
        errors.append(f"{path}: object type {type_name!r} is not vendored")
        return
    attributes, constraints = _resolved("objects", type_name)
    _check_attributes(path, value, attributes, constraints, errors)


def _check_attributes(
    path: str,
    value: Any,
    attributes: dict[str, Any],
    constraints: dict[str, Any],
    errors: list[str],
) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object")
        return
    prefix = f"{path}." if path else ""
    for name, spec in attributes.items():
        if spec.get("requirement") == "required" and name not in value:
            errors.append(f"{prefix}{name}: required")
    wanted = constraints.get("at_least_one")
    if wanted and not any(name in value for name in wanted):
        errors.append(f"{path or 'event'}: needs at least one of {wanted}")
    for name, item in value.items():
        if name not in attributes:
            errors.append(f"{prefix}{name}: not an attribute here")
        elif item is None:
            errors.append(f"{prefix}{name}: null")
        elif name != "unmapped":
            _check_value(f"{prefix}{name}", item, attributes[name], errors)


def validate(event: dict[str, Any]) -> list[str]:
    """Every way `event` departs from OCSF 1.8.0; [] when it is valid."""
    class_name = classes().get(event.get("class_uid"))  # type: ignore[arg-type]
    if class_name is None:
        return [f"class_uid {event.get('class_uid')!r} is not a vendored class"]
    attributes, constraints = _resolved("events", class_name)
    for profile in (event.get("metadata") or {}).get("profiles", []):
        profile_attributes = _load(ROOT / "profiles" / f"{profile}.json")["attributes"]
        attributes = _merge(attributes, profile_attributes)
    errors: list[str] = []
    _check_attributes("", event, attributes, constraints, errors)
    if event.get("type_uid") != event.get("class_uid", 0) * 100 + event.get("activity_id", -1):
        errors.append("type_uid is not class_uid * 100 + activity_id")
    if event.get("category_uid") != event.get("class_uid", 0) // 1000:
        errors.append("category_uid does not match class_uid")
    if (event.get("metadata") or {}).get("version") != _load(ROOT / "version.json")["version"]:
        errors.append("metadata.version is not the vendored schema's version")
    return errors
