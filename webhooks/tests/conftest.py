import pytest

from webhooks.tests.receiver import receiver


@pytest.fixture
def served(settings):
    """A real HTTP receiver on 127.0.0.1, which the setting lets webhooks call."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    with receiver() as running:
        yield running
