from django.urls import path

from draws.claim import api as claim
from draws.draw import api as draw
from draws.rush import api as rush

urlpatterns = [
    path("campaigns/<slug:slug>/draws", draw.DrawApi.as_view(), name="campaign-draws"),
    path(
        "campaigns/<slug:slug>/draws/<int:draw_id>/verification",
        draw.DrawVerificationApi.as_view(),
        name="campaign-draw-verification",
    ),
    path(
        "campaigns/<slug:slug>/draw-seeds",
        draw.DrawSeedListApi.as_view(),
        name="campaign-draw-seeds",
    ),
    path(
        "campaigns/<slug:slug>/simulations",
        draw.SimulationApi.as_view(),
        name="campaign-simulations",
    ),
    path(
        "campaigns/<slug:slug>/releases",
        claim.ReleaseApi.as_view(),
        name="campaign-releases",
    ),
    path(
        "campaigns/<slug:slug>/claims", claim.ClaimApi.as_view(), name="campaign-claims"
    ),
    path(
        "campaigns/<slug:slug>/reservations",
        rush.ReservationApi.as_view(),
        name="campaign-reservations",
    ),
    path("campaigns/<slug:slug>/grabs", rush.GrabApi.as_view(), name="campaign-grabs"),
]
