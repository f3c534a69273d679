"""The Meltano Hub definition validates against the Hub's schema and matches the tap.

The schemas are the Hub's own (tests/data/meltano_hub/SOURCE.md), loaded the way the Hub's
CI loads them: a registry keyed by each file's `$id`, and Draft 7.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tap_tailscale.tap import TapTailscale

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "tests" / "data" / "meltano_hub" / "schemas"
DEFINITION = ROOT / "meltano-hub" / "extractors" / "tap-tailscale" / "tap-tailscale.yml"
# What Meltano acts on; labels and descriptions may be worded for each audience.
COMPARED = ("kind", "value", "options", "sensitive")


def hub_validator() -> Draft7Validator:
    resources = []
    for path in sorted(SCHEMAS.glob("*/*.schema.json")):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema, DRAFT7)))
    registry: Registry = Registry().with_resources(resources)
    extractors = json.loads((SCHEMAS / "plugin_definitions" / "extractors.schema.json").read_text())
    return Draft7Validator(extractors, registry=registry)


def load_definition() -> dict[str, Any]:
    return yaml.safe_load(DEFINITION.read_text())


def meltano_extractor() -> dict[str, Any]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (extractor,) = [e for e in project["plugins"]["extractors"] if e["name"] == "tap-tailscale"]
    return extractor


def test_definition_validates_against_the_hub_schema() -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in hub_validator().iter_errors(load_definition())
    ]
    assert errors == []


def test_the_hub_schema_is_strict_enough_to_fail() -> None:
    definition = load_definition()
    definition["capabilites"] = definition.pop("capabilities")  # a misspelt key
    definition["settings"][0]["kind"] = "text"
    messages = [e.message for e in hub_validator().iter_errors(definition)]
    assert any("capabilites" in m for m in messages), messages
    assert any("'text' is not one of" in m for m in messages), messages


def test_settings_match_meltano_yml() -> None:
    def comparable(settings: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        return [(s["name"], {k: s[k] for k in COMPARED if k in s}) for s in settings]

    extractor = meltano_extractor()
    definition = load_definition()
    assert comparable(definition["settings"]) == comparable(extractor["settings"])
    for key in ("capabilities", "settings_group_validation"):
        assert sorted(definition[key]) == sorted(extractor[key]), key


def test_every_tap_setting_is_defined_and_secrets_are_sensitive() -> None:
    settings = {s["name"]: s for s in load_definition()["settings"]}
    properties = TapTailscale.config_jsonschema["properties"]
    assert set(properties) <= set(settings)
    secret = {name for name, schema in properties.items() if schema.get("secret")}
    assert secret, "the tap marks its secrets"
    assert {name for name, s in settings.items() if s.get("sensitive")} == secret


def test_identity_matches_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    definition = load_definition()
    assert definition["name"] == definition["pip_url"] == project["name"]
    assert definition["executable"] in project["scripts"]
    assert definition["namespace"] == meltano_extractor()["namespace"]


def test_supported_python_versions_match_the_classifiers() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    classified = [
        m.group(1)
        for c in project["classifiers"]
        if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))
    ]
    assert load_definition()["supported_python_versions"] == classified
