import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aimss_tracker.settings")
application = get_wsgi_application()

# The loaded application (about 190,000 objects) lives as long as the process: frozen (moved to
# the collector's permanent generation), it is no longer walked by every full collection, which
# otherwise paused a worker every few hundred requests.
gc.freeze()
