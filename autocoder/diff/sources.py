"""One side of a diff: blueprints, a compiled OUT, an IR file or a git revision, as an IR.

``load_side`` compiles blueprints (or reads an IR file) and keeps the compiler's diagnostics
and source maps, so a change can be located at file:line:col in its own revision. A git side
``git:REV:path`` is the tree of ``path`` at ``REV`` (``git archive``), compiled in a temporary
directory and shown under its revision (``REV:path/architecture.yaml``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autocoder.compiler import CompileResult, compile_source, display_path
from autocoder.diagnostics import DiagnosticSink, Span, codes
from autocoder.ir.models import IR
from autocoder.ir.serialize import IR_FILENAME, read_ir

GIT_PREFIX = "git:"
GIT_TIMEOUT = 60


class SideError(Exception):
    """The side cannot be read at all (an unknown revision or path, no git): exit 2."""


@dataclass
class Side:
    label: str  # as given on the command line
    ir: IR | None = None
    sink: DiagnosticSink = field(default_factory=DiagnosticSink)
    files: dict[str, str] = field(default_factory=dict)  # blueprint name -> displayed file
    shown_as: tuple[str, str] | None = None  # (temporary prefix, shown prefix) of a git side

    def locate(self, origin: str | None) -> Span | None:
        """The file:line:col of an IR origin (``architecture.yaml#/pointer``) in this side."""
        if not origin or "#" not in origin:
            return None
        name, pointer = origin.split("#", 1)
        file = self.files.get(name)
        if file is None:
            return None
        span = self.sink.span_for(file, pointer)
        return Span(self.show(span.file), span.line, span.col)

    def repository_path(self, span: Span | None) -> str | None:
        """A located file as a path in the repository: a git side's without its revision."""
        if span is None:
            return None
        if self.shown_as is not None and span.file.startswith(self.shown_as[1]):
            return span.file[len(self.shown_as[1]) :]
        return span.file

    def show(self, file: str) -> str:
        if self.shown_as is not None and file.startswith(self.shown_as[0]):
            return self.shown_as[1] + file[len(self.shown_as[0]) :]
        return file


def load_side(spec: str, work: Path) -> Side:
    """The side named by ``spec``; ``work`` is a scratch directory for git trees. Raises
    SideError when it cannot be read; compile errors are in ``side.sink`` (``side.ir`` None)."""
    if spec.startswith(GIT_PREFIX):
        return _git_side(spec, work)
    path = Path(spec)
    if not path.exists():
        raise SideError(f"{spec}: no such file or directory")
    if path.is_file() and path.suffix == ".json" and path.name != "openapi.json":
        side = Side(spec)
        side.ir = read_ir(path, side.sink, file=display_path(path))
        return side
    return _compiled(spec, path)


def _compiled(label: str, path: Path, shown_as: tuple[str, str] | None = None) -> Side:
    return side_of(label, compile_source(path, assumptions="accept"), shown_as)


def side_of(label: str, result: CompileResult, shown_as: tuple[str, str] | None = None) -> Side:
    """A side from a compilation already made (``check`` compiles its SOURCE first anyway)."""
    side = Side(label, sink=result.sink, files=dict(result.files), shown_as=shown_as)
    side.ir = result.ir if result.ok else None
    if result.ir is None and not result.sink.diagnostics:
        result.sink.report(
            codes.SOURCE_NOT_FOUND,
            f"{label}: holds neither blueprints, {IR_FILENAME} nor an OpenAPI document",
            span=Span(label),
        )
    return side


def _git(
    args: list[str], cwd: Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise SideError("git is not on PATH: a `git:REV:path` side needs it")
    try:
        return subprocess.run(  # noqa: S603 - git from PATH, arguments are checked names
            [git, *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT,
        )
    except (subprocess.TimeoutExpired, OSError) as exc:
        raise SideError(f"git {args[0]} did not finish: {exc}") from None


class NotInRevision(SideError):
    """The path does not exist at the revision (a blueprint directory new in this change)."""


def _git_side(spec: str, work: Path) -> Side:
    rest = spec[len(GIT_PREFIX) :]
    revision, _, inner = rest.partition(":")
    if not revision or revision.startswith("-"):
        raise SideError(f"{spec}: expected git:REV:path, e.g. git:origin/main:blueprints")
    wanted = (Path.cwd() / (inner or ".")).resolve()  # an absolute path stays itself
    probe = next((p for p in (wanted, *wanted.parents) if p.is_dir()), Path.cwd())
    top = _git(["rev-parse", "--show-toplevel"], probe)
    if top.returncode != 0:
        raise SideError(f"{spec}: {probe} is not in a git repository")
    root = Path(top.stdout.decode().strip()).resolve()
    if not wanted.is_relative_to(root):
        raise SideError(f"{spec}: {inner} is outside the repository at {root}")
    inside = wanted.relative_to(root).as_posix()
    verified = _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], root)
    if verified.returncode != 0:
        raise SideError(f"{spec}: unknown git revision {revision!r}")
    tree = Path(tempfile.mkdtemp(prefix="side-", dir=work))
    count = _materialize(root, revision, "" if inside == "." else inside, tree)
    if count == 0:
        raise NotInRevision(f"{spec}: {inside} does not exist at {revision}")
    path = tree / inside if inside not in ("", ".") else tree
    shown = (display_path(tree) + "/", f"{revision}:")
    return _compiled(spec, path, shown)


def _materialize(root: Path, revision: str, inside: str, tree: Path) -> int:
    """The regular files below ``inside`` at ``revision``, written under ``tree`` with their
    repository paths; the number written. Read from the object database (ls-tree, cat-file):
    no ``.gitattributes`` export rules apply, symbolic links and submodules are skipped."""
    listing = _git(
        [
            "-c",
            "core.quotePath=off",
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            revision,
            "--",
            *([f":(literal){inside}"] if inside else []),
        ],
        root,
    )
    if listing.returncode != 0:
        raise SideError(listing.stderr.decode(errors="replace").strip() or "git ls-tree failed")
    entries = []
    for record in listing.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, raw_name = record.partition(b"\t")
        mode, kind, sha = meta.split()
        if kind == b"blob" and mode in (b"100644", b"100755"):
            entries.append((sha.decode(), raw_name.decode("utf-8", "surrogateescape")))
    if not entries:
        return 0
    blobs = _git(["cat-file", "--batch"], root, "\n".join(s for s, _ in entries).encode() + b"\n")
    data, offset = blobs.stdout, 0
    for _, name in entries:
        header_end = data.index(b"\n", offset)
        size = int(data[offset:header_end].split()[2])
        content = data[header_end + 1 : header_end + 1 + size]
        offset = header_end + 1 + size + 1
        target = (tree / name).resolve()
        if not target.is_relative_to(tree.resolve()):
            continue  # a crafted path: never written outside the scratch tree
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return len(entries)
