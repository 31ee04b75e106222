"""The models of every way a customer takes part; each lives in its mode's room.

Django looks for an app's models here, so this module only gathers them.
"""

from draws.audit_runs import AuditRun
from draws.claim.models import Claim, ReleaseSchedule, ReleaseScheduleRun
from draws.draw.models import Draw, DrawSeed
from draws.pool import Release
from draws.rush.models import Grab, Reservation, RushDay

__all__ = [
    "AuditRun",
    "Claim",
    "Draw",
    "DrawSeed",
    "Grab",
    "Release",
    "ReleaseSchedule",
    "ReleaseScheduleRun",
    "Reservation",
    "RushDay",
]
