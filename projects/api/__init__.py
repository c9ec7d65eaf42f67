"""The project's own API: what a token's project looks like to an integrator."""
