"""Deployment: references resolve, overrides never touch topology, no inline secrets, no
SQLite behind several replicas, and resources, autoscaling and ceilings are consistent.

Environments are checked after merging along ``extends``. A finding that an environment only
inherits is reported once, at the environment that writes the setting, not again for every
environment extending it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from autocoder.diagnostics import Code, codes
from autocoder.diagnostics.suggest import did_you_mean
from autocoder.frontend.loader import join_pointer
from autocoder.frontend.schema_check import validator_for
from autocoder.ir.models import Environment
from autocoder.ir.units import cpu_millis, memory_bytes
from autocoder.kinds import STORAGE_KINDS, registry
from autocoder.passes.check_secrets import CREDENTIAL_URL, KEY_LOOKALIKE, SECRET_NAME
from autocoder.passes.context import PassContext

# scheme://[user]:password@ — Redis URLs often have an empty user (redis://:pw@host).

Path = tuple[str, ...]


@dataclass
class _EnvCheck:
    """One environment being checked, with what it writes itself (not inherited)."""

    ctx: PassContext
    env: Environment
    raw: dict[str, Any]

    def writes(self, path: Path) -> bool:
        node: Any = self.raw
        for token in path:
            if not isinstance(node, dict) or token not in node:
                return False
            node = node[token]
        return True

    def report(
        self,
        code: Code,
        message: str,
        paths: list[Path],
        *,
        hint: str | None = None,
        key: bool = False,
    ) -> None:
        """Report at the first of ``paths`` this environment writes; skip inherited findings.

        ``paths`` are the settings the finding depends on, the one to point at first. When the
        environment extends another and writes none of them, the parent reports the finding.
        """
        written = [p for p in paths if self.writes(p)]
        if self.env.extends and not written:
            return
        path = (written or paths)[0]
        where = join_pointer(self.env.origin, *path)
        self.ctx.report(code, message, where, hint=hint, key=key)


def check_deployment(ctx: PassContext) -> None:
    system = ctx.deployment_raw.get("system")
    if system is not None and system != ctx.ir.system.name:
        ctx.report(
            codes.SYSTEM_MISMATCH,
            f"deployment.yaml is for system {system!r}, but "
            f"architecture.yaml defines {ctx.ir.system.name!r}",
            "deployment.yaml#/system",
        )
    raw_envs = ctx.deployment_raw.get("environments", {})
    for env in ctx.ir.environments:
        check = _EnvCheck(ctx, env, raw_envs.get(env.name, {}))
        _check_references(check)
        _check_overrides(check)
        _check_secrets(check)
        _check_scaling(check)


def _check_references(check: _EnvCheck) -> None:
    ctx, env = check.ctx, check.env
    for db in env.databases:
        component = ctx.components.get(db.store)
        if component is None:
            check.report(
                codes.UNKNOWN_DEPLOYMENT_REF,
                f"environment {env.name!r} gives a database to unknown component {db.store!r}",
                [("databases", db.store)],
                hint=did_you_mean(db.store, ctx.components, what="components"),
                key=True,
            )
        elif component.kind not in STORAGE_KINDS:
            check.report(
                codes.DATABASE_FOR_NON_STORE,
                f"{db.store!r} is of kind {component.kind}, not a store",
                [("databases", db.store)],
                key=True,
            )
    if env.ingress is not None and not any(c.kind == "api" for c in ctx.ir.components):
        check.report(
            codes.INGRESS_WITHOUT_API,
            f"environment {env.name!r} has an ingress but the system has no api component",
            [("ingress",)],
            key=True,
        )
    if env.image.tag == "latest" and env.image.digest is None:
        check.report(
            codes.MUTABLE_IMAGE_TAG,
            f"environment {env.name!r} deploys image tag 'latest'",
            [("image", "tag"), ("image", "digest"), ("image",)],
            hint="pin a version tag or a digest",
        )


def _check_overrides(check: _EnvCheck) -> None:
    ctx = check.ctx
    kinds = registry()
    for override in check.env.overrides:
        name = override.component
        component = ctx.components.get(name)
        if component is None:
            check.report(
                codes.UNKNOWN_DEPLOYMENT_REF,
                f"override for unknown component {name!r}",
                [("overrides", name)],
                hint=did_you_mean(name, ctx.components, what="components"),
                key=True,
            )
            continue
        spec = kinds.get(component.kind)
        if spec is None:
            continue
        for key in override.config:
            if key not in spec.overridable:
                allowed = ", ".join(spec.overridable) or "none"
                check.report(
                    codes.TOPOLOGY_OVERRIDE,
                    f"{component.kind} setting {key!r} cannot be overridden per environment",
                    [("overrides", name, "config", key)],
                    hint=f"overridable {component.kind} settings: {allowed}",
                    key=True,
                )
        fixed = [k for k in spec.exclusive if k in component.config and k not in spec.overridable]
        replacing = [k for k in override.config if k in spec.exclusive and k not in fixed]
        if fixed and replacing:
            check.report(
                codes.TOPOLOGY_OVERRIDE,
                f"setting {replacing[0]!r} would replace the {component.kind}'s {fixed[0]!r} "
                "target, which is part of the topology",
                [("overrides", name, "config", replacing[0])],
                hint=f"a {fixed[0]!r} target is the same in every environment",
                key=True,
            )
            continue
        if override.config and spec.config_def is not None:
            merged = spec.apply_override(component.config, override.config)
            if component.kind == "api":
                merged["routes"] = [{"method": "GET", "path": "/", "operation_id": "x"}]
            _validate_subschema(
                check, f"#/$defs/{spec.config_def}", merged, ("overrides", name, "config")
            )
        if override.capabilities:
            _validate_subschema(
                check,
                "#/$defs/capabilities",
                override.capabilities,
                ("overrides", name, "capabilities"),
            )


def _validate_subschema(check: _EnvCheck, ref: str, value: Any, where: Path) -> None:
    defs = validator_for("architecture.schema.json").schema["$defs"]
    validator = Draft202012Validator({"$ref": ref, "$defs": defs})
    for error in validator.iter_errors(value):
        path = (*where, *map(str, error.absolute_path))
        check.report(
            codes.SCHEMA_VIOLATION,
            f"the override makes an invalid setting: {error.message}",
            [path, where],
        )


def _check_secrets(check: _EnvCheck) -> None:
    env = check.env
    for name, value in env.env.items():
        if SECRET_NAME.search(name):
            check.report(
                codes.INLINE_SECRET,
                f"{name} looks like a secret but is written inline",
                [("env", name)],
                hint=f"move it to `secrets: {{{name}: {{secret: NAME, key: KEY}}}}`",
            )
        elif _has_credential(value):
            check.report(
                codes.INLINE_SECRET,
                f"the value of {name} contains a credential",
                [("env", name)],
                hint="reference it from a secret under `secrets:`",
            )
    for override in env.overrides:
        for path, value in _strings(override.config):
            if _has_credential(value):
                check.report(
                    codes.INLINE_SECRET,
                    f"override {override.component}.{'.'.join(path)} contains a credential",
                    [("overrides", override.component, "config", *path)],
                    hint="credentials belong in secrets, referenced by name",
                )
    if env.ingress is not None:
        for key, value in env.ingress.annotations.items():
            if _has_credential(value):
                check.report(
                    codes.INLINE_SECRET,
                    f"ingress annotation {key} contains a credential",
                    [("ingress", "annotations", key)],
                )


def _has_credential(value: str) -> bool:
    return bool(CREDENTIAL_URL.search(value) or KEY_LOOKALIKE.search(value))


def _strings(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every string inside a config value, with its path of keys and list indexes."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, str(index)))


def _check_scaling(check: _EnvCheck) -> None:
    ctx, env = check.ctx, check.env
    a = env.autoscaling
    most = max(env.replicas, a.max_replicas if a else 1)
    # The setting that allows the most replicas, to point at.
    most_from: list[Path] = (
        [("autoscaling", "max_replicas"), ("replicas",)]
        if a is not None and a.max_replicas >= env.replicas
        else [("replicas",), ("autoscaling", "max_replicas")]
    )
    sqlite = [
        d.store
        for d in env.databases
        if d.engine == "sqlite"
        and getattr(ctx.components.get(d.store), "kind", None) in STORAGE_KINDS
    ]
    if most > 1 and sqlite:
        check.report(
            codes.SQLITE_REPLICAS,
            f"environment {env.name!r} may run {most} replicas, but "
            f"store{'s' * (len(sqlite) > 1)} {', '.join(sqlite)} use{'s' * (len(sqlite) == 1)} "
            "embedded SQLite",
            [*most_from, *(("databases", s) for s in sqlite)],
            hint=f"add `databases: {{{sqlite[0]}: {{engine: postgresql, url: {{secret: ..., "
            "key: ...}}}` or run one replica",
        )
    if a is not None:
        bounds: list[Path] = [("autoscaling", "min_replicas"), ("autoscaling", "max_replicas")]
        if a.min_replicas > a.max_replicas:
            check.report(
                codes.AUTOSCALING_INVALID,
                f"min_replicas {a.min_replicas} exceeds max_replicas {a.max_replicas}",
                bounds,
            )
        elif _chain_writes(check, ("replicas",)) and not (
            a.min_replicas <= env.replicas <= a.max_replicas
        ):
            check.report(
                codes.AUTOSCALING_INVALID,
                f"replicas {env.replicas} lies outside the "
                f"autoscaling range {a.min_replicas}-{a.max_replicas}",
                [("replicas",), *bounds],
                hint="with autoscaling, `replicas` is the starting count; drop it or move it "
                "into the range",
            )
    req, lim = env.resources.requests, env.resources.limits
    if req.cpu and lim.cpu and cpu_millis(req.cpu) > cpu_millis(lim.cpu):
        check.report(
            codes.RESOURCES_INVERTED,
            f"CPU request {req.cpu} exceeds the limit {lim.cpu}",
            [("resources", "requests", "cpu"), ("resources", "limits", "cpu")],
        )
    if req.memory and lim.memory and memory_bytes(req.memory) > memory_bytes(lim.memory):
        check.report(
            codes.RESOURCES_INVERTED,
            f"memory request {req.memory} exceeds the limit {lim.memory}",
            [("resources", "requests", "memory"), ("resources", "limits", "memory")],
        )
    ceilings = ctx.ir.policy.resources
    if ceilings.max_replicas is not None and most > ceilings.max_replicas:
        check.report(
            codes.POLICY_CEILING,
            f"environment {env.name!r} may run {most} replicas; the "
            f"policy allows {ceilings.max_replicas}",
            most_from,
        )
    for amounts, label in ((req, "requests"), (lim, "limits")):
        if (
            ceilings.max_cpu
            and amounts.cpu
            and cpu_millis(amounts.cpu) > cpu_millis(ceilings.max_cpu)
        ):
            check.report(
                codes.POLICY_CEILING,
                f"CPU {label} {amounts.cpu} exceed the policy's max_cpu {ceilings.max_cpu}",
                [("resources", label, "cpu")],
            )
        if (
            ceilings.max_memory
            and amounts.memory
            and memory_bytes(amounts.memory) > memory_bytes(ceilings.max_memory)
        ):
            check.report(
                codes.POLICY_CEILING,
                f"memory {label} {amounts.memory} exceed the policy's "
                f"max_memory {ceilings.max_memory}",
                [("resources", label, "memory")],
            )


def _chain_writes(check: _EnvCheck, path: Path) -> bool:
    """Whether the environment or one it extends writes ``path`` (rather than a default)."""
    raw_envs = check.ctx.deployment_raw.get("environments", {})
    chain = [check.raw, *(raw_envs.get(name, {}) for name in check.env.extends)]
    return any(_EnvCheck(check.ctx, check.env, raw).writes(path) for raw in chain)
