"""The configuration the business manager owns: the directory and the escalation rules, kept
as numbered versions in the database, and the last good version of each in force.

* `versions` saves, checks, lists and rolls back versions (who, when, why, from where);
* `changes` makes the directory changes people ask for, each a new version: cover while
  someone is away, a hand-over when someone leaves, a corrected address;
* `in_force` is `Config`: the directory and rules in force, read again when they change,
  the last good one kept when an edit is broken.

The operator's settings (`config/settings.yaml`) are `worker.settings`, not this package.
"""
