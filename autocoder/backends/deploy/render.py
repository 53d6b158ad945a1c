"""Render a kustomize overlay in Python, for the subset of kustomize the deployment package uses.

The validation tiers check the files on disk (which a user may have edited), on machines
without kubectl too. Supported: a kustomization with ``resources`` (YAML files, and directories
holding a kustomization such as ``../../base``), ``namespace``, ``images`` (name, newName,
newTag, digest) and ``patches`` (RFC 6902 JSON patches with add, replace and remove, from
``path`` or an inline ``patch``, selecting a ``target`` by kind and name). Transformers run in
kustomize's order: patches, then the namespace, then the images. Anything else raises
``UnsupportedKustomizeError`` instead of rendering something kustomize would not.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ruamel.yaml.error import YAMLError

from autocoder.backends.deploy.yamlout import load_all

Obj = dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
OVERLAYS = "kubernetes/overlays"
SUPPORTED_KEYS = frozenset({"apiVersion", "kind", "resources", "namespace", "images", "patches"})
PATCH_KEYS = frozenset({"path", "patch", "target"})
TARGET_KEYS = frozenset({"kind", "name"})
IMAGE_KEYS = frozenset({"name", "newName", "newTag", "digest"})
PATCH_OPS = frozenset({"add", "replace", "remove"})

# Built-in kinds kustomize leaves without a namespace (custom resources count as namespaced).
CLUSTER_SCOPED = frozenset(
    {
        "APIService",
        "CSIDriver",
        "CSINode",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)
# Kinds whose other fields kustomize's namespace transformer also rewrites.
NAMESPACE_REFERENCES = frozenset({"RoleBinding", "ClusterRoleBinding"})


class KustomizeError(Exception):
    """The overlay cannot be rendered: kustomize would refuse it too."""


class UnsupportedKustomizeError(KustomizeError):
    """The overlay uses a kustomize feature outside the subset rendered here."""


class _Tree(Protocol):
    def read(self, path: str) -> str | None: ...

    def is_dir(self, path: str) -> bool: ...


@dataclass(frozen=True)
class _Disk:
    root: Path

    def read(self, path: str) -> str | None:
        file = self.root / path
        if not file.is_file():
            return None
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KustomizeError(f"{path}: cannot read the file: {exc}") from exc

    def is_dir(self, path: str) -> bool:
        return (self.root / path).is_dir()


@dataclass(frozen=True)
class _Memory:
    files: Mapping[str, str]

    def read(self, path: str) -> str | None:
        return self.files.get(path)

    def is_dir(self, path: str) -> bool:
        prefix = f"{path}/" if path not in ("", ".") else ""
        return any(name.startswith(prefix) for name in self.files)


def overlay_dir(env: str) -> str:
    """The overlay of environment ``env``, relative to the deployment package."""
    return f"{OVERLAYS}/{env}"


def environments(root: Path) -> list[str]:
    """The environments of the package at ``root`` (OUT/deploy): its overlay directories."""
    folder = root / OVERLAYS
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def render_overlay(root: Path, env: str) -> list[Obj]:
    """What ``kubectl kustomize <root>/kubernetes/overlays/<env>`` renders; ``root`` is the
    folder holding ``kubernetes/`` (OUT/deploy). Raises KustomizeError."""
    return _Renderer(_Disk(root)).render(overlay_dir(env))


def render_files(files: Mapping[str, str], env: str) -> list[Obj]:
    """``render_overlay`` over files in memory, keyed by path relative to the package root
    (``kubernetes/base/deployment.yaml``)."""
    return _Renderer(_Memory(files)).render(overlay_dir(env))


class _Renderer:
    def __init__(self, tree: _Tree) -> None:
        self.tree = tree
        self.stack: list[str] = []

    def render(self, directory: str) -> list[Obj]:
        if directory in self.stack:
            raise KustomizeError(f"{directory}: the kustomizations include each other")
        self.stack.append(directory)
        try:
            return self._render(directory)
        finally:
            self.stack.pop()

    def _render(self, directory: str) -> list[Obj]:
        where, data = self._kustomization(directory)
        unsupported = sorted(set(data) - SUPPORTED_KEYS)
        if unsupported:
            raise UnsupportedKustomizeError(
                f"{where}: {', '.join(unsupported)} is not supported here "
                f"(supported: {', '.join(sorted(SUPPORTED_KEYS))})"
            )
        if data.get("kind", "Kustomization") != "Kustomization":
            raise UnsupportedKustomizeError(f"{where}: kind {data['kind']!r} is not supported")
        objects: list[Obj] = []
        for entry in _entries(data, "resources", where):
            if not isinstance(entry, str):
                raise KustomizeError(f"{where}: a resource is a path, not {entry!r}")
            objects.extend(self._resource(directory, entry, where))
        _check_unique(objects, where)
        for patch in _entries(data, "patches", where):
            self._patch(directory, patch, objects, where)
        if "namespace" in data:
            _set_namespace(objects, data["namespace"], where)
            _check_unique(objects, where)
        for image in _entries(data, "images", where):
            _set_image(objects, image, where)
        return objects

    def _kustomization(self, directory: str) -> tuple[str, Obj]:
        for name in KUSTOMIZATION_FILES:
            path = _join(directory, name)
            text = self.tree.read(path)
            if text is None:
                continue
            documents = _parse(text, path)
            if len(documents) != 1 or not isinstance(documents[0], dict):
                raise KustomizeError(f"{path}: a kustomization is one YAML mapping")
            return path, documents[0]
        raise KustomizeError(f"{directory}: no kustomization.yaml")

    def _resource(self, directory: str, entry: str, where: str) -> list[Obj]:
        if "://" in entry or entry.startswith(("git@", "github.com/")):
            raise UnsupportedKustomizeError(f"{where}: remote resource {entry!r} is not supported")
        path = _join(directory, entry)
        if self.tree.is_dir(path):
            return self.render(path)
        text = self._read_local(directory, path, where)
        objects: list[Obj] = []
        for document in _parse(text, path):
            if not isinstance(document, dict) or not isinstance(document.get("kind"), str):
                raise KustomizeError(f"{path}: a resource is a Kubernetes object with a kind")
            if document["kind"] == "List":
                raise UnsupportedKustomizeError(f"{path}: `kind: List` is not supported")
            name = (document.get("metadata") or {}).get("name")
            if not isinstance(name, str) or not name:
                raise KustomizeError(f"{path}: {document['kind']} without metadata.name")
            objects.append(document)
        return objects

    def _read_local(self, directory: str, path: str, where: str) -> str:
        """A file the kustomization reads: kustomize only loads files in or below its folder."""
        if not path.startswith(f"{directory}/"):
            raise KustomizeError(f"{where}: {path} is not in or below {directory}")
        text = self.tree.read(path)
        if text is None:
            raise KustomizeError(f"{where}: {path}: no such file or directory")
        return text

    def _patch(self, directory: str, patch: Any, objects: list[Obj], where: str) -> None:
        if not isinstance(patch, dict):
            raise KustomizeError(f"{where}: a patch is a mapping with path (or patch) and target")
        unsupported = sorted(set(patch) - PATCH_KEYS)
        if unsupported:
            raise UnsupportedKustomizeError(f"{where}: patch option {unsupported} is not supported")
        target = patch.get("target")
        if not isinstance(target, dict):
            raise UnsupportedKustomizeError(
                f"{where}: a patch without a target (a strategic merge patch) is not supported"
            )
        selectors = sorted(set(target) - TARGET_KEYS)
        if selectors:
            raise UnsupportedKustomizeError(
                f"{where}: patch target selector {selectors} is not supported (kind, name only)"
            )
        if ("path" in patch) == ("patch" in patch):
            raise KustomizeError(f"{where}: a patch has either `path` or `patch`")
        if "path" in patch:
            source = _join(directory, str(patch["path"]))
            text = self._read_local(directory, source, where)
        else:
            source, text = where, str(patch["patch"])
        documents = _parse(text, source)
        if len(documents) != 1 or not isinstance(documents[0], list):
            raise UnsupportedKustomizeError(
                f"{source}: only JSON patches (a list of operations) are supported, not strategic "
                "merge patches"
            )
        ops = documents[0]
        kind, name = _selector(target.get("kind"), where), _selector(target.get("name"), where)
        for index, obj in enumerate(objects):
            if kind.fullmatch(str(obj["kind"])) and name.fullmatch(str(obj["metadata"]["name"])):
                try:
                    objects[index] = apply_json_patch(obj, ops)
                except KustomizeError as exc:
                    raise type(exc)(f"{source}: {exc}") from exc


def _parse(text: str, path: str) -> list[Any]:
    try:
        return load_all(text)
    except YAMLError as exc:
        raise KustomizeError(f"{path}: not valid YAML: {exc}") from exc


def _join(directory: str, entry: str) -> str:
    path = posixpath.normpath(posixpath.join(directory, entry))
    if path == ".." or path.startswith("../") or posixpath.isabs(entry):
        raise KustomizeError(f"{directory}: {entry!r} is outside the deployment package")
    return path


def _entries(data: Obj, key: str, where: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise KustomizeError(f"{where}: `{key}` is a list")
    return value


def _selector(value: Any, where: str) -> re.Pattern[str]:
    """kustomize matches a target's kind and name as anchored regular expressions."""
    if value is None:
        return re.compile(".*")
    try:
        return re.compile(str(value))
    except re.error as exc:
        raise KustomizeError(f"{where}: patch target {value!r} is not a valid pattern") from exc


