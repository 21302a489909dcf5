/* Reads an iCalendar feed on standard input with libical, as Evolution and other libical
   clients do: its parser, the iTIP restriction check of RFC 5546 for the feed's METHOD
   (icalrestriction_check), and each event's start converted to UTC through the feed's own
   VTIMEZONE. Prints one line per problem libical found ("ERROR <text>") and one per event
   ("EVENT <uid> <start as UTC, or the date of an all-day event>"). */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_all(FILE *in) {
    size_t size = 0, room = 1 << 16;
    char *text = malloc(room);
    size_t got;
    while (text && (got = fread(text + size, 1, room - size - 1, in)) > 0) {
        size += got;
        if (room - size < 4096) text = realloc(text, room *= 2);
    }
    if (text) text[size] = '\0';
    return text;
}

static void print_errors(icalcomponent *component) {
    for (icalproperty *p = icalcomponent_get_first_property(component, ICAL_XLICERROR_PROPERTY);
         p; p = icalcomponent_get_next_property(component, ICAL_XLICERROR_PROPERTY))
        printf("ERROR %s: %s\n", icalcomponent_kind_to_string(icalcomponent_isa(component)),
               icalproperty_get_xlicerror(p));
    for (icalcomponent *c = icalcomponent_get_first_component(component, ICAL_ANY_COMPONENT);
         c; c = icalcomponent_get_next_component(component, ICAL_ANY_COMPONENT))
        print_errors(c);
}

int main(void) {
    char *text = read_all(stdin);
    icalcomponent *calendar = text ? icalparser_parse_string(text) : NULL;
    if (!calendar) { printf("ERROR not an iCalendar object\n"); return 1; }
    icalrestriction_check(calendar);
    print_errors(calendar);
    icaltimezone *utc = icaltimezone_get_utc_timezone();
    for (icalcomponent *e = icalcomponent_get_first_component(calendar, ICAL_VEVENT_COMPONENT);
         e; e = icalcomponent_get_next_component(calendar, ICAL_VEVENT_COMPONENT)) {
        icalproperty *start = icalcomponent_get_first_property(e, ICAL_DTSTART_PROPERTY);
        struct icaltimetype t = icalproperty_get_dtstart(start);
        icalparameter *tzid = icalproperty_get_first_parameter(start, ICAL_TZID_PARAMETER);
        if (tzid) {
            icaltimezone *zone = icalcomponent_get_timezone(calendar, icalparameter_get_tzid(tzid));
            if (!zone) { printf("ERROR no VTIMEZONE for %s\n", icalparameter_get_tzid(tzid)); continue; }
            t = icaltime_set_timezone(&t, zone);
            t = icaltime_convert_to_zone(t, utc);
        }
        printf("EVENT %s %s\n", icalcomponent_get_uid(e), icaltime_as_ical_string(t));
    }
    icalcomponent_free(calendar);
    free(text);
    return 0;
}
