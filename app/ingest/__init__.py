"""Retell webhook deliveries, stored once and applied to their call."""
