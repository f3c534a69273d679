"""`python -m tailscale_emulator`: the same as the `tap-tailscale-emulator` command."""

import sys

from tailscale_emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
