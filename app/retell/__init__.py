"""Retell AI: the gateway the app talks to, live or simulated, and the signed webhooks it sends."""

from app.retell.gateway import CallRequest, RetellAgentIds, RetellGateway, StartedCall

__all__ = ["CallRequest", "RetellAgentIds", "RetellGateway", "StartedCall"]
