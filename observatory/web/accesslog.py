"""The observatory's access log: see `runtime.logs` (route pattern, status, duration)."""

from runtime.logs import PrivacyAccessLogger

__all__ = ["PrivacyAccessLogger"]
