"""gunicorn settings for production (`gunicorn -c deploy/gunicorn.conf.py 'app:create_app()'`).

The same values `tipline serve` uses (app/server.py); this file is for process managers that
start gunicorn directly.
"""

bind = "127.0.0.1:5000"
workers = 4
worker_class = "gthread"
threads = 4
# Large uploads over Tor are slow; gthread workers are not killed while a request runs.
timeout = 120
accesslog = None  # never log requests: tipster visits must leave no trace (DESIGN §2.3)
errorlog = "-"
# Only nginx on this host may set forwarded headers.
forwarded_allow_ips = "127.0.0.1,::1"
limit_request_line = 8190
# Unused, and its default path (~/.gunicorn/gunicorn.ctl) is one per host, not per instance.
control_socket_disable = True
