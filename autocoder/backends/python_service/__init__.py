"""The Python service back end: IR -> the file drafts of a standalone FastAPI service.

It reads only the IR. The output (``service/`` below OUT) is a project of its own: the app
package (models, tables, routes, the dataflow wiring), the runtime copied verbatim from
``autocoder/runtime``, an Alembic migration, a generated test suite and a pyproject with its
dependencies and ruff settings. Custom logic modules under ``app/logic/`` are user-owned.
"""

from __future__ import annotations

import json
import pprint
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from autocoder.ir.models import IR
from autocoder.output import FileDraft
from autocoder.output.format import FormatError, ruff_command
from autocoder.resources import data_dir

from . import strategies
from .samples import sample, type_sample
from .types import attribute_name
from .types import view as types_view
from .views import (
    ApiView,
    FlowComponentView,
    StoreView,
    SystemView,
    pascal,
    resolve,
    snake,
    system_view,
)

SERVICE = "service"

# Pinned lower bounds of what generated services are tested with.
DEPENDENCIES = [
    "fastapi>=0.115",
    "uvicorn>=0.30",
    "pydantic>=2.7,<3",
    "sqlalchemy[asyncio]>=2.0.30,<3",
    "alembic>=1.13",
    "aiosqlite>=0.20",
    "psycopg[binary]>=3.2",
    "anyio>=4.4",
    "httpx>=0.27",
    "prometheus-client>=0.20",
    "cel-python>=0.5,<0.6",
    "pyjwt>=2.8",
    "jsonschema>=4.21,<5",
    "python-multipart>=0.0.9",
]
TEST_DEPENDENCIES = ["pytest>=8", "hypothesis>=6.100", "ruff>=0.6", "schemathesis>=4"]


LOCK_FILE = "requirements.lock"


@cache
def _requirements_lock() -> str:
    return (data_dir("component_templates") / "python" / LOCK_FILE).read_text(encoding="utf-8")


