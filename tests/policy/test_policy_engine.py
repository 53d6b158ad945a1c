"""The policy engine: helper functions, fail-closed evaluation, sparse documents, pack loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from autocoder.policy import (
    Pack,
    PackTarget,
    PolicyPackError,
    Rule,
    Severity,
    dockerfile_pack,
    kubernetes_pack,
    load_pack,
    parse_dockerfile,
)
from autocoder.policy.engine import pack_from_data

BROKEN = "rule could not be evaluated"


def rule(expression: str, kinds: tuple[str, ...] = ("*",), **extra: Any) -> Rule:
    return Rule(
        id="test-rule",
        severity=Severity.ERROR,
        description="the test rule",
        hint="fix it",
        kinds=kinds,
        expression=expression,
        **extra,
    )


def messages(expression: str, *objects: dict[str, Any], **extra: Any) -> list[str]:
    pack = Pack("test", PackTarget.KUBERNETES, [rule(expression, **extra)])
    return [v.message for v in pack.check([("test.yaml", obj) for obj in objects])]


def holds(expression: str, *objects: dict[str, Any]) -> bool:
    """The expression is true on the first object (an evaluation error fails the test)."""
    found = messages(expression, *objects)
    assert not [m for m in found if m.startswith(BROKEN)], found
    return not found


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "api", "namespace": "shop", "labels": {"app.kubernetes.io/name": "api"}},
    "spec": {
        "replicas": 2,
        "template": {
            "metadata": {"labels": {"app": "api", "tier": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "image": "registry.local:5000/shop/api:1.2@sha256:abc",
                        "ports": [{"name": "http", "containerPort": 8000}],
                        "env": [
                            {"name": "LOG_LEVEL", "value": "info"},
                            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {}}},
                        ],
                    }
                ],
                "initContainers": [{"name": "migrate", "image": "x:1"}],
            },
        },
    },
}


# --- helper functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('get(object, "spec.replicas", 1) == 2', True),
        ('get(object, "spec.paused", false) == false', True),
        ('get(object, "spec.template.spec.containers.0.name", "") == "api"', True),
        ('get(object, "spec.template.spec.containers.7.name", "none") == "none"', True),
        ('get(object, ["metadata", "labels", "app.kubernetes.io/name"], "") == "api"', True),
        ('present(object, "spec.template.spec.containers.0.ports")', True),
        ('present(object, "spec.strategy")', False),
        ('size(containers) == 2 && containers[1].name == "migrate"', True),
        ('pod.containers[0].name == "api"', True),
        ('pod_labels(object) == {"app": "api", "tier": "web"}', True),
        ("is_workload(object)", True),
        ('exposes(object, "http") && exposes(object, 8000)', True),
        ('exposes(object, "metrics") || exposes(object, 9090)', False),
        ('image(containers[0].image).name == "registry.local:5000/shop/api"', True),
        ('image(containers[0].image).tag == "1.2"', True),
        ('image(containers[0].image).digest == "sha256:abc"', True),
        ('image("registry.local:5000/api").tag == ""', True),
        ('image("api@sha256:abc").tag == "" && image("api@sha256:abc").name == "api"', True),
        ('env_literals(object).map(e, e.name) == ["LOG_LEVEL"]', True),
        ('join(["a", "b"], ", ") == "a, b" && lower("ABC") == "abc"', True),
    ],
)
def test_helper_functions(expression: str, expected: bool) -> None:
    assert holds(expression, DEPLOYMENT) is expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ('{"app": "api"}', True),
        ('{"app": "web"}', False),
        ("{}", True),
        ("null", False),
        ('{"matchLabels": {"app": "api"}}', True),
        ('{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}', True),
        ('{"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}', False),
        ('{"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}', True),
        ('{"matchExpressions": [{"key": "tier", "operator": "Exists"}]}', True),
        ('{"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}', False),
        (
            '{"matchLabels": {"app": "api"}, "matchExpressions": [{"key": "x", '
            '"operator": "Exists"}]}',
            False,
        ),
    ],
)
def test_selects_follows_label_selector_semantics(selector: str, expected: bool) -> None:
    assert holds(f"selects({selector}, pod_labels(object))", DEPLOYMENT) is expected


def test_selects_reports_an_unknown_operator() -> None:
    found = messages(
        'selects({"matchExpressions": [{"key": "a", "operator": "Near"}]}, {})', DEPLOYMENT
    )
    assert len(found) == 1 and "unknown matchExpressions operator 'Near'" in found[0]


def test_cross_object_helpers_compare_namespaces() -> None:
    other = {"kind": "Service", "metadata": {"name": "api", "namespace": "other"}}
    same = {"kind": "Service", "metadata": {"name": "api", "namespace": "shop"}}
    expression = 'objects.exists(o, o.kind == "Service" && same_namespace(o, object))'
    assert messages(expression, DEPLOYMENT, other, kinds=("Deployment",)) != []
    assert messages(expression, DEPLOYMENT, same, kinds=("Deployment",)) == []


# --- fail closed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("object.spec.strategy.type == 'Recreate'", "no such member"),
        ('get(object, "spec.missing", null).all(x, true)', "all() needs a list or a map, not null"),
        ('join(get(object, "spec.replicas", 0), ",") == ""', "no such overload"),
        ('get(object, "spec.replicas", 0) == "2"', "no such overload"),
        ("int(object.metadata.name) > 0", ""),
        ('get(object, "metadata.name.first", "") == ""', "string value has no field 'first'"),
        ('present(object, "spec.replicas.count")', "int value has no field 'count'"),
    ],
)
def test_an_expression_that_errors_is_a_violation(expression: str, error: str) -> None:
    found = messages(expression, DEPLOYMENT)
    assert len(found) == 1
    assert found[0].startswith(BROKEN) and error in found[0], found[0]
    assert "activation" not in found[0]  # celpy's dump of every variable is cut off


def test_a_result_that_is_not_a_boolean_is_a_violation() -> None:
    assert messages('get(object, "metadata.name", "")', DEPLOYMENT) == [
        'rule gave "api", not true or false'
    ]


def test_logical_operators_keep_cel_semantics() -> None:
    assert messages("object.missing || true", DEPLOYMENT) == []
    assert messages("true || object.missing", DEPLOYMENT) == []
    assert messages("false && object.missing", DEPLOYMENT) == ["the test rule"]
    assert messages("object.missing && false", DEPLOYMENT) == ["the test rule"]
    assert messages("[1, 2].exists(x, x == 2)", DEPLOYMENT) == []
    assert messages('[{}, {"a": true}].exists(m, m.a)', DEPLOYMENT) == []
    assert messages('[{"a": false}, {}].all(m, m.a)', DEPLOYMENT) == ["the test rule"]
    assert messages('[{"a": true}, {}].all(m, m.a)', DEPLOYMENT)[0].startswith(BROKEN)
    assert messages("[object.missing, true].exists(x, x)", DEPLOYMENT)[0].startswith(BROKEN)
    assert messages('{"a": 1}.all(k, k == "a")', DEPLOYMENT) == []


def test_messages_and_subjects() -> None:
    plain = messages("false", DEPLOYMENT, message="plain words")
    assert plain == ["plain words"]
    computed = messages("false", DEPLOYMENT, message_expression='"name " + object.metadata.name')
    assert computed == ["name api"]
    broken = messages("false", DEPLOYMENT, message_expression="object.nope")
    assert broken[0].startswith("the test rule (message failed: ")
    pack = Pack("test", PackTarget.KUBERNETES, [rule("false", kinds=("Deployment",))])
    (violation,) = pack.check([("deploy/app.yaml", DEPLOYMENT)])
    assert (violation.file, violation.subject) == ("deploy/app.yaml", "Deployment/api")
    assert str(violation) == "deploy/app.yaml: Deployment/api: the test rule [test-rule]"


def test_rules_see_only_the_kinds_they_match() -> None:
    service = {"kind": "Service", "metadata": {"name": "api"}}
    assert messages("false", DEPLOYMENT, service, kinds=("Service",)) == ["the test rule"]
    assert messages("false", DEPLOYMENT, service, kinds=("*",)) == ["the test rule"] * 2


def test_lists_are_expanded_and_empty_documents_skipped() -> None:
    listed = {"apiVersion": "v1", "kind": "List", "items": [DEPLOYMENT, DEPLOYMENT]}
    pack = Pack("test", PackTarget.KUBERNETES, [rule("false", kinds=("Deployment",))])
    assert len(pack.check([("a.yaml", listed), ("b.yaml", None)])) == 2


@pytest.mark.parametrize("document", [["not", "a", "mapping"], {"metadata": {"name": "x"}}, 3])
def test_a_document_that_is_not_an_object_is_reported(document: Any) -> None:
    (violation,) = kubernetes_pack().check([("bad.yaml", document)])
    assert violation.rule.id == "invalid-document"
    assert violation.subject == "document 1"


# --- sparse documents ----------------------------------------------------------------------

WORKLOADS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"]
OTHER_KINDS = [
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Secret",
    "ConfigMap",
    "ServiceAccount",
    "Namespace",
]


def sparse_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for kind in WORKLOADS + OTHER_KINDS:
        objects.append({"kind": kind})
        objects.append({"kind": kind, "metadata": None, "spec": None})
        objects.append({"kind": kind, "metadata": {"name": "x", "labels": None}, "spec": {}})
    empty_container = {
        "name": "c",
        "securityContext": None,
        "env": None,
        "ports": None,
        "resources": None,
        "livenessProbe": None,
    }
    pod = {"containers": [empty_container, {}], "volumes": None, "securityContext": None}
    template = {"metadata": {"labels": None}, "spec": pod}
    objects += [
        {"kind": "Pod", "spec": pod},
        {"kind": "Deployment", "spec": {"replicas": 3, "template": template}},
        {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": template}}}},
        {"kind": "Service", "spec": {"selector": {"a": "b"}, "ports": [{}, None]}},
        {"kind": "Ingress", "spec": {"rules": [{}], "tls": [{}]}},
        {"kind": "NetworkPolicy", "spec": {"podSelector": None, "policyTypes": None}},
        {"kind": "PodDisruptionBudget", "spec": {"selector": None}},
        {"kind": "HorizontalPodAutoscaler", "spec": {"scaleTargetRef": None}},
        {"kind": "ConfigMap", "data": {"EMPTY": None, "NUMBER": 1}},
    ]
    return objects


def test_missing_fields_do_not_break_kubernetes_rules() -> None:
    violations = kubernetes_pack().check([("sparse.yaml", obj) for obj in sparse_objects()])
    broken = [str(v) for v in violations if v.message.startswith(BROKEN)]
    assert broken == []
    # Sparse is not compliant: the hardening rules still fire on the empty workloads.
    fired = {v.rule.id for v in violations}
    assert {"k8s-run-as-non-root", "k8s-liveness-probe", "k8s-namespace-set"} <= fired


@pytest.mark.parametrize(
    "text", ["", "# nothing\n", "FROM scratch\n", "ARG X\n", "RUN echo\n", "FROM a AS b\nFROM b\n"]
)
def test_sparse_dockerfiles_do_not_break_dockerfile_rules(text: str) -> None:
    violations = dockerfile_pack().check([("Dockerfile", parse_dockerfile(text))])
    assert [str(v) for v in violations if v.message.startswith(BROKEN)] == []


def test_a_malformed_container_fails_closed() -> None:
    broken = {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": "oops"}}
    ids = {v.rule.id for v in kubernetes_pack().check([("p.yaml", broken)])}
    assert {"k8s-run-as-non-root", "k8s-read-only-root-fs", "k8s-no-privileged"} <= ids


# --- loading packs -------------------------------------------------------------------------

GOOD = """\
name: sample
target: kubernetes
rules:
  - id: sample-replicas
    severity: warning
    description: Replicas are set.
    hint: Set spec.replicas.
    match:
      kinds: [Deployment]
    assert: present(object, "spec.replicas")
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pack.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_pack_loads(tmp_path: Path) -> None:
    pack = load_pack(write(tmp_path, GOOD))
    assert pack.name == "sample" and pack.target is PackTarget.KUBERNETES
    (only,) = pack.rules
    assert (only.id, only.severity, only.kinds) == ("sample-replicas", "warning", ("Deployment",))
    assert pack.check([("d.yaml", {"kind": "Deployment", "metadata": {"name": "d"}})])


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('present(object, "spec.replicas")', "present(object,", "not a valid expression"),
        ('present(object, "spec.replicas")', 'presnt(object, "x")', "unknown function presnt()"),
        ('present(object, "spec.replicas")', "objcet.spec == 1", "unknown variable objcet"),
        ("    hint: Set spec.replicas.\n", "", "`hint` must be a non-empty string"),
        ("severity: warning", "severity: fatal", "`severity` must be error or warning"),
        ("    match:\n      kinds: [Deployment]\n", "", "`match` must be a mapping"),
        ("kinds: [Deployment]", "kinds: []", "`match.kinds` must be a non-empty list"),
        ("    assert:", "    asert: x\n    assert:", "unknown keys ['asert']"),
        ("    assert:", "    line: '1'\n    assert:", "`line` is for Dockerfile rules only"),
        ("    assert:", "    message: [1]\n    assert:", "`message` must be plain text"),
    ],
)
def test_a_malformed_rule_names_the_file_and_the_rule(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(PolicyPackError) as raised:
        load_pack(path)
    text = str(raised.value)
    assert str(path) in text and "rule 'sample-replicas'" in text and problem in text, text


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("id: sample-replicas", "id: Sample_Replicas", "`id` must be kebab-case"),
        ("target: kubernetes", "target: helm", "`target` must be one of"),
        ("name: sample\n", "name: sample\nversion: 2\n", "unknown keys ['version']"),
        ("rules:\n", "rules: []\nold_rules:\n", "unknown keys"),
        ("    assert:", "    assert: [", "not valid YAML"),
    ],
)
def test_a_malformed_pack_names_the_file(tmp_path: Path, old: str, new: str, problem: str) -> None:
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(PolicyPackError) as raised:
        load_pack(path)
    assert str(path) in str(raised.value) and problem in str(raised.value), str(raised.value)


def test_a_duplicate_rule_id_is_refused(tmp_path: Path) -> None:
    data = YAML(typ="safe").load(GOOD)
    data["rules"].append(dict(data["rules"][0]))
    with pytest.raises(PolicyPackError, match=r"x\.yaml: rule 'sample-replicas': .*used twice"):
        pack_from_data(data, source="x.yaml")


def test_dockerfile_rules_take_no_match(tmp_path: Path) -> None:
    text = GOOD.replace("target: kubernetes", "target: dockerfile")
    with pytest.raises(PolicyPackError, match="Dockerfile rules take no `match`"):
        load_pack(write(tmp_path, text))


def test_a_missing_pack_file_is_a_pack_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyPackError, match="cannot read the policy pack"):
        load_pack(tmp_path / "absent.yaml")


def test_the_shipped_rules_are_well_formed() -> None:
    for pack in (kubernetes_pack(), dockerfile_pack()):
        ids = [r.id for r in pack.rules]
        assert len(ids) == len(set(ids))
        prefix = "k8s-" if pack.target is PackTarget.KUBERNETES else "df-"
        assert all(i.startswith(prefix) for i in ids), ids
        assert all(r.description.endswith(".") and r.hint for r in pack.rules)
