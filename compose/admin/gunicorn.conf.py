"""gunicorn's settings for the admin panel, read from the environment (the same
file serves the Docker image and compose/native/admin.sh).

  GUNICORN_BIND [0.0.0.0:8000]   GUNICORN_WORKERS [2]   GUNICORN_TIMEOUT [60]
  GUNICORN_ACCESS_LOG [-]        GUNICORN_ERROR_LOG [-] (- is the console)
  GUNICORN_PIDFILE                   pid file (none by default)
"""

import os

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
max_requests = 1000
max_requests_jitter = 100
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
pidfile = os.environ.get("GUNICORN_PIDFILE") or None
# nginx is the only client; trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
# Heartbeat files in memory, not on the (possibly read-only) image disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
