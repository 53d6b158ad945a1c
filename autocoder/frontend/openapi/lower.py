"""Lowering of a contract API: the OpenAPI document's operations become IR routes.

An ``api`` component with ``contract: FILE`` gets one route per operation of the document, in
document order. A route keeps the operation's JSON pointer (``Route.contract``), its key
(``operation_id``: the operationId, or ``METHOD /path`` when the document has none or repeats
one), the first documented success status, and whether its effective security requires
credentials. ``operations`` in the blueprint binds keys to a call or to user-owned logic.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from autocoder.diagnostics import DiagnosticSink, codes
from autocoder.diagnostics.suggest import did_you_mean
from autocoder.frontend.loader import join_pointer
from autocoder.frontend.openapi.document import METHODS, Contract
from autocoder.ir import models as m

PATH_PARAM = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Operation:
    """One operation of a contract, as the importer and the lowering see it."""

    key: str
    method: str  # upper case
    path: str
    pointer: str  # "#/paths/~1pets/get"
    data: dict[str, Any]
    path_item: dict[str, Any]


def operations(
    document: dict[str, Any], sink: DiagnosticSink | None = None, file: str = ""
) -> list[Operation]:
    """The document's operations in order, keyed by operationId unless it is missing or
    repeated (then ``METHOD /path``, with a warning for a repeated one)."""
    from autocoder.runtime.oas import pointer  # the runtime package imports httpx etc.

    found: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                found.append((str(path), method, operation, item))
    ids = Counter(
        op.get("operationId") for _, _, op, _ in found if isinstance(op.get("operationId"), str)
    )
    out = []
    for path, method, operation, item in found:
        op_id = operation.get("operationId")
        where = pointer("paths", path, method)
        if isinstance(op_id, str) and op_id and ids[op_id] == 1:
            key = op_id
        else:
            key = f"{method.upper()} {path}"
            if isinstance(op_id, str) and ids[op_id] > 1 and sink is not None:
                sink.report(
                    codes.OPENAPI_DUPLICATE_OPERATION_ID,
                    f"operationId {op_id!r} is used by {ids[op_id]} operations; this one is "
                    f"{key!r} in the blueprint",
                    file=file,
                    pointer=where[1:] + "/operationId",
                )
        out.append(Operation(key, method.upper(), path, where, operation, item))
    return out


def success_status(operation: dict[str, Any]) -> tuple[int, str]:
    """The first documented 2xx status (``2XX`` counts as 200, only ``default``: 200) and its
    description."""
    responses = operation.get("responses") or {}
    codes_found = sorted(
        (str(k) for k in responses if str(k)[:1] == "2"),
        key=lambda k: (not k.isdigit(), k),
    )
    if not codes_found:
        chosen = responses.get("default") or {}
        return 200, str(chosen.get("description", "")) if isinstance(chosen, dict) else ""
    key = codes_found[0]
    status = int(key) if key.isdigit() else 200
    response = responses.get(key) if isinstance(responses.get(key), dict) else {}
    return status, str((response or {}).get("description", ""))


def requires_credentials(document: dict[str, Any], operation: dict[str, Any]) -> bool:
    requirement = operation.get("security", document.get("security", []))
    if not isinstance(requirement, list) or not requirement:
        return False
    return all(isinstance(alt, dict) and alt for alt in requirement)


def contract_routes(
    api: str,
    config: dict[str, Any],
    contract: Contract,
    sink: DiagnosticSink,
    architecture_file: str,
) -> list[m.Route]:
    from autocoder.runtime.oas import base_path

    document = contract.data
    prefix = base_path(document)
    found = operations(document, sink, contract.file)
    bindings: dict[str, Any] = config.get("operations") or {}
    keys = {op.key for op in found}
    for key in bindings:
        if key not in keys:
            sink.report(
                codes.OPENAPI_OPERATION_UNKNOWN,
                f"operation {key!r} is not in {contract.name}",
                file=architecture_file,
                pointer=join_pointer("/components", api, "config", "operations", key),
                key=True,
                hint=did_you_mean(key, sorted(keys), what="operations"),
            )
    routes = []
    for op in found:
        binding = bindings.get(op.key) or {}
        call = None
        if isinstance(binding.get("call"), str):
            target, operation = binding["call"].split(".", 1)
            call = m.CallRef(component=target, operation=operation)
        status, description = success_status(op.data)
        tags = [t for t in op.data.get("tags") or [] if isinstance(t, str)]
        routes.append(
            m.Route(
                id=f"route:{api}.{op.key}",
                origin=contract.name + op.pointer,
                operation_id=op.key,
                method=op.method,
                path=prefix + op.path,
                path_params=PATH_PARAM.findall(op.path),
                summary=str(op.data.get("summary") or ""),
                description=str(op.data.get("description") or ""),
                tags=list(dict.fromkeys(tags)),
                deprecated=op.data.get("deprecated") is True,
                response=m.Response(status=status, description=description),
                call=call,
                emit=binding.get("emit"),
                auth=requires_credentials(document, op.data),
                contract=op.pointer,
            )
        )
    return routes
