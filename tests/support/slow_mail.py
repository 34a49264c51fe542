"""A file mail backend that can be made slow, so a test can kill a worker mid-delivery."""

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend


class SlowFileBackend(EmailBackend):
    def send_messages(self, email_messages):
        directory = Path(self.file_path)
        (directory / f"sending-{os.getpid()}.marker").touch()
        time.sleep(float(os.environ.get("TEST_MAIL_DELAY", "0")))
        return super().send_messages(email_messages)
