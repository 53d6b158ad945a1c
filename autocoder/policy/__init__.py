"""Policy packs: Kubernetes and Dockerfile checks kept as data, evaluated with CEL."""

from autocoder.policy.dockerfile import parse_dockerfile
from autocoder.policy.engine import (
    Pack,
    PackTarget,
    PolicyPackError,
    Rule,
    Severity,
    Violation,
    dockerfile_pack,
    kubernetes_pack,
    load_pack,
)

__all__ = [
    "Pack",
    "PackTarget",
    "PolicyPackError",
    "Rule",
    "Severity",
    "Violation",
    "dockerfile_pack",
    "kubernetes_pack",
    "load_pack",
    "parse_dockerfile",
]
