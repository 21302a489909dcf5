"""The partnership's reminder and escalation service.

Packages, from the top: `cli` and `web` (what people use), `console`, `reports` and
`delivery`, then `app` (the pieces built from the settings), `config` and `feeds`, `signin`,
`mail`, `obligations`, `rules` and `importers`, `directory`; and at the bottom the modules
every part may use (`settings`, `models`, `db`, `history`, `workdays`, `templating`,
`tokens`, `yaml_files`, `paths`). The order is a contract: `lint-imports` (pyproject.toml)
fails when a layer imports one above it, or any package's modules import in a cycle.
"""
