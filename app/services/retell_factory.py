"""Choose live or simulated Retell from settings."""

from app.config import Settings
from app.services.retell import LiveRetell, RetellGateway
from app.services.simulator.gateway import SimulatedRetell


def build_retell_gateway(settings: Settings) -> RetellGateway:
    if settings.effective_retell_mode == "live":
        return LiveRetell(api_key=settings.retell_api_key, base_url=settings.retell_base_url)
    return SimulatedRetell(
        webhook_url=settings.webhook_url,
        api_key=settings.retell_api_key,
        call_seconds=settings.simulated_call_seconds,
    )
