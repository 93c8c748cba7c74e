import datetime

import pytest
from django.utils import timezone


@pytest.fixture
def yesterday():
    return timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _english_messages():
    # Service-level assertions read the English messages; pages choose their language per request.
    from django.utils import translation

    with translation.override("en"):
        yield
