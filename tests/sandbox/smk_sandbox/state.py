"""Sandbox-wide state: configuration, faults, the request log, and the
records the extensions keep next to moto's backends (per account+region)."""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

DEFAULT_CONFIG: dict[str, float] = {
    "build_seconds": 6.0,
    "image_seconds": 0.5,
    "image_version_seconds": 1.0,
    "domain_update_seconds": 1.0,
    "app_seconds": 1.0,
    "scan_seconds": 2.0,
}

FAULT_KEYS = (
    "build_fail_phase",
    "image_version_fail",
    "domain_stuck_seconds",
    "inservice_app",
    "app_fail",
    "throttle_rate",
    "error_rate",
    "latency_ms",
    "scan_findings",
    "scan_status",
)

# ECR's severities, most severe first, and the ends of a scan other than COMPLETE.
SCAN_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")
SCAN_END_STATUSES = ("FAILED", "UNSUPPORTED_IMAGE", "FINDINGS_UNAVAILABLE")
SCAN_FINDING_KEYS = ("name", "severity", "package", "version", "description")

FAILABLE_PHASES = (
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
)


def now() -> float:
    return time.time()


def dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


class ControlError(Exception):
    pass


def _scan_findings(v: Any) -> list[dict[str, str]]:
    """The `scan_findings` fault: a list of {"name", "severity", "package"?, "version"?,
    "description"?}, severities as ECR spells them (any case)."""
    if not isinstance(v, list):
        raise ControlError("scan_findings must be a list of {\"name\", \"severity\", \"package\", \"version\"}")
    out = []
    for i, f in enumerate(v):
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
            raise ControlError(f"scan_findings[{i}] needs a non-empty \"name\" (e.g. CVE-2024-0001)")
        extra = set(f) - set(SCAN_FINDING_KEYS)
        if extra:
            raise ControlError(f"scan_findings[{i}]: unknown keys {sorted(extra)}; known: {list(SCAN_FINDING_KEYS)}")
        sev = str(f.get("severity", "")).upper()
        if sev not in SCAN_SEVERITIES:
            raise ControlError(f"scan_findings[{i}].severity must be one of {list(SCAN_SEVERITIES)}")
        if any(not isinstance(f[k], str) for k in ("package", "version", "description") if k in f):
            raise ControlError(f"scan_findings[{i}]: package, version and description are strings")
        out.append(dict(f, severity=sev))
    return out


@dataclass
class Region:
    account: str
    region: str
    images: dict[str, Any] = field(default_factory=dict)
    app_image_configs: dict[str, Any] = field(default_factory=dict)
    apps: dict[tuple[str, str, str, str, str], Any] = field(default_factory=dict)
    user_profiles: dict[tuple[str, str], Any] = field(default_factory=dict)
    spaces: dict[tuple[str, str], Any] = field(default_factory=dict)
    builds: dict[str, Any] = field(default_factory=dict)
    build_numbers: dict[str, int] = field(default_factory=dict)
    domain_timers: dict[str, tuple[float, str]] = field(default_factory=dict)
    # ECR image scans by (repository, image digest)
    scans: dict[tuple[str, str], Any] = field(default_factory=dict)


class Sandbox:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.log_lock = threading.Lock()
        self.rng = random.Random()
        self.reset_local()

    def reset_local(self) -> None:
        self.config: dict[str, float] = dict(DEFAULT_CONFIG)
        self.faults: dict[str, Any] = {}
        self.requests: list[dict[str, Any]] = []
        self.regions: dict[tuple[str, str], Region] = {}

    def region(self, account: str, region: str) -> Region:
        key = (account, region)
        r = self.regions.get(key)
        if r is None:
            r = self.regions[key] = Region(account, region)
        return r

    # ---------------------------------------------------------------- control
    def set_config(self, body: dict[str, Any]) -> dict[str, float]:
        if not isinstance(body, dict):
            raise ControlError("config must be a JSON object")
        new = dict(self.config)
        for k, v in body.items():
            if k not in DEFAULT_CONFIG:
                raise ControlError(f"unknown config key {k!r}; known: {sorted(DEFAULT_CONFIG)}")
            if v is None:
                new[k] = DEFAULT_CONFIG[k]
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ControlError(f"{k} must be a non-negative number")
            new[k] = float(v)
        self.config = new
        return dict(self.config)

    def set_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ControlError("faults must be a JSON object")
        new = dict(self.faults)
        for k, v in body.items():
            if k == "seed":
                self.rng.seed(v)
                continue
            if k not in FAULT_KEYS:
                raise ControlError(f"unknown fault {k!r}; known: {list(FAULT_KEYS)}")
            if v is None or v is False:
                new.pop(k, None)
                continue
            if k == "build_fail_phase":
                if v not in FAILABLE_PHASES:
                    raise ControlError(f"build_fail_phase must be one of {list(FAILABLE_PHASES)}")
            elif k == "app_fail":
                if v is not True and not (isinstance(v, str) and v):
                    raise ControlError("app_fail must be true, a non-empty FailureReason string, false or null")
            elif k in ("image_version_fail", "inservice_app"):
                if v is not True:
                    raise ControlError(f"{k} must be true, false or null")
            elif k == "scan_status":
                if v not in SCAN_END_STATUSES:
                    raise ControlError(f"scan_status must be one of {list(SCAN_END_STATUSES)}, false or null")
            elif k == "scan_findings":
                v = _scan_findings(v)
            elif k in ("throttle_rate", "error_rate"):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                    raise ControlError(f"{k} must be a number between 0 and 1")
            else:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                    raise ControlError(f"{k} must be a non-negative number")
            new[k] = v
        self.faults = new
        return dict(self.faults)

    def fault(self, key: str) -> Any:
        return self.faults.get(key)

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.log_lock:
            self.requests.append(entry)


SANDBOX = Sandbox()
