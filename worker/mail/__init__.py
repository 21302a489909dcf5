"""E-mail to people: what a digest says, how it is built, and how it leaves.

* `digest` gathers one person's items into one `Digest` (what the engine says they must hear);
* `preferences` holds what each person asked of their digests (daily rather than weekly);
* `message` builds the e-mail (HTML and text, from the one Jinja environment) and keeps every
  header safe from injection;
* `links` signs the Acknowledge and Mark complete links in a digest and reads them back;
* `transport` gets a built message out: an SMTP relay, or the outbox folder.
"""
