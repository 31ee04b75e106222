from django.urls import path

from campaigns import api

urlpatterns = [
    path("campaigns", api.CampaignListApi.as_view(), name="campaigns"),
    path("campaigns/<slug:slug>", api.CampaignDetailApi.as_view(), name="campaign"),
]
