"""Writing outputs: file drafts, the manifest, and the atomic writer."""

from autocoder.output.writer import Conflict, FileDraft, WriteConflictError, plan, write_tree

__all__ = ["Conflict", "FileDraft", "WriteConflictError", "plan", "write_tree"]
