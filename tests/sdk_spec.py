"""Digg's REST API for SDK message services (tests/sdk-spec/api/sdk-api-restful.yml, Digg's ../shared/sdk) as the tests use it: the
published file, with two mistakes in it mended so that tools read it as OpenAPI 3.0 does, and nothing else:

- keys beside a `$ref` (messageDef.attributes, messageCreateDef.attributes, the `events` arrays) are ignored
  by OpenAPI 3.0 (Reference Object), but Prism applies them: an empty `properties:` (YAML's null, which no JSON
  Schema allows) stops it ("Cannot convert undefined or null to object"), and `required: [type]`, written
  under `attributes` though meant for the message object, makes it demand a `type` inside the attributes.
  Dropped, so the schema is the referenced one, as the OpenAPI 3.0 reading gives.
- the examples of the 400 answers give `instance` as a bare UUID where the schema (EventDef) says format uri;
  a mock that answers with the example breaks the spec. Made a URN of the same UUID (urn:uuid:...).

Both are reported in docs/sdk.md (Digg's API file) for whoever talks to Digg."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


def spec_path() -> Path:
    """Digg's file in tests/sdk-spec (a copy of ../shared/sdk, CC0)."""
    return Path(__file__).parent / "sdk-spec" / "api" / "sdk-api-restful.yml"


def mended() -> dict[str, Any]:
    document = yaml.safe_load(spec_path().read_text(encoding="utf-8"))
    return dict(_mend(document))


def write_mended(folder: Path) -> Path:
    path = folder / "sdk-api-restful.json"
    path.write_text(json.dumps(mended(), indent=1))
    return path


def _mend(node: Any) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return {"$ref": node["$ref"]}
        out = {k: _mend(v) for k, v in node.items()}
        if isinstance(out.get("instance"), str) and ":" not in out["instance"]:
            out["instance"] = "urn:uuid:" + out["instance"]
        return out
    if isinstance(node, list):
        return [_mend(v) for v in node]
    return node
