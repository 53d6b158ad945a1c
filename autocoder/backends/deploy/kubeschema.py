"""Schema validation of generated manifests, strict (an unknown field is an error).

Built-in kinds are checked against the strict JSON schemas that ``kubernetes-validate`` ships
for ``KUBERNETES_VERSION`` (the same files and validator its ``validate(strict=True)`` uses,
loaded once per process instead of once per object); the custom resources we generate against
the schemas in ``crds/``. A kind with no schema is an error: the gate fails closed.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

KUBERNETES_VERSION = "1.33.0"

CRD_DIR = Path(__file__).parent / "crds"
CRD_SCHEMAS = {
    ("external-secrets.io/v1", "ExternalSecret"): "externalsecret.schema.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.schema.json",
}


class SchemaMissingError(Exception):
    """No schema is known for a kind (or the schema package is not installed)."""


def _schema_dir() -> Traversable:
    try:
        root = resources.files("kubernetes_validate")
    except ModuleNotFoundError as e:
        raise SchemaMissingError("kubernetes-validate is not installed") from e
    folder = root / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"
    if not folder.is_dir():
        raise SchemaMissingError(
            f"the installed kubernetes-validate has no schemas for Kubernetes {KUBERNETES_VERSION}"
        )
    return folder


@functools.cache
def _registry() -> Registry[Any]:
    definitions = json.loads((_schema_dir() / "_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(definitions) @ Registry()


def _schema_file(api_version: str, kind: str) -> str:
    # networking.k8s.io/v1 -> networking-v1, as kubernetes-validate names its files.
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{group_version}.json"


@functools.cache
def _validator(api_version: str, kind: str) -> Any:
    if not re.fullmatch(r"[A-Za-z0-9]+", kind):
        raise SchemaMissingError(f"no schema for {api_version}/{kind}")
    if (api_version, kind) in CRD_SCHEMAS:
        schema = json.loads((CRD_DIR / CRD_SCHEMAS[api_version, kind]).read_text("utf-8"))
        return jsonschema.Draft202012Validator(schema)
    path = _schema_dir() / _schema_file(api_version, kind)
    if not path.is_file():
        raise SchemaMissingError(f"no schema for {api_version}/{kind}")
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def available() -> str | None:
    """Why built-in kinds cannot be validated here, or None when they can."""
    try:
        _schema_dir()
    except SchemaMissingError as e:
        return str(e)
    return None


def validate_manifest(obj: dict[str, Any]) -> list[str]:
    """Errors of one manifest, each ``field.path: message``; empty when valid. The caller names
    the object (kind and name) in its report."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return ["(root): apiVersion and kind must be strings"]
    try:
        validator = _validator(api_version, kind)
    except SchemaMissingError as e:
        return [str(e)]
    errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_path(e.absolute_path)}: {e.message}" for e in errors]


def _path(path: Any) -> str:
    return ".".join(str(part) for part in path) or "(root)"