def _identity(obj: Obj) -> tuple[str, str, str]:
    metadata = obj.get("metadata") or {}
    return str(obj["kind"]), str(metadata.get("name")), str(metadata.get("namespace") or "")


def _check_unique(objects: list[Obj], where: str) -> None:
    seen: set[tuple[str, str, str]] = set()
    for obj in objects:
        key = _identity(obj)
        if key in seen:
            raise KustomizeError(f"{where}: {key[0]}/{key[1]} is defined twice")
        seen.add(key)


def _set_namespace(objects: list[Obj], namespace: Any, where: str) -> None:
    if not isinstance(namespace, str) or not namespace:
        raise KustomizeError(f"{where}: `namespace` is a string")
    for obj in objects:
        kind = obj["kind"]
        if kind in NAMESPACE_REFERENCES:
            raise UnsupportedKustomizeError(
                f"{where}: `namespace` over a {kind} (its subjects would change) is not supported"
            )
        metadata = obj.setdefault("metadata", {})
        if kind == "Namespace":
            metadata["name"] = namespace  # kustomize renames the Namespace object itself
        elif kind not in CLUSTER_SCOPED:
            metadata["namespace"] = namespace


def split_image(reference: str) -> tuple[str, str, str]:
    """``registry:5000/app:1.0@sha256:..`` -> (``registry:5000/app``, ``1.0``, ``sha256:..``)."""
    name, _, digest = reference.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest
    return name, "", digest


