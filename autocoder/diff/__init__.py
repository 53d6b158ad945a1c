"""What changed between two compiled systems, classified for the people who depend on them:
``rules`` (the registry and ``compare``), ``sources`` (a side of a diff: blueprints, an OUT,
an IR file or a git revision), ``report`` (text, JSON, Markdown, SARIF, JUnit, changelog)."""

from autocoder.diff.rules import LEVELS, RULES, Change, Level, Rule, breaking, compare

__all__ = ["LEVELS", "RULES", "Change", "Level", "Rule", "breaking", "compare"]
