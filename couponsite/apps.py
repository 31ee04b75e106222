from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class CouponsiteConfig(AppConfig):
    """The project package doubles as the app holding shared API plumbing."""

    name = "couponsite"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from couponsite.api.idempotency import idempotency_keys_purge
        from couponsite.retention import register_purge

        register_purge("idempotency_keys", idempotency_keys_purge)
        if settings.REDIS_URL and settings.REDIS_CLUSTER:
            _crontask_lock_on_cluster()


class _ClusterLock:
    """django-crontask's scheduler lock (``crontask.utils.lock``) on a Redis
    Cluster: the same redis-py ``Lock`` on the same key, taken through
    ``RedisCluster`` (django-crontask's own client talks to one node, which
    answers ``MOVED`` for a key in another's slots). Made on first use, so a
    process that never schedules never contacts the cluster here."""

    def __init__(self, crontask_settings) -> None:
        self._settings = crontask_settings
        self._lock = None

    def _real(self):
        if self._lock is None:
            from couponsite.redis_cluster import cluster_client

            self._lock = cluster_client(settings.REDIS_URL).lock(
                "crontask-lock",
                blocking_timeout=self._settings.LOCK_BLOCKING_TIMEOUT,
                timeout=self._settings.LOCK_TIMEOUT,
                thread_local=False,
            )
        return self._lock

    def __enter__(self):
        return self._real().__enter__()

    def __exit__(self, *exc_info):
        return self._real().__exit__(*exc_info)

    def extend(self, *args, **kwargs):
        return self._real().extend(*args, **kwargs)


def _crontask_lock_on_cluster() -> None:
    from crontask import utils
    from crontask.conf import get_settings

    utils.lock = _ClusterLock(get_settings())
