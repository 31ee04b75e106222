from django.urls import path

from draws.api import draw

urlpatterns = [
    path("campaigns/<slug:slug>/draws", draw.DrawApi.as_view(), name="campaign-draws"),
]