def pins() -> dict[str, str]:
    """The service's locked dependency versions: normalized name -> version."""
    out = {}
    for line in _requirements_lock().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            out[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return out


def _py(value: Any) -> str:
    """A Python literal (ruff formats it afterwards)."""
    return pprint.pformat(value, width=10_000, sort_dicts=False)


def _json(value: Any) -> str:
    """A JSON data file of the service (key order kept: it is the contract as written)."""
    return json.dumps(value, indent=1, ensure_ascii=False) + "\n"


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _docstring(text: str) -> str:
    """Free text (descriptions, summaries, paths from a blueprint, a contract or a model) made
    inert inside a triple-quoted docstring: no quote or backslash can end the string early,
    so no text becomes code."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _unannotate(text: str) -> str:
    """``Annotated[int | None, Query(...)]`` -> ``int | None``."""
    if not text.startswith("Annotated["):
        return text
    depth = 0
    for index, char in enumerate(text[len("Annotated[") :], start=len("Annotated[")):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            return text[len("Annotated[") : index]
    return text


@cache
def templates() -> Environment:
    """The one jinja2 environment of this back end."""
    env = Environment(
        loader=FileSystemLoader(data_dir("component_templates") / "python"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - generates Python source, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["py"] = _py
    env.filters["toml"] = _toml
    env.filters["snake"] = snake
    env.filters["pascal"] = pascal
    env.filters["unannotate"] = _unannotate
    env.filters["docstring"] = _docstring
    env.filters["attribute"] = attribute_name
    env.filters["singleton"] = lambda item: repr([item])
    env.filters["kwarg_from"] = lambda wire, value: f"**{{{wire!r}: {value}}}"
    return env


def _render(template: str, **context: Any) -> str:
    return templates().get_template(template).render(**context)


class _Generator:
    def __init__(self, ir: IR) -> None:
        self.ir = ir
        self.s: SystemView = system_view(ir)
        self.types = {t.name: t for t in ir.types}
        self.models = types_view(ir)
        self.model_names = {m.name for m in self.models["models"]}
        self.message_models = {m.base: m.name for m in self.models["messages"]}
        self.texts: dict[str, str] = {}
        self.user_owned: dict[str, str] = {}

    # helpers exposed to templates
    def guard_args(self, c: FlowComponentView, in_type: str | None) -> str:
        caps = c.capabilities
        args = []
        if caps.get("validate") and in_type is not None and in_type in self.model_names:
            args.append(f"model=models.{self.message_model(in_type)}")
        if c.error_port:
            args.append(f"error_port={c.error_port!r}")
        for name in ("timeout", "retry", "circuit_breaker", "rate_limit"):
            if name in caps:
                args.append(f"{name}={_py(caps[name])}")
        return ", ".join(args)

    def message_model(self, type_name: str) -> str:
        """The model validating messages of a type (server-set fields may be absent)."""
        return str(self.message_models.get(type_name, type_name))

    def fields_of(self, type_name: str) -> list[str] | None:
        schema = resolve({"type": type_name}, self.types)
        props = schema.get("properties")
        return sorted(props) if props and not schema.get("additionalProperties") else None

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "s": self.s,
            "model_names": self.model_names,
            "guard_args": self.guard_args,
            "fields_of": self.fields_of,
            "message_model": self.message_model,
            **extra,
        }

    def add(self, path: str, text: str) -> None:
        self.texts[path] = text

    def run(self) -> None:
        s = self.s
        self.add(
            "pyproject.toml",
            _render(
                "pyproject.toml.j2",
                s=s,
                dependencies=DEPENDENCIES,
                test_dependencies=TEST_DEPENDENCIES,
            ),
        )
        self.add("README.md", _render("README.md.j2", s=s))
        self.add(".gitignore", _render("gitignore.j2"))
        self.add(".dockerignore", _render("dockerignore.j2"))
        self.add(LOCK_FILE, _requirements_lock())
        self.add("app/__main__.py", _render("app/__main__.py.j2", s=s))
        self.add("alembic.ini", _render("alembic.ini.j2", s=s))
        self.add("app/__init__.py", f'"""{s.name} {s.version}: generated by Autocoder."""\n')
        self.add("app/models.py", _render("app/models.py.j2", **self.models))
        self.add("app/settings.py", _render("app/settings.py.j2", s=s))
        self.add("app/tables.py", _render("app/tables.py.j2", s=s))
        self.add("app/system.py", _render("app/system.py.j2", **self.context()))
        self.add("app/main.py", _render("app/main.py.j2", s=s))
        self.add("app/api/__init__.py", '"""HTTP routes, one module per `api` component."""\n')
        self.add("app/logic_base/__init__.py", _render("app/logic_base/__init__.py.j2"))
        self.add(
            "app/logic/__init__.py", '"""Custom logic: modules you own (see app/logic_base/)."""\n'
        )
        for api in s.apis:
            used = self._api_models(api)
            self.add(
                f"app/api/{api.module}.py",
                _render("app/api/router.py.j2", **self.context(a=api, model_imports=used)),
            )
            if api.custom:
                self.add(
                    f"app/logic_base/{api.module}.py",
                    _render("app/logic_base/api.py.j2", **self.context(a=api, model_imports=used)),
                )
                methods = [r.func for r in api.routes if r.custom]
                self.user_owned[f"app/logic/{api.module}.py"] = _render(
                    "app/logic/module.py.j2",
                    name=api.name,
                    klass=api.klass,
                    module=api.module,
                    methods=methods,
                )
        for c in s.contract_apis:
            self.add(f"app/api/{c.module}.py", _render("app/api/contract.py.j2", c=c))
            self.add(f"app/contracts/{c.module}.json", _json(c.document))
            self.add(f"app/contracts/{c.module}.examples.json", _json(c.examples))
            self.add(f"app/logic_base/{c.module}.py", _render("app/logic_base/contract.py.j2", c=c))
            self.user_owned[f"app/logic/{c.module}.py"] = _render("app/logic/contract.py.j2", c=c)
        for c in s.custom:
            used = sorted({p.type for p in (*c.inputs, *c.outputs)} & self.model_names)
            self.add(
                f"app/logic_base/{c.attr}.py",
                _render("app/logic_base/component.py.j2", **self.context(c=c, model_imports=used)),
            )
            methods = (["produce"] if c.kind == "source" else []) + [
                f"on_{snake(p.name)}" for p in c.inputs
            ]
            self.user_owned[f"app/logic/{c.attr}.py"] = _render(
                "app/logic/module.py.j2", name=c.name, klass=c.klass, module=c.attr, methods=methods
            )
        self.add("migrations/env.py", _render("migrations/env.py.j2", s=s))
        self.add("migrations/script.py.mako", _render("migrations/script.py.mako.j2"))
        self.add("migrations/versions/0001_initial.py", _render("migrations/initial.py.j2", s=s))
        self._runtime()
        self._tests()

    def _api_models(self, api: ApiView) -> list[str]:
        names = {r.request for r in api.routes if r.request}
        names |= {r.response_item for r in api.routes if r.response_item}
        return sorted(n for n in names if n in self.model_names)

    def _runtime(self) -> None:
        root = Path(__file__).resolve().parents[2] / "runtime"
        for path in sorted(root.glob("*.py")):
            self.add(f"app/runtime/{path.name}", path.read_text(encoding="utf-8"))

    def _tests(self) -> None:
        s = self.s
        stores = {t.attr: t for t in s.stores}
        entity_samples = {t.name: self._entity_sample(t) for t in s.stores}
        missing = {t.attr: self._missing_key(t) for t in s.stores}
        self.add("tests/__init__.py", "")
        self.add("tests/conftest.py", _render("tests/conftest.py.j2", s=s))
        self.add("tests/test_health.py", _render("tests/test_health.py.j2", s=s))
        for api in s.apis:
            request_samples = {
                r.operation_id: type_sample(r.request, self.types) if r.request else None
                for r in api.routes
            }
            used_stores = [stores[a] for a in sorted({r.store for r in api.routes if r.store})]
            self.add(
                f"tests/test_api_{api.module}.py",
                _render(
                    "tests/test_api.py.j2",
                    **self.context(
                        a=api,
                        model_imports=self._api_models(api),
                        stores=stores,
                        stores_used=used_stores,
                        entity_samples=entity_samples,
                        request_samples=request_samples,
                        missing_keys=missing,
                    ),
                ),
            )
        for c in s.contract_apis:
            self.add(f"tests/test_contract_{c.module}.py", self._contract_tests(c))
        self._flow_tests()

    def _contract_tests(self, c: Any) -> str:
        from .contract_api import request_cases  # FastAPI's import cost only when needed

        cases = []
        for case in request_cases(c):
            entry: dict[str, Any] = {
                "key": case.key,
                "method": case.method,
                "path": case.path,
                "query": case.query,
                "headers": case.headers,
                "cookies": case.cookies,
                "auth": case.auth,
                "skip": case.skip,
            }
            if case.json is not None:
                entry["json"] = case.json
            if case.data is not None:
                entry["data"] = case.data
            cases.append(entry)
        index = {case["key"]: i for i, case in enumerate(cases)}
        flows = []
        for d in self.s.documents:
            ops = {op.call[1]: op for op in c.ops if op.call and op.call[0] == d.attr}
            create, get, delete = ops.get("create"), ops.get("get"), ops.get("delete")
            if create is None or get is None or cases[index[create.key]]["skip"]:
                continue
            if create.shape[0] not in ("document", "member"):
                continue
            if get.shape[0] not in ("document", "member") or "{" not in get.path:
                continue
            param = get.path[get.path.rindex("{") :]
            item = get.path if delete is None or delete.path == get.path else None
            if item is None:
                continue
            flows.append(
                {
                    "attr": d.attr,
                    "name": d.name,
                    "key": d.key,
                    "make": index[create.key],
                    "create_status": create.status,
                    "create_member": create.shape[1] if create.shape[0] == "member" else None,
                    "read": index[get.key],
                    "get_status": get.status,
                    "get_member": get.shape[1] if get.shape[0] == "member" else None,
                    "item": get.path,
                    "param": param,
                    "delete": index[delete.key] if delete is not None else None,
                    "delete_status": delete.status if delete is not None else None,
                }
            )
        return _render(
            "tests/test_contract.py.j2", c=c, cases=cases, flows=flows, endpoints=self.s.endpoints
        )

    def _flow_tests(self) -> None:
        s, types = self.s, self.types
        flow = {c.name: c for c in s.flow}
        feeds, entry_targets, store_sinks = [], set(), {}
        api_ports = {(a.name, e) for a in s.apis for e in a.emits}
        source_ports = {(c.name, p.name) for c in s.flow if c.kind == "source" for p in c.outputs}
        seen = set()
        for b in s.bindings:
            src_component, src_port = b.source
            port_type = self._port_type(src_component, src_port)
            for target, _ in b.targets:
                if target in flow and target not in seen:
                    seen.add(target)
                    c = flow[target]
                    feeds.append(
                        {
                            "name": c.name,
                            "attr": c.attr,
                            "custom": c.custom,
                            "source": src_component,
                            "source_attr": snake(src_component),
                            "port": src_port,
                            "sample": type_sample(port_type, types),
                            "webhook": c.kind == "sink",
                        }
                    )
                if (src_component, src_port) in api_ports | source_ports:
                    entry_targets.add(target)
        for c in s.flow:
            config = self.ir.component(c.name)
            if c.kind == "sink" and config is not None and "store" in config.config:
                store_sinks[c.name] = snake(config.config["store"]["component"])
        self.add(
            "tests/test_dataflow.py",
            _render("tests/test_dataflow.py.j2", **self.context(feeds=feeds)),
        )
        http_entries, source_entries = [], []
        for a in s.apis:
            for r in a.routes:
                if r.emit and r.request and r.method in ("post", "put"):
                    http_entries.append(
                        {
                            "method": r.method,
                            "path": r.path,
                            "status": r.status,
                            "sample": type_sample(r.request, types),
                        }
                    )
        for c in s.flow:
            if c.kind == "source" and any(b.source[0] == c.name for b in s.bindings):
                port = c.outputs[0]
                source_entries.append(
                    {
                        "component": c.name,
                        "port": port.name,
                        "sample": type_sample(port.type, types),
                    }
                )
        crud = None
        for a in s.apis:
            creates = {r.store: r for r in a.routes if r.operation == "create" and r.response}
            gets = {r.store: r for r in a.routes if r.operation == "get"}
            deletes = {r.store: r for r in a.routes if r.operation == "delete"}
            for store, create in creates.items():
                if store in gets and create.request:
                    get = gets[store]
                    st = next(t for t in s.stores if t.attr == store)
                    crud = {
                        "create": create.path,
                        "status": create.status,
                        "key": st.key,
                        "sample": type_sample(create.request, types),
                        "item": get.path,
                        "param": get.path_params[-1].wire,
                        "delete": store in deletes and deletes[store].path == get.path,
                    }
                    break
        self.add(
            "tests/test_e2e.py",
            _render(
                "tests/test_e2e.py.j2",
                **self.context(
                    entry_targets=sorted(entry_targets),
                    store_sinks=store_sinks,
                    http_entries=http_entries,
                    source_entries=source_entries,
                    crud=crud,
                ),
            ),
        )
        self._property_tests()

    def _port_type(self, component: str, port: str) -> str:
        c = self.ir.component(component)
        found = c.port(port) if c else None
        return found.type if found else "object"

    def _property_tests(self) -> None:
        s = self.s
        create_props = []
        for a in s.apis:
            for r in a.routes:
                if (
                    r.operation == "create"
                    and r.request in self.model_names
                    and r.response_item in self.model_names
                ):
                    create_props.append(
                        {
                            "func": r.func,
                            "path": r.path,
                            "status": r.status,
                            "request": r.request,
                            "response": r.response_item,
                        }
                    )
        filters, routers, transformers = [], [], []
        for c in s.flow:
            if c.custom or not c.inputs or c.inputs[0].type not in self.model_names:
                continue
            base = {"name": c.name, "attr": c.attr, "type": c.inputs[0].type}
            outputs = [p.name for p in c.outputs]
            if c.kind == "filter":
                filters.append({**base, "rejected": "rejected" in outputs})
            elif c.kind == "router":
                routers.append({**base, "ports": outputs})
            elif c.kind == "transformer":
                out = c.outputs[0]
                transformers.append(
                    {
                        **base,
                        "port": out.name,
                        "out_type": out.type,
                        "keep": self.fields_of(out.type),
                    }
                )
        if create_props or filters or routers or transformers:
            self.add(
                "tests/strategies.py",
                _render(
                    "tests/strategies.py.j2",
                    strategies=strategies.module(self.types, sorted(self.model_names)),
                ),
            )
            self.add(
                "tests/test_properties.py",
                _render(
                    "tests/test_properties.py.j2",
                    **self.context(
                        create_props=create_props,
                        filters=filters,
                        routers=routers,
                        transformers=transformers,
                    ),
                ),
            )

    def _entity_sample(self, store: StoreView) -> dict[str, Any]:
        value = type_sample(store.entity, self.types)
        if not isinstance(value, dict):
            raise TypeError(f"entity {store.entity} is not an object type")
        if store.key_strategy != "provided":
            value.pop(store.key, None)
        return value

    def _missing_key(self, store: StoreView) -> Any:
        if store.key_annotation == "uuid.UUID":
            return "00000000-0000-4000-8000-00000000dead"
        if store.key_annotation == "int":
            return 987654321
        key_schema = resolve(
            resolve({"type": store.entity}, self.types).get("properties", {}).get(store.key, {}),
            self.types,
        )
        candidate = sample({k: v for k, v in key_schema.items() if k != "examples"}, self.types)
        return candidate if candidate != self._entity_sample(store).get(store.key) else "missing"


def _ruff(texts: dict[str, str]) -> dict[str, str]:
    """Fix imports and format every Python file with ruff, in one process each."""
    with tempfile.TemporaryDirectory(prefix="autocoder-fmt-") as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(
            '[tool.ruff]\nline-length = 100\ntarget-version = "py311"\n', encoding="utf-8"
        )
        for path, text in texts.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        ruff = ruff_command()
        files = sorted(texts)
        for args in (
            ["check", "--fix-only", "--select", "I,F401,UP", "--exit-zero", "--no-cache", *files],
            ["format", "--no-cache", *files],
        ):
            result = subprocess.run(  # noqa: S603 - our own ruff on our own temp files
                [*ruff, *args], cwd=root, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise FormatError(result.stderr.strip() or result.stdout.strip())
        out = {path: (root / path).read_text(encoding="utf-8") for path in files}
        shutil.rmtree(root, ignore_errors=True)
        return out


def service_drafts(ir: IR) -> list[FileDraft]:
    """Every file of ``service/``, paths relative to OUT; user-owned modules flagged."""
    gen = _Generator(ir)
    gen.run()
    python = {p: t for p, t in gen.texts.items() if p.endswith(".py")}
    python.update({p: t for p, t in gen.user_owned.items()})
    formatted = _ruff(python)
    drafts = []
    for path, text in sorted(gen.texts.items()):
        drafts.append(FileDraft.text(f"{SERVICE}/{path}", formatted.get(path, text)))
    for path in sorted(gen.user_owned):
        drafts.append(FileDraft.text(f"{SERVICE}/{path}", formatted[path], user_owned=True))
    return drafts


def model_drafts(ir: IR) -> list[FileDraft]:
    """``service/app/models.py`` for the system's types."""
    gen = _Generator(ir)
    text = _render("app/models.py.j2", **gen.models)
    return [FileDraft.text(f"{SERVICE}/app/models.py", _ruff({"models.py": text})["models.py"])]


__all__ = ["LOCK_FILE", "SERVICE", "model_drafts", "pins", "service_drafts", "templates"]
