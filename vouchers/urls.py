from django.urls import path

from vouchers import api

urlpatterns = [
    path("vouchers", api.VoucherListApi.as_view(), name="vouchers"),
    path("vouchers/check", api.VoucherCheckApi.as_view(), name="voucher-check"),
    path("vouchers/redeem", api.VoucherRedeemApi.as_view(), name="voucher-redeem"),
    path("vouchers/<str:code>", api.VoucherDetailApi.as_view(), name="voucher"),
]
