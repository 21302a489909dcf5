"""Who may sign in to the console, and the browsers signed in.

* `links` makes the one-time sign-in links sent by e-mail, and redeems them;
* `sessions` keeps signed-in browsers on the server (idle and absolute lifetimes, a form
  token bound to each), so any of them, or all of one person's, can be ended at once.

The pages are `worker.web.signin`; what a signed-in person may see is `worker.console`.
"""
