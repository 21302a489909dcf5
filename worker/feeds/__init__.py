"""Calendar feeds (iCalendar, built with icalendar) that people subscribe to.

* `public` builds the briefing-session feeds everyone may read, whole or filtered;
* `agency` builds each agency's private deadline feed, behind a revocable token;
* `files` keeps built feeds as files, written when what they show changes and served from
  the file with its ETag and Last-Modified; `Feed` is a built feed.
"""
