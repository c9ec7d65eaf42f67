"""Sender numbers, 080 numbers, gateway backends and the sandbox carrier.

Knows nothing of campaigns: it sends messages and reports deliveries as
normalised events (see channels.signals).
"""
