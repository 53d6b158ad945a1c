"""The tiers of ``autocoder validate``, in their reporting order.

Each tier is a module with ``NAME``, ``INPUTS`` (the OUT-relative roots whose content keys its
cache) and ``run(ctx) -> TierResult``. A tier never raises for a problem in the system it checks:
that is a finding. A tier that cannot inspect an input records it in ``not_checked`` and fails.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from autocoder.validate.findings import TIERS


def tier_module(name: str) -> ModuleType:
    if name not in TIERS:
        raise KeyError(name)
    return importlib.import_module(f"autocoder.validate.tiers.{name}")
