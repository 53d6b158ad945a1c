"""``sbom.cdx.json``: a CycloneDX 1.6 bill of materials for the generated service.

The service is ``metadata.component``; each pinned dependency is a ``library`` identified by
its PyPI package URL. The pins are the full resolved closure without the edges between them,
so only the service's own ``dependsOn`` is stated (CycloneDX reads a component missing from
the graph as "dependencies unknown", which is the truth here). No timestamp: the serial
number is derived from the lock, so identical builds give identical SBOMs.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

import autocoder
from autocoder.ir.models import IR

SBOM_FILENAME = "sbom.cdx.json"
SPEC_VERSION = "1.6"
# Namespace for the uuid5 serial numbers: uuid5(NAMESPACE_URL, "https://autocoder.dev/sbom").
SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://autocoder.dev/sbom")


def normalize_name(name: str) -> str:
    """PEP 503 normalized project name (what a ``pkg:pypi`` purl uses)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def purl(name: str, version: str) -> str:
    return f"pkg:pypi/{normalize_name(name)}@{quote(version, safe='')}"


def service_ref(ir: IR) -> str:
    return f"{ir.system.name}@{ir.system.version}"


def build_sbom(ir: IR, *, pins: dict[str, str], lock: bytes) -> dict[str, Any]:
    """The SBOM document; ``lock`` (the rendered build.lock) seeds the serial number."""
    unique = {purl(name, version): (name, version) for name, version in pins.items()}
    libraries = [
        {
            "type": "library",
            "bom-ref": ref,
            "name": normalize_name(name),
            "version": version,
            "purl": ref,
        }
        for ref, (name, version) in sorted(unique.items())
    ]
    serial = uuid.uuid5(SERIAL_NAMESPACE, lock.decode("utf-8"))
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial.urn,
        "version": 1,
        "metadata": {
            "tools": {
                "components": [
                    {
                        "type": "application",
                        "bom-ref": f"autocoder@{autocoder.__version__}",
                        "name": "autocoder",
                        "version": autocoder.__version__,
                    }
                ]
            },
            "component": {
                "type": "application",
                "bom-ref": service_ref(ir),
                "name": ir.system.name,
                "version": ir.system.version,
                **({"description": ir.system.description} if ir.system.description else {}),
            },
        },
        "components": libraries,
        "dependencies": [
            {"ref": service_ref(ir), "dependsOn": [c["purl"] for c in libraries]},
        ],
    }
