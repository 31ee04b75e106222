"""The API docs, opened in a real browser, render and load nothing from the internet
(what the bundles still point at outside is stopped by the page's CSP, unsent)."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _hosts(urls: list[str]) -> set[str]:
    """Where the page went over the network (data: and blob: URLs stay in the page)."""
    return {
        urlsplit(url).hostname
        for url in urls
        if urlsplit(url).scheme not in ("data", "blob")
    }


@pytest.mark.parametrize(
    ("path", "shows"),
    [
        ("/api/docs/", "#swagger-ui .info .title"),
        ("/api/redoc/", "h1"),
    ],
)
def test_docs_page_renders_with_nothing_from_outside(
    browser_page, live_server, path, shows
):
    browser_page.goto(live_server.url + path)
    browser_page.wait_for_selector(shows, timeout=15_000)
    browser_page.wait_for_load_state("networkidle")

    assert "Couponsite API" in browser_page.inner_text(shows)
    assert _hosts(browser_page.sent) == {urlsplit(live_server.url).hostname}
