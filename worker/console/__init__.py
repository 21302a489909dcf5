"""The partnership console: who may sign in, and what they see and may do.

* `people` turns an address into a `Person` with what the directory makes them;
* `signin` makes and redeems the one-time links sent by e-mail;
* `sessions` keeps signed-in browsers on the server, so any of them can be ended;
* `overview` and `items` read the figures and lists the pages show, with aggregate queries;
* `chart` draws the overview's chart as SVG;
* `acts` does what a person asks of an item, through the one event path, and keeps the record.

The web pages (worker/web/console.py) call these; nothing here knows about HTTP.
"""
