"""AWS error bodies in the wire protocol of the service called."""
from __future__ import annotations

import json
import uuid
from http import HTTPStatus
from xml.sax.saxutils import escape

from .validation import service_model

QUERY_NS = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}


def protocol_of(service: str) -> str:
    if service == "s3":
        return "rest-xml"
    try:
        return service_model(service).metadata.get("protocol", "json")
    except Exception:
        return "json"


def throttle_code(service: str) -> tuple[str, int, str]:
    """(code, http status, message) AWS uses when it throttles this service."""
    proto = protocol_of(service)
    if service == "s3":
        return "SlowDown", 503, "Please reduce your request rate."
    if proto in ("query", "ec2"):
        return "Throttling", 400, "Rate exceeded"
    return "ThrottlingException", 400, "Rate exceeded"


def internal_code(service: str) -> tuple[str, str]:
    proto = protocol_of(service)
    if service == "s3":
        return "InternalError", "We encountered an internal error. Please try again."
    if proto in ("query", "ec2"):
        return "ServiceFailure", "The request processing has failed because of an unknown error, exception or failure."
    return "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."


def error_response(service: str, code: str, message: str, status: int) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    proto = protocol_of(service)
    status_line = f"{status} {HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else 'Error'}"
    if service == "s3" or proto == "rest-xml":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif proto in ("query", "ec2"):
        ns = QUERY_NS.get(service, f"https://{service}.amazonaws.com/doc/")
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        ctype = "application/json" if proto == "rest-json" else "application/x-amz-json-1.1"
        headers = [("Content-Type", ctype), ("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", code)]
    headers.append(("Content-Length", str(len(body))))
    return status_line, headers, body
