"""OpenAPI document -> blueprints: an api component serving the document, and a ``documents``
collection for every resource with CRUD shape.

A resource is a collection path ``P`` with ``POST P`` (create) and an item path ``P/{key}``
with ``GET`` (read); ``GET P`` (list), ``PUT``/``PATCH``/``DELETE P/{key}`` join it when
present. Its document schema is the JSON request body of the create (else the item's JSON
response), its key the schema property the item path's parameter names (``{petId}`` -> ``id``
or ``petId``). Keys the create body must carry are ``provided``; otherwise integers are
``autoincrement`` and strings ``uuid``. Every other operation is user-owned logic that answers
in mock mode until written. The importer writes all of this into architecture.yaml, where the
team sees and can change it; it invents nothing the compiler would not check.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from autocoder.frontend.openapi.document import Contract, deref
from autocoder.frontend.openapi.lower import Operation, operations

_JSON = re.compile(r"^application/(.+\+)?json$")
_NAME = re.compile(r"[^a-z0-9]+")


@dataclass
class Resource:
    component: str  # the documents component's name
    collection: str  # "/pets"
    item: str  # "/pets/{petId}"
    schema: str  # pointer of the document schema ("#/components/schemas/Pet")
    key: str  # the document property holding the key
    key_type: str  # "string" | "integer"
    key_strategy: str  # "provided" | "uuid" | "autoincrement"
    ops: dict[str, str] = field(default_factory=dict)  # operation key -> documents operation


MAX_SYSTEM_NAME = 40  # leaves room for `-<environment>` namespaces and Helm's 53 characters


def dns_label(text: str, fallback: str, limit: int = 63) -> str:
    """``"Swagger Petstore - OpenAPI 3.0"`` -> ``"swagger-petstore-openapi-3-0"``; never a
    Python keyword (component names become Python names too)."""
    label = _NAME.sub("-", text.lower()).strip("-")
    label = re.sub(r"^[^a-z]+", "", label)[:limit].rstrip("-") or fallback
    if keyword.iskeyword(label.replace("-", "_")) or keyword.issoftkeyword(label):
        label = f"{label}-items"
    return label


def semver(text: str) -> str:
    """A semantic version from ``info.version`` (``"1.0"`` -> ``"1.0.0"``, else ``"0.1.0"``)."""
    found = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text.strip())
    if found is None:
        return "0.1.0"
    return ".".join(part or "0" for part in found.groups())


def _json_schema(content: Any) -> tuple[str, Any] | None:
    """``(media type, schema)`` of the first JSON media type of a ``content`` map."""
    if not isinstance(content, dict):
        return None
    for media, item in content.items():
        json_media = _JSON.match(str(media).split(";")[0].strip())
        if json_media and isinstance(item, dict) and "schema" in item:
            return str(media), item["schema"]
    return None


def _properties(document: dict[str, Any], schema: Any, depth: int = 0) -> dict[str, Any]:
    """Top-level properties of an object schema, through ``$ref`` and ``allOf``."""
    schema = deref(document, schema)
    if not isinstance(schema, dict) or depth > 10:
        return {}
    found: dict[str, Any] = {}
    for part in schema.get("allOf") or []:
        found.update(_properties(document, part, depth + 1))
    props = schema.get("properties")
    if isinstance(props, dict):
        found.update(props)
    return found


def _required(document: dict[str, Any], schema: Any, depth: int = 0) -> set[str]:
    schema = deref(document, schema)
    if not isinstance(schema, dict) or depth > 10:
        return set()
    found = {str(n) for n in schema.get("required") or [] if isinstance(n, str)}
    for part in schema.get("allOf") or []:
        found |= _required(document, part, depth + 1)
    return found


def _schema_pointer(op: Operation, where: tuple[str, ...], schema: Any) -> str:
    """A ``$ref`` schema's target, else the pointer of the inline schema itself."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        ref = str(schema["$ref"])
        if ref.startswith("#/"):
            return ref
    return op.pointer + "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in where)


