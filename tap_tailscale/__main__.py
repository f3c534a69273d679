"""Run the tap as `python -m tap_tailscale`."""

from tap_tailscale.tap import main

main()
