"""Calendars: CalDAV servers and iCalendar files, their events expanded (recurrences, time
zones, all-day events) to local times, and said as a person would say them."""