def _body_schema(document: dict[str, Any], op: Operation) -> tuple[str, Any] | None:
    body = deref(document, op.data.get("requestBody"))
    found = _json_schema(body.get("content")) if isinstance(body, dict) else None
    if found is None:
        return None
    media, schema = found
    return _schema_pointer(op, ("requestBody", "content", media, "schema"), schema), schema


def _response_schema(document: dict[str, Any], op: Operation) -> tuple[str, Any] | None:
    responses = op.data.get("responses") or {}
    for status in sorted((str(k) for k in responses if str(k).startswith("2")), key=str):
        response = deref(document, responses.get(status))
        found = _json_schema(response.get("content")) if isinstance(response, dict) else None
        if found is not None:
            media, schema = found
            pointer = _schema_pointer(op, ("responses", status, "content", media, "schema"), schema)
            return pointer, schema
    return None


def _key_field(param: str, properties: dict[str, Any]) -> str | None:
    """The property a path parameter names: itself, ``id``, or its stem (``petId`` -> ``id``)."""
    if param in properties:
        return param
    lowered = {name.lower(): name for name in properties}
    stem = re.sub(r"[_-]?(id|key|name|code|uuid)$", "", param, flags=re.IGNORECASE)
    suffix = param[len(stem) :].lstrip("_-").lower()
    for candidate in (suffix, "id", param.lower()):
        if candidate and candidate in lowered:
            return lowered[candidate]
    return None


def _param_schema(document: dict[str, Any], op: Operation, name: str) -> Any:
    for source in (op.data.get("parameters") or [], op.path_item.get("parameters") or []):
        for param in source:
            param = deref(document, param)
            if isinstance(param, dict) and param.get("name") == name and param.get("in") == "path":
                return deref(document, param.get("schema"))
    return None


def find_resources(document: dict[str, Any], ops: list[Operation]) -> list[Resource]:
    by_path: dict[str, dict[str, Operation]] = {}
    for op in ops:
        by_path.setdefault(op.path, {})[op.method] = op
    resources: list[Resource] = []
    taken: set[str] = set()
    for collection, methods in by_path.items():
        create = methods.get("POST")
        if create is None or collection.endswith("}"):
            continue
        items = [
            p
            for p in by_path
            if p.startswith(collection.rstrip("/") + "/{")
            and p.endswith("}")
            and p.count("{") == collection.count("{") + 1
            and "/" not in p[len(collection.rstrip("/")) + 1 :]
        ]
        if len(items) != 1 or "GET" not in by_path[items[0]]:
            continue
        item = items[0]
        read = by_path[item]["GET"]
        body = _body_schema(document, create)
        shape = body or _response_schema(document, read)
        if shape is None:
            continue
        schema_pointer, schema = shape
        properties = _properties(document, schema)
        param = item[item.rindex("{") + 1 : -1]
        key = _key_field(param, properties)
        if key is None:
            continue
        key_schema = deref(document, properties.get(key)) or _param_schema(document, read, param)
        key_type = "integer" if (key_schema or {}).get("type") == "integer" else "string"
        read_only = isinstance(key_schema, dict) and key_schema.get("readOnly") is True
        # a readOnly property is never required in a request: the server sets it
        provided = body is not None and key in _required(document, body[1]) and not read_only
        if provided or (key_type == "string" and not read_only and _needs_client_key(key_schema)):
            strategy = "provided"
        else:
            strategy = "autoincrement" if key_type == "integer" else "uuid"
        name = dns_label(collection.strip("/").split("/")[-1], "items")
        while name in taken or name == "api":
            name += "-store"
        taken.add(name)
        resource = Resource(name, collection, item, schema_pointer, key, key_type, strategy)
        resource.ops[create.key] = "create"
        resource.ops[read.key] = "get"
        if "GET" in methods:
            resource.ops[methods["GET"].key] = "list"
        for method, operation in (("PUT", "replace"), ("PATCH", "patch"), ("DELETE", "delete")):
            if method in by_path[item]:
                resource.ops[by_path[item][method].key] = operation
        resources.append(resource)
    return resources


