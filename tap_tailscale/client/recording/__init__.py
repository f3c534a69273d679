"""Recording a run's HTTP exchanges to a folder, and replaying them without a network.

`build_session` gives the session every request uses: plain, recording (secrets
scrubbed) or replaying, as the recording settings say.
"""

from tap_tailscale.client.recording.record import (
    MissingRecordingError,
    Recorder,
    RecordingAdapter,
    build_session,
    share_recording,
)
from tap_tailscale.client.recording.replay import ReplayAdapter, exchange_number, file_body

__all__ = [
    "MissingRecordingError",
    "Recorder",
    "RecordingAdapter",
    "ReplayAdapter",
    "build_session",
    "exchange_number",
    "file_body",
    "share_recording",
]
