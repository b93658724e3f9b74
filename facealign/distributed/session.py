"""Ray for one job: an embedded instance or a cluster, on 127.0.0.1 when local."""

from __future__ import annotations

import contextlib
import os
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

__all__ = ["EMBEDDED_OBJECT_STORE_BYTES", "loopback", "ray_session"]

#: Object store of an embedded instance: rows are shard numbers and counts, the outputs go to files.
EMBEDDED_OBJECT_STORE_BYTES = 256 * 1024 * 1024
_LOOPBACK = {"127.0.0.1", "localhost"}


@contextmanager
def loopback():
    """Keep every Ray process and connection of this process (and of the Ray processes it starts) on
    127.0.0.1, usage reporting off. On Linux Ray replaces a loopback node or cluster address by the
    machine's network address and listens on all interfaces; with its multi-machine switch off
    (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, read when ray is imported, hence also set on the loaded
    module) 127.0.0.1 stays 127.0.0.1. Both are restored on exit."""
    saved = {k: os.environ.get(k) for k in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_USAGE_STATS_ENABLED")}
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from ray._private import ray_constants

    was, ray_constants.ENABLE_RAY_CLUSTER = ray_constants.ENABLE_RAY_CLUSTER, False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = was
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None, object_store_memory: int | None = None):
    """Ray for one job. ``address`` None: an embedded instance on 127.0.0.1 (stopped afterwards);
    otherwise that cluster (``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``), the driver on 127.0.0.1
    when the cluster is. Dashboard and usage reporting off. An already initialised Ray is used as is."""
    import ray

    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address is None:
        kwargs.update(address="local", include_dashboard=False, num_cpus=num_cpus,
                      object_store_memory=object_store_memory or EMBEDDED_OBJECT_STORE_BYTES)
    else:
        kwargs["address"] = address
    host = urlsplit(address if "://" in address else f"//{address}").hostname if address else "127.0.0.1"
    with loopback() if host in _LOOPBACK else contextlib.nullcontext():
        if host in _LOOPBACK:
            kwargs["_node_ip_address"] = "127.0.0.1"
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(**kwargs)
        try:
            yield ray
        finally:
            ray.shutdown()
