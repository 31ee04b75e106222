"""The application gunicorn serves (``gunicorn.conf.py``): the thin routes of
``couponsite.server.routes`` first, then Django's WSGI handler in a small pool
of threads, each request only once it has fully arrived (``couponsite.server``).

``DJANGO_HANDLER=asgi`` puts Django's own ASGI handler behind the routes instead;
it is there to compare the two (docs/performance.md), not to run.
"""

import os

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

from couponsite.server import Router, WSGIBridge

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "couponsite.settings")

if os.environ.get("DJANGO_HANDLER", "wsgi") == "asgi":
    django_app = get_asgi_application()
else:
    django_app = WSGIBridge(get_wsgi_application())

# The thin routes may use models: imported once Django is set up.
from couponsite.server.routes import ROUTES, shutdown, startup

application = Router(django_app, ROUTES, on_shutdown=shutdown, on_startup=startup)
