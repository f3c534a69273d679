"""Which kinds of key the `keys` stream can list, and the one warning when some may be missing.

`GET /keys?all=true` answers 200 with the kinds of key the credential's scopes reach and
says nothing about the others. An OAuth or federated token's scopes are known (the
token response's `scope`); an API access token's are not: it carries its owner's rights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tap_tailscale.scopes import KEY_KIND_NAMES, KEY_KIND_SCOPES, unreadable_key_kinds

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


class KeyKindCheck:
    """Judges the credential's scopes once per run; `verdict` is what `--test` says."""

    SCOPES = tuple(KEY_KIND_SCOPES.values())

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._said = False
        #: None when every kind is listed; else the connection test's verdict.
        self.verdict: str | None = None

    def check(self, granted: tuple[str, ...] | None) -> None:
        """Note what the scopes mean for the list; warn the first time it may be partial."""
        missing = unreadable_key_kinds(granted)
        if missing is None:
            text = (
                "which kinds of key are listed is unknown: the credential does not say "
                "which scopes it holds (an API access token carries its owner's rights)"
            )
            self.verdict = f"OK, but {text}"
            self._say(self._logger.info, text)
        elif missing:
            scopes = _and([f"`{KEY_KIND_SCOPES[kind]}`" for kind in missing])
            kinds = _and([KEY_KIND_NAMES[kind] for kind in missing])
            text = (
                f"the list may be partial: the credential lacks {scopes}, so {kinds} are not "
                "listed (the API leaves them out without a word); grant them (or `all:read`) "
                "to list every key"
            )
            self.verdict = f"PARTIAL: {text}"
            self._say(self._logger.warning, text)
        else:
            self.verdict = None

    def _say(self, log: Callable[..., None], text: str) -> None:
        if not self._said:
            self._said = True
            log("keys: %s.", text)
