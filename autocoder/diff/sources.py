"""One side of a diff: blueprints, a compiled OUT, an IR file or a git revision, as an IR.

``load_side`` compiles blueprints (or reads an IR file) and keeps the compiler's diagnostics
and source maps, so a change can be located at file:line:col in its own revision. A git side
``git:REV:path`` is the tree of ``path`` at ``REV`` (``git archive``), compiled in a temporary
directory and shown under its revision (``REV:path/architecture.yaml``).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autocoder.compiler import compile_source, display_path
from autocoder.diagnostics import DiagnosticSink, Span, codes
from autocoder.frontend.lower import ARCHITECTURE, DEPLOYMENT
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
    result = compile_source(path, assumptions="accept")
    side = Side(label, sink=result.sink, files=dict(result.files), shown_as=shown_as)
    side.ir = result.ir if result.ok else None
    if result.ir is None and not result.sink.diagnostics:
        result.sink.report(
            codes.SOURCE_NOT_FOUND,
            f"{label}: holds neither blueprints, {IR_FILENAME} nor an OpenAPI document",
            span=Span(label),
        )
    return side


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise SideError("git is not on PATH: a `git:REV:path` side needs it")
    return subprocess.run(  # noqa: S603 - git from PATH, arguments are checked revision names
        [git, *args], cwd=cwd, capture_output=True, check=False, timeout=GIT_TIMEOUT
    )


def _git_side(spec: str, work: Path) -> Side:
    rest = spec[len(GIT_PREFIX) :]
    revision, _, inner = rest.partition(":")
    if not revision or revision.startswith("-"):
        raise SideError(f"{spec}: expected git:REV:path, e.g. git:origin/main:blueprints")
    top = _git(["rev-parse", "--show-toplevel"], Path.cwd())
    if top.returncode != 0:
        raise SideError(f"{spec}: the working directory is not in a git repository")
    root = Path(top.stdout.decode().strip()).resolve()
    wanted = (Path.cwd() / (inner or ".")).resolve()  # an absolute path stays itself
    if not wanted.is_relative_to(root):
        raise SideError(f"{spec}: {inner} is outside the repository at {root}")
    inside = wanted.relative_to(root).as_posix()
    verified = _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], root)
    if verified.returncode != 0:
        raise SideError(f"{spec}: unknown git revision {revision!r}")
    archive = _git(["archive", "--format=tar", revision, "--", inside or "."], root)
    if archive.returncode != 0:
        detail = archive.stderr.decode(errors="replace").strip()
        raise SideError(f"{spec}: no {inside!r} at {revision} ({detail})")
    tree = Path(tempfile.mkdtemp(prefix="side-", dir=work))
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    path = tree / inside if inside not in ("", ".") else tree
    shown = (display_path(tree) + "/", f"{revision}:")
    if path.is_dir() and not (path / ARCHITECTURE).is_file() and (path / DEPLOYMENT).is_file():
        raise SideError(f"{spec}: {inside} has a {DEPLOYMENT} but no {ARCHITECTURE}")
    return _compiled(spec, path, shown)
