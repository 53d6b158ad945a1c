"""The ``blueprint`` tier: the blueprints in OUT compile cleanly and ir.v1.json is up to date.

Recompiles OUT/architecture.yaml and deployment.yaml (schema and every semantic pass,
architecture policy included) and reports each diagnostic as a finding; then reads
OUT/ir.v1.json and checks it is the IR of those blueprints (same content hash).
"""

from __future__ import annotations

import time
from pathlib import Path

from autocoder.compiler import compile_source
from autocoder.diagnostics import Diagnostic, DiagnosticSink, codes
from autocoder.ir.serialize import IR_FILENAME, read_ir
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Finding, Location, Severity, Status, TierResult

NAME = "blueprint"
INPUTS = ("architecture.yaml", "deployment.yaml", "ir.v1.json")

REBUILD = "rebuild with `autocoder build` so that ir.v1.json, service/ and deploy/ follow"


def run(ctx: ValidateContext) -> TierResult:
    start = time.perf_counter()
    result = TierResult(NAME, Status.PASSED)
    compiled = compile_source(ctx.out)
    result.findings.extend(_finding(ctx, d) for d in compiled.sink.diagnostics)
    result.checked.append(
        f"blueprints: {', '.join(sorted(compiled.files)) or 'none'} "
        f"({len(compiled.sink.diagnostics)} diagnostic(s))"
    )
    if compiled.ir is not None:
        _check_ir_file(ctx, compiled.ir.content_hash, result)
    else:
        result.not_checked.append(f"{IR_FILENAME}: the blueprints do not compile to compare it")
    result.seconds = time.perf_counter() - start
    return result.settle()


def _check_ir_file(ctx: ValidateContext, expected: str, result: TierResult) -> None:
    path = ctx.out / IR_FILENAME
    if not path.is_file():
        result.findings.append(
            Finding(
                codes.IR_INVALID.id,
                Severity.ERROR,
                f"{IR_FILENAME} is missing",
                NAME,
                Location(IR_FILENAME),
                REBUILD,
                codes.IR_INVALID.name,
            )
        )
        return
    sink = DiagnosticSink()
    ir = read_ir(path, sink, file=str(path))
    result.findings.extend(_finding(ctx, d) for d in sink.diagnostics)
    if ir is None:
        return
    result.checked.append(f"{IR_FILENAME}: content hash compared with the blueprints")
    if ir.content_hash != expected:
        result.findings.append(
            Finding(
                codes.IR_HASH_MISMATCH.id,
                Severity.ERROR,
                f"{IR_FILENAME} is stale: it is not the IR the blueprints compile to",
                NAME,
                Location(IR_FILENAME),
                f"its content hash is {ir.content_hash}, the blueprints' is {expected}; {REBUILD}",
                codes.IR_HASH_MISMATCH.name,
            )
        )


def _finding(ctx: ValidateContext, diagnostic: Diagnostic) -> Finding:
    location = Location(node=diagnostic.pointer)
    if diagnostic.span is not None:
        span = diagnostic.span
        file = Path(span.file)
        location = Location(
            ctx.relative(file if file.is_absolute() else Path.cwd() / file),
            span.line,
            span.col,
        )
    return Finding(
        code=diagnostic.code.id,
        severity=Severity(diagnostic.severity.value),
        message=diagnostic.message,
        tier=NAME,
        location=location,
        hint=diagnostic.hint,
        rule_name=diagnostic.code.name,
        suppressed=diagnostic.suppressed_by,
    )
