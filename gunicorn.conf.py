"""Production serving: one gevent worker per process (Socket.IO needs sticky sessions
for long-polling, so scale by running more processes behind a sticky load balancer, all
sharing Redis as the Socket.IO message queue)."""
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
worker_class = "gevent"
workers = 1
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "2000"))
timeout = 60
graceful_timeout = 20
accesslog = "-"
forwarded_allow_ips = "127.0.0.1"
