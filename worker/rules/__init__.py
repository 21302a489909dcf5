"""The escalation rules the business manager owns, and the engine that applies them.

* `ladder` reads and checks `config/escalation.yaml` into `Rules` (each kind's `Ladder`);
* `engine` says where an obligation stands at a moment (or on a day), and why, in the
  timescales the rules write (working days, hours on working days' clocks, calendar days, on
  request), with the deadlines within its stage; it imports nothing but the rules and the
  calendar;
* `form` turns the rules into the console's form and back into text;
* `warnings` says what may be a mistake in rules that are otherwise valid.

What proposed rules would do to the items live is `worker.obligations.preview`.
"""
