"""The Python service back end: IR -> file drafts for a standalone FastAPI service.

In progress: ``models.py`` (pydantic models of the blueprint types) is generated today; routes,
stores, the runtime wiring and the generated tests follow.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from autocoder.ir.models import IR
from autocoder.output import FileDraft
from autocoder.output.format import format_python
from autocoder.resources import data_dir

from .types import view as types_view


@cache
def templates() -> Environment:
    """The one jinja2 environment of this back end."""
    return Environment(
        loader=FileSystemLoader(data_dir("component_templates") / "python"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def model_drafts(ir: IR) -> list[FileDraft]:
    """``service/app/models.py`` for the system's types."""
    text = templates().get_template("models.py.j2").render(**types_view(ir))
    return [FileDraft.text("service/app/models.py", format_python(text))]
