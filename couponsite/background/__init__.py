"""Background work: what the task queue and the schedule share.

Tasks are ``django.tasks`` tasks stored by django-tasks-db; each is enqueued in
the same transaction as the effect that causes it (a rolled-back effect leaves
no task behind) and run by ``manage.py db_worker``. The schedule is
django-crontask (``manage.py crontask``): each app's ``tasks`` module declares
its periodic jobs with ``@cron``, and every one of them is idempotent, so a
second scheduler started by mistake changes nothing.

This package holds the parts every room uses: the retry delays
(``backoff``) and the queue's figures for ``/readyz`` and the back office
(``figures``).
"""
