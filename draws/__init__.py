"""Every way a customer takes part in a campaign, one room per mode.

- ``draw/``: the lucky draw (seed 000): once a day, odds per coupon type, quotas.
- ``claim/``: claim and hold (seed 002): staff release batches into a pool,
  customers hold one coupon a day until they redeem it or the hold lapses.
- ``rush/``: the flash-sale rush (seed 003): reserve in a window, grab in a
  one-minute rush, the day's coupons a share of its reservations.

Each room holds its models, services, API, serializers, admin and tests. What
the modes share sits beside them: ``opening`` (the checks every mode opens
with), ``daily_marks`` (cached "did it today" marks), ``pool`` (the one
random-start ``SKIP LOCKED`` picker) and ``figures`` (a campaign's figures,
which ``campaigns`` shows). ``draws`` builds on ``campaigns``, ``vouchers`` and
``customers``; none of them imports it.
"""
