"""Parse a Dockerfile into plain data for the Dockerfile policy pack.

The parser never raises: what it cannot read is listed in ``errors`` (a rule checks it), so a
broken Dockerfile fails the pack instead of slipping past it. The document layout is described
in policies/README.md.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

INSTRUCTIONS = frozenset(
    {
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "FROM",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    }
)
_TAKES_FLAGS = frozenset({"FROM", "COPY", "ADD", "RUN", "HEALTHCHECK"})
_TAKES_HEREDOCS = frozenset({"RUN", "COPY", "ADD"})
# Docker substitutes ARG/ENV variables in these instructions (RUN, CMD, ... leave it to the shell).
_EXPANDED = frozenset(
    {"ADD", "COPY", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
)

_DIRECTIVE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
_INSTRUCTION = re.compile(r"^\s*(\S+)\s*(.*)$", re.DOTALL)
_FLAG = re.compile(r"^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)")
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_COMMAND_SEPARATOR = re.compile(r"&&|\|\||;|\n")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"

# ``final`` when the Dockerfile has no stage at all.
EMPTY_STAGE: dict[str, Any] = {
    "index": -1,
    "line": 0,
    "from": "",
    "from_raw": "",
    "alias": None,
    "platform": None,
    "parent": None,
    "from_stage": False,
    "user": None,
    "instructions": [],
}


def parse_dockerfile(text: str) -> dict[str, Any]:
    """The Dockerfile as ``{"stages", "instructions", "args", "escape", "errors"}``."""
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.escape = "\\"
        self.errors: list[dict[str, Any]] = []
        self.instructions: list[dict[str, Any]] = []
        self.stages: list[dict[str, Any]] = []
        self.global_args: dict[str, str | None] = {}
        # Per stage: ARGs and ENVs in scope (ENV wins over ARG, as in Docker).
        self.stage_args: dict[str, str | None] = {}
        self.stage_env: dict[str, str] = {}
        self.stage_envs: list[dict[str, str]] = []

    def error(self, line: int, message: str) -> None:
        self.errors.append({"line": line, "message": message})

    def parse(self) -> dict[str, Any]:
        start = self._directives()
        for first, last, logical in self._logical_lines(start):
            self._instruction(first, last, logical)
        if not self.stages:
            self.error(1, "no FROM instruction")
        for stage in self.stages:
            stage["user"] = self._user(stage)
        self.errors.sort(key=lambda error: int(error["line"]))
        return {
            "escape": self.escape,
            "args": self.global_args,
            "stages": self.stages,
            "instructions": self.instructions,
            "errors": self.errors,
        }

    def _directives(self) -> int:
        """Parser directives (``# escape=`` ...) sit above everything else."""
        for index, line in enumerate(self.lines):
            match = _DIRECTIVE.match(line.strip())
            if not match:
                return index
            if match.group(1).lower() == "escape":
                if match.group(2) in ("\\", "`"):
                    self.escape = match.group(2)
                else:
                    self.error(index + 1, f"escape must be \\ or `, not {match.group(2)!r}")
        return len(self.lines)

    def _logical_lines(self, start: int) -> list[tuple[int, int, str]]:
        """(first line, last line, text) per instruction: continuations joined, comments gone."""
        out: list[tuple[int, int, str]] = []
        lines, index = self.lines, start
        while index < len(lines):
            stripped = lines[index].strip()
            if not stripped or stripped.startswith("#"):
                index += 1
                continue
            first, parts = index, []
            while True:
                text = lines[index].rstrip()
                if not text.endswith(self.escape):
                    parts.append(text)
                    break
                parts.append(text[: -len(self.escape)])
                index += 1
                # Comment and blank lines inside a continuation are dropped, as Docker does.
                while index < len(lines) and (
                    not lines[index].strip() or lines[index].lstrip().startswith("#")
                ):
                    index += 1
                if index >= len(lines):
                    index -= 1
                    break
            index = self._heredocs("".join(parts), index, parts)
            out.append((first + 1, index + 1, "".join(parts)))
            index += 1
        return out

    def _heredocs(self, logical: str, index: int, parts: list[str]) -> int:
        """Append heredoc bodies (``RUN <<EOF``) to ``parts``; return the last line used."""
        word = logical.split(maxsplit=1)[0].upper() if logical.strip() else ""
        if word not in _TAKES_HEREDOCS:
            return index
        for match in _HEREDOC.finditer(logical):
            strip_tabs, terminator = match.group(1) == "-", match.group(3)
            body: list[str] = []
            while True:
                index += 1
                if index >= len(self.lines):
                    self.error(index, f"heredoc {terminator} is not terminated")
                    index -= 1
                    break
                line = self.lines[index]
                if (line.lstrip("\t") if strip_tabs else line).rstrip("\r") == terminator:
                    break
                body.append(line.lstrip("\t") if strip_tabs else line)
            parts.append("\n" + "\n".join(body))
        return index

    def _instruction(self, first: int, last: int, logical: str) -> None:
        match = _INSTRUCTION.match(logical)
        if match is None:
            return
        cmd, rest = match.group(1).upper(), match.group(2).strip()
        if cmd not in INSTRUCTIONS:
            self.error(first, f"unknown instruction {match.group(1)!r}")
            return
        if not self.stages and cmd not in ("ARG", "FROM"):
            self.error(first, f"{cmd} before the first FROM")
        flags: dict[str, str] = {}
        if cmd in _TAKES_FLAGS:
            rest = _flags(rest, flags)
        instruction: dict[str, Any] = {
            "cmd": cmd,
            "value": rest,
            "raw": rest,
            "line": first,
            "end_line": last,
            "json": False,
            "args": [],
            "flags": flags,
            "vars": {},
            "env": dict(self.stage_env),
            "commands": [],
            "stage": len(self.stages) - 1,
        }
        if cmd == "FROM":
            self._from(instruction)
        elif cmd in _EXPANDED:
            instruction["value"] = _expand(rest, self._scope(), self.escape)
        self._arguments(instruction)
        self.instructions.append(instruction)
        if self.stages:
            self.stages[-1]["instructions"].append(instruction)

    def _scope(self) -> dict[str, str | None]:
        return {**self.stage_args, **self.stage_env}

    def _from(self, instruction: dict[str, Any]) -> None:
        words = instruction["raw"].split()
        if not words:
            self.error(instruction["line"], "FROM without an image")
            words = [""]
        image = _expand(words[0], self.global_args, self.escape, unknown="")
        alias = None
        if len(words) >= 3 and words[1].upper() == "AS":
            alias = words[2].lower()
        elif len(words) > 1:
            self.error(instruction["line"], f"cannot read FROM {instruction['raw']!r}")
        aliases = [stage["alias"] for stage in self.stages]
        parent = aliases.index(image.lower()) if image.lower() in aliases else None
        instruction["value"] = image
        instruction["stage"] = len(self.stages)
        self.stages.append(
            {
                "index": len(self.stages),
                "line": instruction["line"],
                "from": image,
                "from_raw": words[0],
                "alias": alias,
                "platform": instruction["flags"].get("platform"),
                "parent": parent,
                "from_stage": parent is not None,
                "user": None,
                "instructions": [],
            }
        )
        self.stage_args = {}
        self.stage_env = dict(self.stage_envs[parent]) if parent is not None else {}
        self.stage_envs.append(self.stage_env)
        instruction["env"] = dict(self.stage_env)

    def _arguments(self, instruction: dict[str, Any]) -> None:
        cmd, value = instruction["cmd"], instruction["value"]
        if cmd == "HEALTHCHECK":
            head, _, tail = value.partition(" ")
            value = tail.strip() if head.upper() == "CMD" else ""
        as_json = _json_list(value)
        instruction["json"] = as_json is not None
        instruction["args"] = as_json if as_json is not None else _words(value)
        if cmd == "RUN":
            commands = [" ".join(as_json)] if as_json is not None else _commands(value)
            instruction["commands"] = commands
        elif cmd in ("ENV", "LABEL"):
            pairs = _pairs(instruction["value"], legacy=True)
            if pairs is None:
                self.error(instruction["line"], f"cannot read {cmd} {instruction['raw']!r}")
                pairs = {}
            instruction["vars"] = pairs
            if cmd == "ENV":
                self.stage_env.update({k: v or "" for k, v in pairs.items()})
        elif cmd == "ARG":
            args = _pairs(_expand(value, self._scope(), self.escape), legacy=False)
            if args is None:
                self.error(instruction["line"], f"cannot read ARG {instruction['raw']!r}")
                args = {}
            instruction["vars"] = args
            if not self.stages:
                self.global_args.update(args)
            else:
                for name, default in args.items():
                    self.stage_args[name] = (
                        default if default is not None else self.global_args.get(name)
                    )

    def _user(self, stage: dict[str, Any]) -> str | None:
        """The user the stage runs as: its last USER, else the one of the stage it builds on."""
        users = [i["value"] for i in stage["instructions"] if i["cmd"] == "USER"]
        if users:
            return str(users[-1])
        parent = stage["parent"]
        return self.stages[parent]["user"] if parent is not None else None


def _flags(rest: str, flags: dict[str, str]) -> str:
    """Move leading ``--name=value`` flags into ``flags``; a repeated flag keeps every value."""
    while True:
        match = _FLAG.match(rest)
        if match is None:
            return rest
        name, value = match.group(1), match.group(2) if match.group(2) is not None else "true"
        flags[name] = f"{flags[name]} {value}" if name in flags else value
        rest = rest[match.end() :]


def _expand(
    text: str, scope: dict[str, str | None], escape: str, *, unknown: str | None = None
) -> str:
    """Substitute ``$NAME``, ``${NAME}``, ``${NAME:-word}``, ``${NAME:+word}`` (and ``-``/``+``).

    Variables not in ``scope`` stay as written (they may come from the base image), or become
    ``unknown`` when given (FROM only sees the ARGs above it).
    """
    pattern = re.compile(
        rf"(?P<esc>{re.escape(escape)}\$)"
        rf"|\$\{{(?P<braced>{_NAME})(?:(?P<op>:?[-+])(?P<word>[^}}]*))?\}}"
        rf"|\$(?P<bare>{_NAME})"
    )

    def substitute(match: re.Match[str]) -> str:
        if match.group("esc"):
            return "$"
        name = match.group("braced") or match.group("bare")
        if name not in scope and unknown is None and not match.group("op"):
            return match.group(0)
        value = scope.get(name)
        op, word = match.group("op"), match.group("word") or ""
        if op == ":-":
            return value if value else word
        if op == "-":
            return value if value is not None else word
        if op == ":+":
            return word if value else ""
        if op == "+":
            return word if value is not None else ""
        return value if value is not None else (unknown or "")

    return pattern.sub(substitute, text)


def _json_list(text: str) -> list[str] | None:
    """The exec (JSON) form: a JSON array of strings; None for the shell form."""
    if not text.lstrip().startswith("["):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:  # an unbalanced quote: still give the rules something to read
        return text.split()


def _commands(script: str) -> list[str]:
    """Shell commands of a RUN, split on ``&&``, ``||``, ``;`` and new lines (pipes stay)."""
    return [part.strip() for part in _COMMAND_SEPARATOR.split(script) if part.strip()]


def _pairs(text: str, *, legacy: bool) -> dict[str, str | None] | None:
    """``KEY=value ...`` (ENV, LABEL, ARG); ``ENV KEY value`` when ``legacy``. None: unreadable."""
    words = _words(text)
    if not words:
        return None
    if legacy and "=" not in words[0]:
        key, _, value = text.strip().partition(" ")
        return {key: value.strip()} if value.strip() else None
    out: dict[str, str | None] = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not key or (legacy and not equals):
            return None
        out[key] = value if equals else None
    return out
