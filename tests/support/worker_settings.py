"""Settings for a Celery worker process started by a test: the project's, with file mail."""

import os

from marketplace.settings import *  # noqa: F403

EMAIL_BACKEND = "tests.support.slow_mail.SlowFileBackend"
EMAIL_FILE_PATH = os.environ["TEST_MAIL_DIR"]
