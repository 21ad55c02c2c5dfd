"""WSGI middleware in front of moto's server app.

- serves the /_sandbox/ control endpoints (reset, config, faults, requests);
- logs every AWS request (service, operation, params, status);
- injects latency, throttling and 5xx faults;
- validates SageMaker and CodeBuild requests against botocore's models;
- advances the sandbox's clocks (builds, statuses) before each request;
- turns anything moto would answer with an HTML page (unimplemented calls,
  crashes, unknown routes) into a proper AWS error body."""
from __future__ import annotations

import io
import json
import re
import sys
import time
import traceback
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, parse_qsl

from .errors import error_response, internal_code, protocol_of, throttle_code
from .state import SANDBOX, ControlError, now
from .validation import ValidationFailure, validate_json_request

VALIDATED_SERVICES = ("sagemaker", "codebuild")


def _extensions() -> tuple[Any, Any]:
    """The SageMaker/CodeBuild extensions, installed on first use (keeps start-up fast)."""
    from . import server

    server.install_extensions()
    from . import codebuild_ext, sagemaker_ext

    return codebuild_ext, sagemaker_ext
# S3 request headers logged as params (by their API member names): what SSE-KMS sends.
S3_PARAM_HEADERS = {
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
    "x-amz-server-side-encryption-bucket-key-enabled": "BucketKeyEnabled",
}
SCOPE_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


