"""The IR: pydantic models, canonical serialisation + hash, and the component graph."""

from autocoder.ir.models import IR, IR_VERSION
from autocoder.ir.serialize import IR_FILENAME, dump_ir, read_ir, seal

__all__ = ["IR", "IR_FILENAME", "IR_VERSION", "dump_ir", "read_ir", "seal"]
