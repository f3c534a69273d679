"""Singer tap for Tailscale's configuration audit and network flow logs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tap-tailscale")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
