"""Who may sign in to the console, and the browsers signed in.

* `links` makes the one-time sign-in links sent by e-mail, and redeems them;
* `sessions` keeps signed-in browsers on the server (idle and absolute lifetimes, a form
  token bound to each), so any of them, or all of one person's, can be ended at once;
* `seen` is what a server process remembers of the sessions it read in the last few
  seconds, and exactly when an ended session is refused.

The pages are `worker.web.signin`; what a signed-in person may see is `worker.console`.
"""
