"""django-tasks-db's app under a name employees read in their language.

Its own module: a second ``AppConfig`` in ``couponsite/apps.py`` would stop
Django from picking ``CouponsiteConfig`` for the ``couponsite`` app.
"""

from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class TasksDatabaseConfig(TasksAppConfig):
    verbose_name = _("Background tasks")
