"""Autocoder: a compiler for services (blueprints -> IR -> service + deployment package)."""

__version__ = "0.1.0"
