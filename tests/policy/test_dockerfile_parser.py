"""parse_dockerfile: the document the Dockerfile pack reads."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from autocoder.policy import parse_dockerfile

DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG PYTHON_VERSION=3.11.14
ARG VARIANT
FROM --platform=linux/amd64 python:${PYTHON_VERSION}-slim${VARIANT:+-}${VARIANT} AS Build
ENV PIP_NO_CACHE_DIR=1 \\
    # a comment inside a continuation is dropped
    PATH=/opt/venv/bin:$PATH

WORKDIR /src
RUN python -m venv /opt/venv \\
 && pip install -r requirements.lock; echo done
RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=token \\
    pip install .
COPY --from=build --chown=10001:10001 a b
FROM build AS test
ENV LEGACY value with spaces
CMD python -m pytest
FROM python:3.11.14-slim
USER ${UID:-10001}:10001
CMD ["python", "-m", "app"]
ENTRYPOINT ['python']
HEALTHCHECK --interval=30s CMD ["python", "-c", "print(1)"]
"""


def instruction(doc: dict, cmd: str, index: int = 0) -> dict:
    return [i for i in doc["instructions"] if i["cmd"] == cmd][index]


def test_stages_aliases_and_arg_substitution_in_from() -> None:
    doc = parse_dockerfile(DOCKERFILE)
    assert doc["errors"] == []
    assert doc["args"] == {"PYTHON_VERSION": "3.11.14", "VARIANT": None}
    build, test, runtime = doc["stages"]
    assert build["from"] == "python:3.11.14-slim"  # ${VARIANT:+-} is empty: VARIANT is unset
    assert build["from_raw"] == "python:${PYTHON_VERSION}-slim${VARIANT:+-}${VARIANT}"
    assert (build["alias"], build["platform"], build["line"]) == ("build", "linux/amd64", 4)
    assert (test["parent"], test["from_stage"]) == (0, True)
    assert (runtime["parent"], runtime["from_stage"], runtime["alias"]) == (None, False, None)
    assert [i["cmd"] for i in test["instructions"]] == ["FROM", "ENV", "CMD"]
    assert runtime["user"] == "10001:10001"
    assert test["user"] is None and build["user"] is None


def test_an_unknown_variable_in_from_expands_to_nothing() -> None:
    doc = parse_dockerfile("ARG TAG\nFROM python:$TAG\nFROM alpine:${MISSING}\n")
    assert [s["from"] for s in doc["stages"]] == ["python:", "alpine:"]


def test_continuations_comments_and_line_numbers() -> None:
    doc = parse_dockerfile(DOCKERFILE)
    env = instruction(doc, "ENV")
    assert (env["line"], env["end_line"]) == (5, 7)
    assert env["vars"] == {"PIP_NO_CACHE_DIR": "1", "PATH": "/opt/venv/bin:$PATH"}
    run = instruction(doc, "RUN")
    assert (run["line"], run["end_line"]) == (10, 11)
    assert run["commands"] == [
        "python -m venv /opt/venv",
        "pip install -r requirements.lock",
        "echo done",
    ]
    assert run["env"]["PIP_NO_CACHE_DIR"] == "1"  # the ENV above is in effect
    assert instruction(doc, "ENV", 1)["vars"] == {"LEGACY": "value with spaces"}


def test_flags_are_split_off_and_repeats_kept() -> None:
    doc = parse_dockerfile(DOCKERFILE)
    copy = instruction(doc, "COPY")
    assert copy["flags"] == {"from": "build", "chown": "10001:10001"}
    assert copy["value"] == "a b" and copy["args"] == ["a", "b"]
    mounts = instruction(doc, "RUN", 1)["flags"]["mount"]
    assert mounts == "type=cache,target=/root/.cache type=secret,id=token"
    assert instruction(doc, "HEALTHCHECK")["flags"] == {"interval": "30s"}


def test_exec_form_versus_shell_form() -> None:
    doc = parse_dockerfile(DOCKERFILE)
    cmds = [i for i in doc["instructions"] if i["cmd"] == "CMD"]
    assert [(c["json"], c["args"]) for c in cmds] == [
        (False, ["python", "-m", "pytest"]),
        (True, ["python", "-m", "app"]),
    ]
    assert instruction(doc, "ENTRYPOINT")["json"] is False  # single quotes are not JSON
    health = instruction(doc, "HEALTHCHECK")
    assert health["json"] is True and health["args"] == ["python", "-c", "print(1)"]


def test_variables_are_expanded_where_docker_expands_them() -> None:
    doc = parse_dockerfile(
        "FROM python:3.11\nARG HOME_DIR=/srv\nENV APP=/app\nWORKDIR ${APP}/src\n"
        "USER ${UID:-10001}\nRUN echo $APP\nWORKDIR $HOME_DIR\n"
    )
    assert instruction(doc, "WORKDIR")["value"] == "/app/src"
    assert instruction(doc, "WORKDIR", 1)["value"] == "/srv"
    assert instruction(doc, "USER")["value"] == "10001"
    assert instruction(doc, "RUN")["value"] == "echo $APP"  # the shell expands RUN


def test_env_is_inherited_from_the_parent_stage_only() -> None:
    doc = parse_dockerfile(
        "FROM a:1 AS base\nENV X=1\nUSER 10001\nFROM base AS child\nRUN true\nFROM b:1\nRUN true\n"
    )
    child_run, other_run = [i for i in doc["instructions"] if i["cmd"] == "RUN"]
    assert child_run["env"] == {"X": "1"} and other_run["env"] == {}
    assert [s["user"] for s in doc["stages"]] == ["10001", "10001", None]


def test_heredocs_and_the_escape_directive() -> None:
    doc = parse_dockerfile(
        "# escape=`\nFROM python:3.11\nRUN <<EOF\npip install x\necho `\nEOF\nRUN a `\n  && b\n"
    )
    first, second = [i for i in doc["instructions"] if i["cmd"] == "RUN"]
    assert doc["escape"] == "`"
    assert "pip install x" in first["commands"] and (first["line"], first["end_line"]) == (3, 6)
    assert second["commands"] == ["a", "b"] and (second["line"], second["end_line"]) == (7, 8)


def test_problems_are_listed_not_raised() -> None:
    doc = parse_dockerfile("RUN early\nFROM x:1\nRUNN typo\nENV\nRUN <<EOF\nnever closed\n")
    assert [e["line"] for e in doc["errors"]] == [1, 3, 4, 6]
    messages = " ".join(e["message"] for e in doc["errors"])
    assert "RUN before the first FROM" in messages and "unknown instruction 'RUNN'" in messages
    assert "heredoc EOF is not terminated" in messages
    assert parse_dockerfile("")["errors"] == [{"line": 1, "message": "no FROM instruction"}]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["FROM", "RUN", "ENV", "ARG", "COPY", "USER", "CMD", "\\", "<<EOF", "EOF", "#", "\n"]
        )
        | st.text(max_size=12),
        max_size=30,
    ).map(" ".join)
)
def test_any_text_parses_into_json_data(text: str) -> None:
    doc = parse_dockerfile(text)
    assert json.loads(json.dumps(doc)) == doc
