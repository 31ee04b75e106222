"""The back office of every way a customer takes part: each mode's admin is in its room."""

from draws.claim import admin as claim_admin  # noqa: F401 - registers its admins
from draws.draw import admin as draw_admin  # noqa: F401
from draws.invariants import admin as invariants_admin  # noqa: F401
from draws.rush import admin as rush_admin  # noqa: F401
