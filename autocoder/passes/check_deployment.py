"""Deployment: references resolve, overrides never touch topology, no inline secrets, no
SQLite behind several replicas, and resources, autoscaling and ceilings are consistent."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator

from autocoder.diagnostics import codes
from autocoder.frontend.schema_check import validator_for
from autocoder.ir.models import Environment
from autocoder.ir.units import cpu_millis, memory_bytes
from autocoder.kinds import registry
from autocoder.passes._suggest import did_you_mean
from autocoder.passes.context import PassContext

SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)")
CREDENTIAL_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
KEY_LOOKALIKE = re.compile(r"^(sk-[A-Za-z0-9]{16,}|ghp_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|xox[bp]-)")


def check_deployment(ctx: PassContext) -> None:
    system = ctx.deployment_raw.get("system")
    if system is not None and system != ctx.ir.system.name:
        ctx.report(
            codes.SYSTEM_MISMATCH,
            f"deployment.yaml is for system {system!r}, but "
            f"architecture.yaml defines {ctx.ir.system.name!r}",
            "deployment.yaml#/system",
        )
    for env in ctx.ir.environments:
        _check_references(ctx, env)
        _check_overrides(ctx, env)
        _check_secrets(ctx, env)
        _check_scaling(ctx, env)


def _check_references(ctx: PassContext, env: Environment) -> None:
    for db in env.databases:
        where = f"{env.origin}/databases/{db.store}"
        component = ctx.components.get(db.store)
        if component is None:
            ctx.report(
                codes.UNKNOWN_DEPLOYMENT_REF,
                f"environment {env.name!r} gives a database to unknown component {db.store!r}",
                where,
                key=True,
                hint=did_you_mean(db.store, ctx.components, what="components"),
            )
        elif component.kind != "store":
            ctx.report(
                codes.DATABASE_FOR_NON_STORE,
                f"{db.store!r} is of kind {component.kind}, not a store",
                where,
                key=True,
            )
    if env.ingress is not None and not any(c.kind == "api" for c in ctx.ir.components):
        ctx.report(
            codes.INGRESS_WITHOUT_API,
            f"environment {env.name!r} has an ingress but the system has no api component",
            env.origin + "/ingress",
            key=True,
        )
    if env.image.tag == "latest" and env.image.digest is None:
        ctx.report(
            codes.MUTABLE_IMAGE_TAG,
            f"environment {env.name!r} deploys image tag 'latest'",
            env.origin + "/image/tag",
            hint="pin a version tag or a digest",
        )


def _check_overrides(ctx: PassContext, env: Environment) -> None:
    kinds = registry()
    for override in env.overrides:
        where = f"{env.origin}/overrides/{override.component}"
        component = ctx.components.get(override.component)
        if component is None:
            ctx.report(
                codes.UNKNOWN_DEPLOYMENT_REF,
                f"override for unknown component {override.component!r}",
                where,
                key=True,
                hint=did_you_mean(override.component, ctx.components, what="components"),
            )
            continue
        spec = kinds.get(component.kind)
        if spec is None:
            continue
        for key in override.config:
            if key not in spec.overridable:
                allowed = ", ".join(spec.overridable) or "none"
                ctx.report(
                    codes.TOPOLOGY_OVERRIDE,
                    f"{component.kind} setting {key!r} cannot be overridden per environment",
                    f"{where}/config/{key}",
                    key=True,
                    hint=f"overridable {component.kind} settings: {allowed}",
                )
        if override.config and spec.config_def is not None:
            merged = spec.apply_override(component.config, override.config)
            if component.kind == "api":
                merged["routes"] = [{"method": "GET", "path": "/", "operation_id": "x"}]
            _validate_subschema(ctx, f"#/$defs/{spec.config_def}", merged, f"{where}/config")
        if override.capabilities:
            _validate_subschema(
                ctx, "#/$defs/capabilities", override.capabilities, f"{where}/capabilities"
            )


def _validate_subschema(ctx: PassContext, ref: str, value: Any, where: str) -> None:
    defs = validator_for("architecture.schema.json").schema["$defs"]
    validator = Draft202012Validator({"$ref": ref, "$defs": defs})
    for error in validator.iter_errors(value):
        path = "".join(f"/{p}" for p in error.absolute_path)
        ctx.report(
            codes.SCHEMA_VIOLATION,
            f"the override makes an invalid setting: {error.message}",
            where + path,
        )


def _check_secrets(ctx: PassContext, env: Environment) -> None:
    for name, value in env.env.items():
        where = f"{env.origin}/env/{name}"
        if SECRET_NAME.search(name):
            ctx.report(
                codes.INLINE_SECRET,
                f"{name} looks like a secret but is written inline",
                where,
                hint=f"move it to `secrets: {{{name}: {{secret: NAME, key: KEY}}}}`",
            )
        elif CREDENTIAL_URL.search(value) or KEY_LOOKALIKE.search(value):
            ctx.report(
                codes.INLINE_SECRET,
                f"the value of {name} contains a credential",
                where,
                hint="reference it from a secret under `secrets:`",
            )
    for override in env.overrides:
        for key, value in _strings(override.config):
            if CREDENTIAL_URL.search(value) or KEY_LOOKALIKE.search(value):
                ctx.report(
                    codes.INLINE_SECRET,
                    f"override {override.component}.{key} contains a credential",
                    f"{env.origin}/overrides/{override.component}/config",
                    hint="credentials belong in secrets, referenced by name",
                )
    if env.ingress is not None:
        for key, value in env.ingress.annotations.items():
            if CREDENTIAL_URL.search(value) or KEY_LOOKALIKE.search(value):
                ctx.report(
                    codes.INLINE_SECRET,
                    f"ingress annotation {key} contains a credential",
                    f"{env.origin}/ingress/annotations/{key}",
                )


def _strings(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(prefix, value)]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _strings(v, f"{prefix}.{k}".strip("."))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _strings(v, f"{prefix}[{i}]")]
    return []


def _check_scaling(ctx: PassContext, env: Environment) -> None:
    most = max(env.replicas, env.autoscaling.max_replicas if env.autoscaling else 1)
    sqlite = [
        d.store
        for d in env.databases
        if d.engine == "sqlite" and getattr(ctx.components.get(d.store), "kind", None) == "store"
    ]
    if most > 1 and sqlite:
        ctx.report(
            codes.SQLITE_REPLICAS,
            f"environment {env.name!r} may run {most} replicas, but "
            f"store{'s' * (len(sqlite) > 1)} {', '.join(sqlite)} use{'s' * (len(sqlite) == 1)} "
            "embedded SQLite",
            env.origin + ("/replicas" if env.replicas > 1 else "/autoscaling"),
            hint=f"add `databases: {{{sqlite[0]}: {{engine: postgresql, url: {{secret: ..., "
            "key: ...}}}` or run one replica",
        )
    if env.autoscaling is not None:
        a = env.autoscaling
        if a.min_replicas > a.max_replicas:
            ctx.report(
                codes.AUTOSCALING_INVALID,
                f"min_replicas {a.min_replicas} exceeds max_replicas {a.max_replicas}",
                env.origin + "/autoscaling/min_replicas",
            )
        elif not a.min_replicas <= env.replicas <= a.max_replicas:
            ctx.report(
                codes.AUTOSCALING_INVALID,
                f"replicas {env.replicas} lies outside the "
                f"autoscaling range {a.min_replicas}-{a.max_replicas}",
                env.origin + "/replicas",
            )
    req, lim = env.resources.requests, env.resources.limits
    if req.cpu and lim.cpu and cpu_millis(req.cpu) > cpu_millis(lim.cpu):
        ctx.report(
            codes.RESOURCES_INVERTED,
            f"CPU request {req.cpu} exceeds the limit {lim.cpu}",
            env.origin + "/resources/requests/cpu",
        )
    if req.memory and lim.memory and memory_bytes(req.memory) > memory_bytes(lim.memory):
        ctx.report(
            codes.RESOURCES_INVERTED,
            f"memory request {req.memory} exceeds the limit {lim.memory}",
            env.origin + "/resources/requests/memory",
        )
    ceilings = ctx.ir.policy.resources
    if ceilings.max_replicas is not None and most > ceilings.max_replicas:
        ctx.report(
            codes.POLICY_CEILING,
            f"environment {env.name!r} may run {most} replicas; the "
            f"policy allows {ceilings.max_replicas}",
            env.origin + "/replicas",
        )
    for amounts, label in ((req, "requests"), (lim, "limits")):
        if (
            ceilings.max_cpu
            and amounts.cpu
            and cpu_millis(amounts.cpu) > cpu_millis(ceilings.max_cpu)
        ):
            ctx.report(
                codes.POLICY_CEILING,
                f"CPU {label} {amounts.cpu} exceed the policy's max_cpu {ceilings.max_cpu}",
                f"{env.origin}/resources/{label}/cpu",
            )
        if (
            ceilings.max_memory
            and amounts.memory
            and memory_bytes(amounts.memory) > memory_bytes(ceilings.max_memory)
        ):
            ctx.report(
                codes.POLICY_CEILING,
                f"memory {label} {amounts.memory} exceed the policy's "
                f"max_memory {ceilings.max_memory}",
                f"{env.origin}/resources/{label}/memory",
            )