def _json(start_response: Callable[..., Any], status: int, obj: Any) -> list[bytes]:
    body = json.dumps(obj, default=str).encode()
    phrase = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "OK")
    start_response(f"{status} {phrase}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            body = stream.read(int(length))
        except ValueError:
            body = b""
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _service_and_region(environ: dict[str, Any]) -> tuple[str, str]:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = SCOPE_RE.search(auth)
    if m:
        return m.group(4).lower(), m.group(3)
    qs = parse_qs(environ.get("QUERY_STRING", ""))
    cred = (qs.get("X-Amz-Credential") or [""])[0]
    parts = cred.split("/")
    if len(parts) == 5:
        return parts[3].lower(), parts[2]
    return "unknown", "us-east-1"


def _rest_operation(environ: dict[str, Any], service: str) -> tuple[str, dict[str, Any]]:
    try:
        from moto.core.request import Request
        from moto.core.routing import get_service_router

        req = Request(dict(environ, **{"wsgi.input": io.BytesIO(b"")}))
        op, uri = get_service_router(service).match(req)
        return op.name, dict(uri)
    except Exception:
        return _s3_guess(environ) if service == "s3" else ("Unknown", {})


def _s3_guess(environ: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/").lstrip("/")
    bucket, _, key = path.partition("/")
    qs = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    params: dict[str, Any] = {}
    if bucket:
        params["Bucket"] = bucket
    if key:
        params["Key"] = key
    if not bucket:
        return "ListBuckets", params
    if not key:
        op = {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket",
              "GET": "ListObjectsV2" if "list-type" in qs else "ListObjects", "POST": "DeleteObjects"}.get(method, "Unknown")
        return op, params
    if method == "PUT":
        if "uploadId" in qs:
            return "UploadPart", params
        if environ.get("HTTP_X_AMZ_COPY_SOURCE"):
            return "CopyObject", params
        return "PutObject", params
    if method == "POST":
        if "uploads" in qs:
            return "CreateMultipartUpload", params
        if "uploadId" in qs:
            return "CompleteMultipartUpload", params
    if method == "DELETE":
        return ("AbortMultipartUpload" if "uploadId" in qs else "DeleteObject"), params
    if method == "HEAD":
        return "HeadObject", params
    if method == "GET":
        return ("ListParts" if "uploadId" in qs else "GetObject"), params
    return "Unknown", params


def describe_request(environ: dict[str, Any]) -> tuple[str, str, str, dict[str, Any], bytes | None]:
    """(service, region, operation, params, body-or-None)."""
    service, region = _service_and_region(environ)
    target = environ.get("HTTP_X_AMZ_TARGET")
    proto = protocol_of(service) if service != "unknown" else "json"
    if service == "s3" or proto in ("rest-xml", "rest-json"):
        op, params = _rest_operation(environ, service)
        qs = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        for k, v in qs.items():
            if not k.startswith("X-Amz-") and k != "x-id" and k not in params:
                params[k] = v
        if service == "s3":
            # the request headers that choose server-side encryption, under their API names
            for header, member in S3_PARAM_HEADERS.items():
                value = environ.get("HTTP_" + header.upper().replace("-", "_"))
                if value is not None:
                    params[member] = value
        body = None
        if service != "s3":
            body = _read_body(environ)
            try:
                extra = json.loads(body) if body.strip() else {}
                if isinstance(extra, dict):
                    params.update(extra)
            except ValueError:
                pass
        return service, region, op, params, body
    body = _read_body(environ)
    if target:
        op = target.rsplit(".", 1)[-1]
        try:
            params = json.loads(body) if body.strip() else {}
        except ValueError:
            params = {"_raw": body.decode("utf-8", "replace")}
        return service, region, op, params if isinstance(params, dict) else {"_body": params}, body
    form = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    ctype = environ.get("CONTENT_TYPE", "")
    if body and "x-www-form-urlencoded" in ctype:
        form.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    op = form.pop("Action", "Unknown")
    form.pop("Version", None)
    return service, region, op, form, body


class SandboxMiddleware:
    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app

    # ------------------------------------------------------------------ control
    def control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        what = environ.get("PATH_INFO", "")[len("/_sandbox/"):].strip("/")
        body = _read_body(environ)
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            return _json(start_response, 400, {"error": "body must be JSON"})
        try:
            if what == "reset" and method == "POST":
                with SANDBOX.lock:
                    reset_all()
                return _json(start_response, 200, {"reset": True})
            if what == "config":
                with SANDBOX.lock:
                    if method == "POST":
                        return _json(start_response, 200, SANDBOX.set_config(payload))
                    return _json(start_response, 200, dict(SANDBOX.config))
            if what == "faults":
                with SANDBOX.lock:
                    if method == "POST":
                        return _json(start_response, 200, SANDBOX.set_faults(payload))
                    return _json(start_response, 200, dict(SANDBOX.faults))
            if what == "requests":
                if method == "DELETE":
                    with SANDBOX.log_lock:
                        SANDBOX.requests.clear()
                    return _json(start_response, 200, [])
                qs = parse_qs(environ.get("QUERY_STRING", ""))
                with SANDBOX.log_lock:
                    items = list(SANDBOX.requests)
                if qs.get("service"):
                    items = [r for r in items if r["service"] in qs["service"]]
                return _json(start_response, 200, items)
            if what == "health":
                import moto

                return _json(start_response, 200, {"ok": True, "moto": moto.__version__})
        except ControlError as e:
            return _json(start_response, 400, {"error": str(e)})
        return _json(start_response, 404, {"error": f"unknown control endpoint {method} /_sandbox/{what}",
                                           "endpoints": ["POST reset", "GET|POST config", "GET|POST faults",
                                                         "GET|DELETE requests", "GET health"]})

    # ------------------------------------------------------------------ AWS
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_sandbox/") or path == "/_sandbox":
            return self.control(environ, start_response)
        if path.startswith("/moto-api"):
            out = self.app(environ, start_response)
            if path.rstrip("/") == "/moto-api/reset":
                with SANDBOX.lock:
                    SANDBOX.reset_local()
            return out

        codebuild_ext, sagemaker_ext = _extensions()
        service, region, operation, params, body = describe_request(environ)
        entry: dict[str, Any] = {
            "service": service, "operation": operation, "params": params, "status": None,
            "region": region, "method": environ.get("REQUEST_METHOD"), "path": path, "time": now(),
        }
        status_holder: dict[str, Any] = {}

        def finish(status_line: str, headers: list[tuple[str, str]], chunks: list[bytes]) -> list[bytes]:
            entry["status"] = int(status_line.split()[0])
            SANDBOX.log_request(entry)
            start_response(status_line, headers)
            return chunks

        latency = SANDBOX.fault("latency_ms")
        if latency:
            time.sleep(float(latency) / 1000.0)
        with SANDBOX.lock:
            throttle = SANDBOX.fault("throttle_rate") or 0
            error = SANDBOX.fault("error_rate") or 0
            r1 = SANDBOX.rng.random() if throttle else 1.0
            r2 = SANDBOX.rng.random() if error else 1.0
        if throttle and r1 < throttle:
            code, status, msg = throttle_code(service)
            sl, h, b = error_response(service, code, msg, status)
            entry["fault"] = "throttle"
            return finish(sl, h, [b])
        if error and r2 < error:
            code, msg = internal_code(service)
            sl, h, b = error_response(service, code, msg, 500)
            entry["fault"] = "error"
            return finish(sl, h, [b])

        if service in VALIDATED_SERVICES and body is not None and environ.get("HTTP_X_AMZ_TARGET"):
            try:
                validate_json_request(service, operation, body)
            except ValidationFailure as e:
                if e.code == "UnknownOperationException":
                    sl, h, b = error_response(service, "UnknownOperationException", "", 400)
                else:
                    sl, h, b = error_response(service, e.code, e.message, 400)
                return finish(sl, h, [b])

        def capture(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            status_holder["status"] = status_line
            status_holder["headers"] = headers
            return lambda data: status_holder.setdefault("written", []).append(data)

        with SANDBOX.lock:
            t = now()
            try:
                codebuild_ext.tick(t)
                sagemaker_ext.tick(t)
            except Exception:
                traceback.print_exc(file=sys.stderr)
            try:
                it = self.app(environ, capture)
                try:
                    chunks = status_holder.get("written", []) + [c for c in it]
                finally:
                    if hasattr(it, "close"):
                        it.close()
            except NotImplementedError as e:
                msg = (f"sm-kernel sandbox: {service} {operation} is not implemented by moto "
                       f"or the sandbox ({e})")
                print(msg, file=sys.stderr)
                sl, h, b = error_response(service, "NotImplemented", msg, 501)
                return finish(sl, h, [b])
            except Exception as e:
                traceback.print_exc(file=sys.stderr)
                code, _ = internal_code(service)
                sl, h, b = error_response(service, code, f"sm-kernel sandbox internal error in {operation}: {e!r}", 500)
                return finish(sl, h, [b])

        status_line = status_holder.get("status", "500 Internal Server Error")
        headers = status_holder.get("headers", [])
        ctype = next((v for k, v in headers if k.lower() == "content-type"), "")
        code = int(status_line.split()[0])
        if code >= 400 and "text/html" in ctype:
            # Flask/werkzeug HTML error page: never hand that to an SDK
            if code == 404:
                sl, h, b = error_response(service, "UnknownOperationException",
                                          f"sm-kernel sandbox: no route for {environ.get('REQUEST_METHOD')} {path}", 404)
            else:
                sl, h, b = error_response(service, "NotImplemented", f"sm-kernel sandbox: {operation} failed in moto", 501)
            return finish(sl, h, [b])
        return finish(status_line, headers, chunks)


def reset_all() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    SANDBOX.reset_local()
