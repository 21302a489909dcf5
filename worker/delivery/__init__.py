"""Getting each period's digests out: planned once, sent once, never lost.

* `planning` decides, for one send period, who is due a digest and writes the ledger rows;
* `ledger` claims a row, sends it through a transport, records the outcome, and finds what
  a lost worker or broker left behind;
* `tick` is what the beat does every minute: plan the current period once, queue what needs
  sending, keep the feeds current;
* `alarm` tells the operator and an outside monitor when a day's digests did not go out;
* `jobs` records when each periodic job (the tick, the daily run, the backup, the bounce
  mailbox) last started, succeeded and failed: what `reminders status` and the overview say;
* `morning` says what an import previewed would cause on the next working morning: who
  would hear what, and what to put right first.

Celery tasks (`tasks/`) call `tick.run_tick` and `ledger.deliver`; nothing else sends.
"""
