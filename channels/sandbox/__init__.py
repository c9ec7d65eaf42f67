"""The sandbox carrier: a real HTTP server that behaves like an SMS provider."""
