"""Start moto's server app, extended by the sandbox, on 127.0.0.1."""
from __future__ import annotations

import http.client
import json
import threading
from typing import Any

_INSTALLED = False
_INSTALL_LOCK = threading.Lock()


def install_extensions() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        from . import codebuild_ext, ecr_ext, sagemaker_ext

        codebuild_ext.install()
        sagemaker_ext.install()
        ecr_ext.install()
        _INSTALLED = True


def build_app() -> Any:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from .middleware import SandboxMiddleware

    return SandboxMiddleware(DomainDispatcherApplication(create_backend_app))


def _warm_up() -> None:
    """Import the backends and models the sandbox serves, off the request path."""
    try:
        install_extensions()
        import importlib

        for mod in ("codebuild", "ecr", "iam", "logs", "s3", "sts"):
            importlib.import_module(f"moto.{mod}.responses")

        from .validation import service_model

        for name in ("sagemaker", "codebuild", "s3", "iam", "sts", "logs", "ecr"):
            service_model(name).operation_names
    except Exception:  # warm-up is best effort
        pass


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        self.httpd = make_server(host, port, build_app(), threaded=True, request_handler=MotoRequestHandler)
        self.host = host
        self.port = self.httpd.server_port
        self.thread: threading.Thread | None = None
        self.warm: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SandboxServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="smk-sandbox", daemon=True)
        self.thread.start()
        self.wait_ready()
        self.warm = threading.Thread(target=_warm_up, name="smk-sandbox-warmup", daemon=True)
        self.warm.start()
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", "/_sandbox/health")
            resp = conn.getresponse()
            data = json.loads(resp.read())
            if resp.status != 200 or not data.get("ok"):
                raise RuntimeError(f"sandbox health check failed: {resp.status} {data}")
        finally:
            conn.close()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
        if self.warm is not None:
            self.warm.join(timeout=10)
