"""How the back office writes dates and times (FORMAT_MODULE_PATH): short, sortable,
and each time with its zone, so no one reads a UTC time as local ("T" prints the
zone of the time shown: the server's, UTC). A campaign's ``day`` columns are its
local days and say so in their headings (``campaigns.admin_filters``)."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
