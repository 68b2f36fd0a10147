"""Choose live or simulated Retell from settings."""

import hashlib
import hmac

from app.config import Settings
from app.retell.gateway import RetellGateway
from app.retell.live import LiveRetell
from app.retell.simulated import SimulatedRetell


def simulated_webhook_key(settings: Settings) -> str:
    """The key the simulator signs with when no Retell key is set.

    Derived from SECRET_KEY, so every worker process of one deployment signs and verifies alike;
    in development without SECRET_KEY it is as random, and as short-lived, as that key.
    """
    assert settings.secret_key is not None
    return hmac.new(settings.secret_key.encode(), b"simulated-retell-webhooks", hashlib.sha256).hexdigest()


def build_retell_gateway(settings: Settings) -> RetellGateway:
    if settings.effective_retell_mode == "live":
        return LiveRetell(
            api_key=settings.retell_api_key,
            base_url=settings.retell_base_url,
            timeout_seconds=settings.retell_timeout_seconds,
            max_retries=settings.retell_max_retries,
        )
    return SimulatedRetell(
        webhook_url=settings.webhook_url,
        api_key=settings.retell_api_key or simulated_webhook_key(settings),
        call_seconds=settings.simulated_call_seconds,
    )
