"""A small generated OUT with its supply-chain records, built from the todo-api example."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from autocoder.backends.supply_chain import supply_chain_drafts
from autocoder.backends.supply_chain.signing import Ed25519PrivateKey
from autocoder.compiler import compile_source
from autocoder.ir.models import IR
from autocoder.ir.serialize import dump_ir
from autocoder.output import FileDraft, write_tree

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "todo-api"
PINS = {"FastAPI": "0.115.6", "SQLAlchemy": "2.0.36", "typing_extensions": "4.12.2"}
USER_OWNED = "service/app/logic/notify.py"

Drafts = Callable[..., list[FileDraft]]
OutFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def ir() -> IR:
    result = compile_source(EXAMPLE)
    assert result.ir is not None, result.sink.diagnostics
    return result.ir


@pytest.fixture(scope="session")
def pins() -> dict[str, str]:
    return dict(PINS)


@pytest.fixture(scope="session")
def user_owned() -> str:
    return USER_OWNED


@pytest.fixture(scope="session")
def files(ir: IR) -> dict[str, bytes]:
    """Every generated file, OUT-relative (a few stand-ins for the service and deploy trees)."""
    return {
        "architecture.yaml": (EXAMPLE / "architecture.yaml").read_bytes(),
        "deployment.yaml": (EXAMPLE / "deployment.yaml").read_bytes(),
        "ir.v1.json": dump_ir(ir).encode(),
        "service/app/main.py": b"from app.api import create_app\n",
        "service/requirements.lock": b"".join(f"{n}=={v}\n".encode() for n, v in PINS.items()),
        "deploy/Dockerfile": b"FROM python:3.11-slim\nUSER 10001\n",
        USER_OWNED: b"def notify(todo):\n    return todo\n",
    }


@pytest.fixture
def drafts(ir: IR, files: dict[str, bytes]) -> Drafts:
    """The records for the fixture files; pass ``key=`` to sign."""

    def make(key: Ed25519PrivateKey | None = None, **changes: object) -> list[FileDraft]:
        args: dict[str, object] = {"files": files, "user_owned": [USER_OWNED], "pins": PINS}
        args.update(changes)
        return supply_chain_drafts(ir, sign_key=key, **args)  # type: ignore[arg-type]

    return make


@pytest.fixture
def make_out(files: dict[str, bytes], drafts: Drafts, tmp_path: Path) -> OutFactory:
    """Write a fake OUT (generated files + records) and return its path."""

    def make(key: Ed25519PrivateKey | None = None, name: str = "out") -> Path:
        out = tmp_path / name
        generated = [
            FileDraft(path, content, user_owned=path == USER_OWNED)
            for path, content in files.items()
        ]
        write_tree(out, [*generated, *drafts(key)])
        return out

    return make
