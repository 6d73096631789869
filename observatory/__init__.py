"""The observatory: the hub that pools what nodes choose to share (docs/architecture.md)."""
