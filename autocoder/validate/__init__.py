"""``autocoder validate``: the tiers, one finding model, and the reports (text, JSON, SARIF,
JUnit). See ``runner.validate`` and docs/cli.md."""