def _needs_client_key(key_schema: Any) -> bool:
    """A string key with a pattern or length rule a generated uuid would not satisfy."""
    if not isinstance(key_schema, dict):
        return False
    if key_schema.get("format") == "uuid":
        return False
    return any(k in key_schema for k in ("pattern", "maxLength", "enum", "const"))


def import_contract(contract: Contract) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(architecture, deployment)`` blueprint data for a checked contract."""
    document = contract.data
    info = document.get("info") or {}
    title = str(info.get("title") or "api")
    name = dns_label(title, "api", MAX_SYSTEM_NAME)
    ops = operations(document)
    resources = find_resources(document, ops)
    bindings: dict[str, dict[str, Any]] = {}
    for op in ops:
        bindings[op.key] = {"logic": True}
    components: dict[str, Any] = {}
    for resource in resources:
        for key, operation in resource.ops.items():
            bindings[key] = {"call": f"{resource.component}.{operation}"}
        config: dict[str, Any] = {
            "schema": contract.name + resource.schema,
            "key": resource.key,
        }
        if resource.key_type != "string":
            config["key_type"] = resource.key_type
        if resource.key_strategy != "uuid":
            config["key_strategy"] = resource.key_strategy
        components[resource.component] = {
            "kind": "documents",
            "description": f"The {resource.collection} collection, kept as JSON documents keyed "
            f"by `{resource.key}` ({resource.key_strategy}).",
            "config": config,
        }
    description = str(info.get("description") or title).strip().split("\n\n")[0]
    label = " ".join(str(x) for x in (title, info.get("version", "")) if x)
    api = {
        "kind": "api",
        "description": f"Serves {contract.name} ({label}) as written.",
        "config": {"contract": contract.name, "operations": bindings},
    }
    architecture = {
        "schema_version": 1,
        "system": {
            "name": name,
            "version": semver(str(info.get("version", ""))),
            "description": description[:500],
        },
        "components": {"api": api, **components},
    }
    stores = [r.component for r in resources]
    return architecture, deployment_for(name, stores=stores, document=document)


def _secrets_needed(document: dict[str, Any]) -> list[str]:
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    needed = set()
    for scheme in schemes.values():
        if not isinstance(scheme, dict):
            continue
        kind = scheme.get("type")
        if kind == "apiKey" or (kind == "http" and str(scheme.get("scheme")).lower() == "basic"):
            needed.add("API_KEYS")
        elif kind in ("oauth2", "openIdConnect") or (
            kind == "http" and str(scheme.get("scheme")).lower() == "bearer"
        ):
            needed.add("JWT_SECRET")
    return sorted(needed)


def deployment_for(name: str, *, stores: list[str], document: dict[str, Any]) -> dict[str, Any]:
    """dev on embedded SQLite, prod on PostgreSQL; credentials as secret references."""
    secrets = _secrets_needed(document)
    key_names = {"API_KEYS": "api-keys", "JWT_SECRET": "jwt-secret"}
    dev: dict[str, Any] = {
        "description": "A laptop or CI runner: one process on embedded SQLite.",
        "replicas": 1,
        "log_level": "debug",
    }
    prod: dict[str, Any] = {
        "description": "Production: PostgreSQL, two replicas.",
        "image": {"repository": f"registry.example.com/{name}", "tag": "0.1.0"},
        "replicas": 2,
        "log_level": "info",
    }
    if secrets:
        dev["secrets"] = {s: {"secret": f"{name}-dev", "key": key_names[s]} for s in secrets}
        prod["secrets"] = {s: {"secret": f"{name}-auth", "key": key_names[s]} for s in secrets}
    if stores:
        prod["databases"] = {
            store: {"engine": "postgresql", "url": {"secret": f"{name}-db", "key": "url"}}
            for store in stores
        }
    return {
        "schema_version": 1,
        "system": name,
        "environments": {"dev": dev, "prod": prod},
    }
