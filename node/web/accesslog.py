"""The node's logs: see `runtime.logs` (no address, no user agent, no content)."""

from runtime.logs import PrivacyAccessLogger, RedactAddresses, configure_logging

__all__ = ["PrivacyAccessLogger", "RedactAddresses", "configure_logging"]
