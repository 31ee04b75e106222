"""What the group writers' bodies share (``bodies``: a coupon), for every app's
writer of ``couponsite.group_commit``."""
