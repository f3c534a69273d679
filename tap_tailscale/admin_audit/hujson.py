"""Policy file parsing, kept here for the modules that read it from `admin_audit`."""

from __future__ import annotations

from tap_tailscale.policy import PolicyParseError, parse_policy

__all__ = ["PolicyParseError", "parse_policy"]