def _set_image(objects: list[Obj], image: Any, where: str) -> None:
    if not isinstance(image, dict) or not isinstance(image.get("name"), str):
        raise KustomizeError(f"{where}: an image entry is a mapping with a name")
    unsupported = sorted(set(image) - IMAGE_KEYS)
    if unsupported:
        raise UnsupportedKustomizeError(f"{where}: image option {unsupported} is not supported")
    new_tag = str(image["newTag"]) if image.get("newTag") is not None else ""
    new_digest = str(image["digest"]) if image.get("digest") is not None else ""

    def update(reference: str) -> str:
        name, tag, digest = split_image(reference)
        if name != image["name"]:
            return reference
        name = str(image.get("newName") or name)
        if new_tag or new_digest:  # a new tag or digest replaces both old values
            tag, digest = new_tag, new_digest
        return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")

    for obj in objects:
        _containers(obj, update)


def _containers(node: Any, update: Any) -> None:
    """Every ``image`` of a list named containers or initContainers, at any depth (as
    kustomize's image transformer does)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        container["image"] = update(container["image"])
            _containers(value, update)
    elif isinstance(node, list):
        for item in node:
            _containers(item, update)


def _token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def apply_json_patch(doc: Any, ops: list[Any]) -> Any:
    """Apply RFC 6902 operations (add, replace, remove) to a copy of ``doc``."""
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise KustomizeError(f"a JSON patch operation has op and path: {op!r}")
        name, pointer = op.get("op"), op["path"]
        if name not in PATCH_OPS:
            raise UnsupportedKustomizeError(f"JSON patch operation {name!r} is not supported")
        if name != "remove" and "value" not in op:
            raise KustomizeError(f"{name} {pointer}: the operation has no value")
        value = copy.deepcopy(op.get("value"))
        if pointer == "":
            if name == "remove":
                raise KustomizeError("remove: cannot remove the whole document")
            doc = value
            continue
        if not pointer.startswith("/"):
            raise KustomizeError(f"{name} {pointer}: a JSON pointer starts with /")
        *parents, last = [_token(t) for t in pointer.split("/")[1:]]
        node = doc
        for token in parents:
            node = _step(node, token, name, pointer)
        _apply(node, _token(last), name, value, pointer)
    return doc


def _index(node: list[Any], token: str, name: str, pointer: str, *, end: bool) -> int:
    if not re.fullmatch(r"0|[1-9][0-9]*", token):
        raise KustomizeError(f"{name} {pointer}: {token!r} is not a list index")
    index = int(token)
    if index > len(node) or (index == len(node) and not end):
        raise KustomizeError(f"{name} {pointer}: index {index} is out of range")
    return index


def _step(node: Any, token: str, name: str, pointer: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise KustomizeError(f"{name} {pointer}: there is no {token!r}")
        return node[token]
    if isinstance(node, list):
        return node[_index(node, token, name, pointer, end=False)]
    raise KustomizeError(f"{name} {pointer}: {token!r} is below a {type(node).__name__}")


def _apply(node: Any, key: str, name: str, value: Any, pointer: str) -> None:
    if isinstance(node, dict):
        if name != "add" and key not in node:
            raise KustomizeError(f"{name} {pointer}: there is no {key!r}")
        if name == "remove":
            del node[key]
        else:
            node[key] = value
    elif isinstance(node, list):
        if name == "add":
            index = len(node) if key == "-" else _index(node, key, name, pointer, end=True)
            node.insert(index, value)
        else:
            index = _index(node, key, name, pointer, end=False)
            if name == "remove":
                del node[index]
            else:
                node[index] = value
    else:
        raise KustomizeError(f"{name} {pointer}: {key!r} is below a {type(node).__name__}")


def canonical(objects: list[Obj]) -> list[str]:
    """Objects in an order-free form, to compare two renderings."""
    return sorted(json.dumps(o, sort_keys=True) for o in objects)
