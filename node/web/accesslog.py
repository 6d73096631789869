"""The node's logs: see `runtime.logs` (no address, no user agent, no content)."""

from runtime.logs import (
    PrivacyAccessLogger,
    RedactAddresses,
    configure_logging,
    filter_request_bytes,
)

__all__ = ["PrivacyAccessLogger", "RedactAddresses", "configure_logging", "filter_request_bytes"]
