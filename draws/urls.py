from django.urls import path

from draws import api

urlpatterns = [
    path("campaigns/<slug:slug>/draws", api.DrawApi.as_view(), name="campaign-draws"),
]
