"""The partnership's directory: agencies, people, their roles, establishments and cover.

* `entries` reads `config/directory.yaml` into a `Directory` and brings it into the database;
* `edits` changes the directory's YAML text while keeping its comments and layout;
* `schools` reads the local authority's list or a GIAS extract into establishments;
* `recipients` says who stands behind each escalation role for an obligation, and why;
* `leads` says which agency a plan's lead names (an alias, a contact, their initials);
* `names` is how names are compared (`fold`);
* `undeliverable` keeps the addresses the relay refused for good, and releases the digests
  held for them once corrected.

Saving a changed directory is `worker.config`'s work; this package only reads and edits text.
"""
