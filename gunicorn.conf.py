"""gunicorn reads this file from the directory it starts in (the repository's root).

Its access and error logs drop reminder links' tokens (aimss_tracker.logs). The access log
stays off unless asked for (--access-logfile); its format is gunicorn's default.
"""

logger_class = "aimss_tracker.logs.GunicornLogger"
