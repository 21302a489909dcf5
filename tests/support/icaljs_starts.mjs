// Reads an iCalendar feed on standard input with ical.js, as Thunderbird and Nextcloud do:
// the feed's own VTIMEZONEs registered, then each event's start in UTC (an all-day event's
// date as it is). Prints "EVENT <uid> <start>" per event.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const calendar = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(zone));
}
for (const found of calendar.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(found);
  const start = event.startDate;
  const shown = start.isDate
    ? start.toICALString()
    : start.convertToZone(ICAL.Timezone.utcTimezone).toICALString();
  console.log(`EVENT ${event.uid} ${shown}`);
}
