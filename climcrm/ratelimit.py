"""Rate limits counted in the database, so every web server sees the same count.

The public web-to-lead form counts its posts per IP address in its own table
(``leads.PublicFormSubmission``); other limits (password-reset requests, per IP address and
per email address) count ``RateLimitHit`` rows. Keys are stored as keyed hashes: the table
holds no address in clear.
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from climcrm.models import RateLimitHit


def parse_rate(rate: str) -> tuple[int, datetime.timedelta]:
    """'5/h' → (5, one hour). Units: s, m, h, d."""
    count, _sep, unit = (rate or "5/h").partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get((unit or "h").strip()[:1], 3600)
    return int(count), datetime.timedelta(seconds=seconds)


def hashed_key(scope: str, key: str) -> str:
    return salted_hmac(f"climcrm.ratelimit.{scope}", key, algorithm="sha256").hexdigest()


def hit(*, scope: str, key: str, rate: str, at: datetime.datetime | None = None) -> bool:
    """Count this attempt and say whether ``key`` is still under its limit in ``scope``.

    Every attempt counts, allowed or not, so retrying gains nothing.
    """

    now = at or timezone.now()
    limit, window = parse_rate(rate)
    digest = hashed_key(scope, key)
    with transaction.atomic():
        recent = RateLimitHit.objects.filter(scope=scope, key=digest, at__gt=now - window).count()
        RateLimitHit.objects.create(scope=scope, key=digest, at=now)
        # Rows older than the window are of no use to this limit.
        RateLimitHit.objects.filter(scope=scope, at__lte=now - window).delete()
    return recent < limit
