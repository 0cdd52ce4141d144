"""Production serving: one gevent worker per process (Socket.IO needs sticky sessions
for long-polling, so scale by running more processes behind a sticky load balancer, all
sharing Redis as the Socket.IO message queue). docs/OPERATIONS.md has the whole story."""
import glob
import os
import resource
import shutil
import tempfile

# Loopback unless told: the app is meant to be reached only through the proxy (BIND=
# a private address of the host, or 0.0.0.0:8000 inside a container, docs/OPERATIONS.md).
bind = os.environ.get("BIND", "127.0.0.1:8000")
worker_class = "gevent"
workers = 1
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "2000"))

# Every socket is a file descriptor: raise the soft open-file limit to the hard one (the
# default soft limit, often 1024, would cap a process far below worker_connections).
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if _soft < _hard:
    resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))
timeout = 60
# SIGTERM: stop accepting, finish requests, tell sockets to reconnect elsewhere
# (utils/shutdown.py), and exit; what is still open after this many seconds is cut.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "20"))
# The app logs one line per request itself (utils/logs.py, JSON in production); set
# ACCESS_LOG=- for gunicorn's own access log as well.
accesslog = os.environ.get("ACCESS_LOG") or None
forwarded_allow_ips = "127.0.0.1"

# Prometheus multi-process mode: every process of this server writes its samples into
# this directory and GET /metrics adds them up. Set before any process imports
# prometheus_client; one directory per server (a container has its own).
_own_metrics_dir = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="roundtable-metrics-")


def on_starting(server):
    # Samples left by an earlier run of this server would be added to this run's.
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(directory, exist_ok=True)
    for path in glob.glob(os.path.join(directory, "*.db")):
        os.remove(path)


def post_worker_init(worker):
    from utils import shutdown

    shutdown.watch(worker)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
