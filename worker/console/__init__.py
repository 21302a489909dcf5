"""The partnership console: what each person signed in sees and may do.

* `people` turns an address into a `Person` with what the directory makes them;
* `overview` and `items` read the figures and lists the pages show, with aggregate queries;
* `records` reads what the item, deliveries, calendars and people pages show;
* `kept` keeps what a server process works out once (the overview's figures) and reuses;
* `chart` draws the overview's chart as SVG;
* `acts` does what a person asks of an item, through the one event path, and keeps the record.

The web pages (worker/web/console.py) call these; nothing here knows about HTTP.
"""
