"""YAML out: plain block-style YAML of JSON-like data, keys in insertion order, no anchors.

Every YAML file of the deployment package is written through ``dump``/``dump_all`` so that the
whole package looks the same and regenerates byte for byte.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter

# Plain scalars a YAML 1.1 reader (go-yaml in kubectl, helm) would not read back as a string.
_YAML11_SPECIAL = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
    r"|~|null|Null|NULL|[-+]?[0-9][0-9_:.eE+-]*|0x[0-9a-fA-F_]+|0o?[0-7_]+|\.(?:inf|nan)"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:NaN|NAN)|=|<<)$"
)


class _Representer(RoundTripRepresenter):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_str(self, data: str) -> Any:
        if _YAML11_SPECIAL.match(data) or data == "":
            return self.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        return super().represent_str(data)


_Representer.add_representer(str, _Representer.represent_str)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Representer = _Representer
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = False
    return yaml


def dump(data: Any, *, header: str = "") -> str:
    """One YAML document; ``header`` is written as ``#`` comment lines above it."""
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return _comment(header) + stream.getvalue()


def dump_all(documents: Iterable[Any], *, header: str = "") -> str:
    """Several documents separated by ``---``."""
    parts = []
    for document in documents:
        stream = io.StringIO()
        _yaml().dump(document, stream)
        parts.append(stream.getvalue())
    return _comment(header) + "---\n".join(parts)


def _comment(header: str) -> str:
    if not header:
        return ""
    return "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())


def load_all(text: str) -> list[Any]:
    """Parse YAML documents back into plain data (for gates and tests), with libyaml when
    ruamel.yaml.clib is installed: it reads YAML 1.1, as kubectl and helm do."""
    yaml = YAML(typ="safe")
    return [doc for doc in yaml.load_all(text) if doc is not None]
