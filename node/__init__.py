"""A BackUp node: the self-hosted server one partner organisation runs."""
