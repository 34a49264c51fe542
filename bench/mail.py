"""The fault script's mail backend (`bench/faults.py`): every message kept as a file, and a way
to catch a worker in the middle of a delivery.

While the file `hold` exists in the mail folder, a send first writes `sending-<pid>` (the
Message-IDs it is about to send) and waits until `hold` is gone: the script kills the worker
there, before anything reached the "mail server", exactly as a crash mid-delivery would.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend


class HoldableFileBackend(EmailBackend):
    def send_messages(self, email_messages):
        folder = Path(self.file_path)
        hold = folder / "hold"
        if hold.exists():
            ids = [m.extra_headers.get("Message-ID", "") for m in email_messages]
            # Written whole under another name, then renamed (atomic): the script, polling for
            # `sending-*`, never reads a marker created but not yet written (it once found
            # none of the Message-IDs there and failed the run).
            draft = folder / f".sending-{os.getpid()}.tmp"
            draft.write_text("\n".join(ids))
            os.replace(draft, folder / f"sending-{os.getpid()}")
            while hold.exists():
                time.sleep(0.05)
        return super().send_messages(email_messages)
