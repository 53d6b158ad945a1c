"""``autocoder.lock``: every LLM answer a build used, keyed by a hash of the request.

A build records answers online and replays them offline, so a committed lockfile makes the
LLM-driven front end reproducible (and free) in CI. The key covers everything that decides an
answer: provider, model, sampling limits, the required tool, the prompt version and the full
system prompt, messages and tools; not ``purpose``, which only labels the report.

Layout: ``{"version": 1, "entries": {key: entry}}``, canonical JSON (sorted keys, indent 2,
final newline), replaced atomically. An entry holds the completion as plain data plus hashes
summarising the request; never API keys or request headers. Nothing in it is ever executed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from autocoder.llm.errors import LockfileError, LockMissError
from autocoder.llm.types import Completion, CompletionRequest, Provider, ToolCall, Usage

LOCK_FILE = "autocoder.lock"
LOCK_VERSION = 1


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha256(data: Any) -> str:
    return "sha256:" + hashlib.sha256(_canonical(data).encode("utf-8")).hexdigest()


def _messages_data(request: CompletionRequest) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in request.messages]


def _tools_data(request: CompletionRequest) -> list[dict[str, Any]]:
    return [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema}
        for t in request.tools
    ]


def request_key(provider: str, model: str, request: CompletionRequest) -> str:
    """``sha256:<hex>`` of the canonical JSON of everything that decides the answer."""
    return _sha256(
        {
            "provider": provider,
            "model": model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "tool_choice": request.tool_choice,
            "prompt_version": request.prompt_version,
            "system": request.system,
            "messages": _messages_data(request),
            "tools": _tools_data(request),
        }
    )


def completion_to_data(c: Completion) -> dict[str, Any]:
    """The completion as JSON data (``replayed`` is a property of a run, not stored). A tool
    call's input is kept as the JSON text of the answer: the lockfile's canonical form sorts
    keys, and the key order of an answer shapes what is built from it (and so later prompts)."""
    return {
        "text": c.text,
        "tool_calls": [
            {"name": call.name, "input_json": json.dumps(call.input, ensure_ascii=False)}
            for call in c.tool_calls
        ],
        "stop_reason": c.stop_reason,
        "model": c.model,
        "usage": {
            "input_tokens": c.usage.input_tokens,
            "output_tokens": c.usage.output_tokens,
            "cache_read_tokens": c.usage.cache_read_tokens,
            "cache_write_tokens": c.usage.cache_write_tokens,
        },
    }


def completion_from_data(d: dict[str, Any]) -> Completion:
    """The inverse of ``completion_to_data``; LockfileError when the data has another shape."""
    try:
        calls = tuple(
            ToolCall(
                name=str(t["name"]),
                input=json.loads(t["input_json"]) if "input_json" in t else t["input"],
            )
            for t in d["tool_calls"]
        )
        usage = d.get("usage") or {}
        completion = Completion(
            text=str(d["text"]),
            tool_calls=calls,
            stop_reason=str(d["stop_reason"]),
            model=str(d["model"]),
            usage=Usage(
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
                cache_read_tokens=int(usage.get("cache_read_tokens", 0)),
                cache_write_tokens=int(usage.get("cache_write_tokens", 0)),
            ),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LockfileError(f"a recorded completion is malformed ({exc!r})") from None
    if not all(isinstance(call.input, dict) for call in calls):
        raise LockfileError("a recorded tool call has an input that is not a JSON object")
    return completion


class Lockfile:
    """The entries of one lockfile, in memory; ``save`` writes them back."""

    def __init__(self, path: Path, entries: dict[str, dict[str, Any]] | None = None) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = dict(entries or {})

    @classmethod
    def load(cls, path: Path) -> Lockfile:
        """The lockfile at ``path``; empty when there is none, LockfileError when unreadable."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise LockfileError(f"cannot read {path}: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise LockfileError(f"{path} is not valid JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("version"), int):
            raise LockfileError(f"{path} is not an autocoder lockfile (no version)")
        if data["version"] > LOCK_VERSION:
            raise LockfileError(
                f"{path} has version {data['version']}; this autocoder reads up to {LOCK_VERSION}",
                hint="Upgrade autocoder to the version that wrote autocoder.lock.",
            )
        entries = data.get("entries")
        if not isinstance(entries, dict) or not all(
            isinstance(entry, dict) for entry in entries.values()
        ):
            raise LockfileError(f"{path} has no 'entries' object of entries")
        return cls(path, entries)

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        return copy.deepcopy(entry) if entry is not None else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        self._entries[key] = copy.deepcopy(entry)

    def remove(self, key: str) -> None:
        """Forget an entry (pruning drift); a missing key is not an error."""
        self._entries.pop(key, None)

    def entries(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self._entries)

    def dumps(self) -> str:
        """The canonical text ``save`` writes."""
        data = {"version": LOCK_VERSION, "entries": self._entries}
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    def save(self) -> None:
        """Write atomically: a temporary file beside the lockfile, then ``os.replace``."""
        text = self.dumps()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", text=True)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)  # a file to commit, not a secret (mkstemp makes it 0600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class LockedProvider:
    """A Provider serving answers from the lockfile; in "record" mode a miss asks ``inner`` and
    records its answer (saved at once, so an interrupted run keeps what it paid for)."""

    def __init__(
        self,
        lock: Lockfile,
        inner: Provider | None,
        *,
        mode: Literal["record", "offline"],
        provider: str,
        model: str,
    ) -> None:
        if mode not in ("record", "offline"):
            raise ValueError(f"unknown lock mode {mode!r}: use 'record' or 'offline'")
        if mode == "record" and inner is None:
            raise ValueError("record mode needs a provider to ask on a lock miss")
        self.lock = lock
        self.inner = inner
        self.mode = mode
        self.name = provider
        self.model = model
        self.used: set[str] = set()  # keys this run asked for (see ``drift``)
        self._mutex = threading.Lock()

    def complete(self, request: CompletionRequest) -> Completion:
        key = request_key(self.name, self.model, request)
        self.used.add(key)
        entry = self.lock.get(key)
        if entry is not None:
            data = entry.get("completion")
            if not isinstance(data, dict):
                raise LockfileError(f"entry {key} of {self.lock.path} has no completion")
            return replace(completion_from_data(data), replayed=True)
        if self.mode == "offline" or self.inner is None:
            what = f"'{request.purpose}' request" if request.purpose else "request"
            raise LockMissError(
                f"the build is offline and {self.lock.path.name} has no answer for this {what} "
                f"to {self.name}/{self.model} (key {key})",
                key=key,
                hint="Run the build once online to record the answer, or commit the "
                "autocoder.lock that was recorded.",
            )
        completion = self.inner.complete(request)
        with self._mutex:
            self.lock.put(key, self._entry(request, completion))
            self.lock.save()
        return completion

    def _entry(self, request: CompletionRequest, completion: Completion) -> dict[str, Any]:
        return {
            "provider": self.name,
            "model": self.model,
            "purpose": request.purpose,
            "prompt_version": request.prompt_version,
            "request": {
                "system_sha256": _sha256(request.system),
                "messages_sha256": _sha256(_messages_data(request)),
                "tools_sha256": _sha256(_tools_data(request)),
            },
            "completion": completion_to_data(completion),
        }


def drift(lock: Lockfile, wanted: set[str]) -> list[str]:
    """Keys in the lock that no request of the run asked for (stale answers), sorted."""
    return sorted(key for key in lock.entries() if key not in wanted)
