"""The natural-language front end: a request in words becomes blueprints through a model.

``prompts`` loads the versioned prompt files and builds the tools whose input schemas are the
blueprint JSON Schemas; ``session`` runs the conversation with its bounded repair loop; the
CLI (``autocoder.cli.nl``) turns the outcome into written files, diagnostics and a run report.
Model output is data: it is compiled and checked, never executed here.
"""
