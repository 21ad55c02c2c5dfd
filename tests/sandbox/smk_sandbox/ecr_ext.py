"""ECR fix-ups and image scanning for the sandbox.

- GetAuthorizationToken: moto's token says it expired in 2015; AWS's are valid for 12 hours.
- Image scans (basic scanning): a push into a repository whose imageScanningConfiguration
  has scanOnPush starts a scan of that image (any push: the docker simulator's and
  PutImage alike); StartImageScan starts one by hand (once a day per image, as AWS allows).
  A scan is IN_PROGRESS for `scan_seconds` (config), then COMPLETE with the findings of the
  `scan_findings` fault as it was when the scan started, or ends with the `scan_status`
  fault (FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE). DescribeImageScanFindings of an
  image without a scan is ScanNotFoundException, like AWS; its findings are paged
  (maxResults, nextToken)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.ecr.exceptions import LimitExceededException, ScanNotFoundException
from moto.ecr.models import ECRBackend
from moto.ecr.responses import ECRResponse

from .state import SANDBOX, SCAN_SEVERITIES, dt, now

_moto_get_authorization_token = ECRResponse.get_authorization_token
_moto_put_image = ECRBackend.put_image

# AWS lets an image be scanned once every 24 hours.
SCAN_QUOTA_SECONDS = 24 * 3600

END_DESCRIPTIONS = {
    "FAILED": "The scan failed (sandbox fault scan_status=FAILED).",
    "UNSUPPORTED_IMAGE": "UnsupportedImageError: The operating system and/or package manager are not supported.",
    "FINDINGS_UNAVAILABLE": "The findings are no longer available (sandbox fault scan_status=FINDINGS_UNAVAILABLE).",
}


@dataclass
class Scan:
    digest: str
    started: float
    seconds: float
    findings: list[dict[str, str]] = field(default_factory=list)
    end_status: str | None = None

    def status(self, t: float) -> str:
        if t < self.started + self.seconds:
            return "IN_PROGRESS"
        return self.end_status or "COMPLETE"


def get_authorization_token(self: ECRResponse) -> ActionResult:
    res = _moto_get_authorization_token(self)
    data: Any = res.result
    for item in data.get("authorizationData", []):
        item["expiresAt"] = datetime.now(timezone.utc) + timedelta(hours=12)
    return res


def _start(account: str, region: str, repo: str, digest: str) -> Scan:
    scan = Scan(
        digest=digest,
        started=now(),
        seconds=float(SANDBOX.config["scan_seconds"]),
        findings=[dict(f) for f in SANDBOX.fault("scan_findings") or []],
        end_status=SANDBOX.fault("scan_status"),
    )
    SANDBOX.region(account, region).scans[(repo, digest)] = scan
    return scan


def put_image(self: ECRBackend, repository_name: str, *args: Any, **kwargs: Any) -> Any:
    image = _moto_put_image(self, repository_name, *args, **kwargs)
    repo = self.repositories.get(repository_name)
    config = getattr(repo, "image_scanning_configuration", None) or {}
    if config.get("scanOnPush"):
        digest = image.get_image_digest()
        with SANDBOX.lock:
            if (repository_name, digest) not in SANDBOX.region(self.account_id, self.region_name).scans:
                _start(self.account_id, self.region_name, repository_name, digest)
    return image


def _image(self: ECRResponse) -> tuple[Any, Any, dict[str, Any]]:
    repo = self.ecr_backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    image_id = self._get_param("imageId") or {}
    image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
    return repo, image, image_id


def _image_id(image: Any) -> dict[str, str]:
    out = {"imageDigest": image.get_image_digest()}
    if image.image_tag:
        out["imageTag"] = image.image_tag
    return out


def start_image_scan(self: ECRResponse) -> ActionResult:
    repo, image, _ = _image(self)
    digest = image.get_image_digest()
    with SANDBOX.lock:
        old = SANDBOX.region(self.current_account, self.region).scans.get((repo.name, digest))
        if old is not None and now() - old.started < SCAN_QUOTA_SECONDS:
            raise LimitExceededException()
        _start(self.current_account, self.region, repo.name, digest)
    return ActionResult({
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageId": _image_id(image),
        "imageScanStatus": {"status": "IN_PROGRESS"},
    })


def _finding(f: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f["name"], "severity": f["severity"]}
    if f["name"].startswith("CVE-"):
        out["uri"] = f"https://cve.mitre.org/cgi-bin/cvename.cgi?name={f['name']}"
    if f.get("description"):
        out["description"] = f["description"]
    attributes = [{"key": k, "value": f[src]} for k, src in (("package_name", "package"), ("package_version", "version"))
                  if f.get(src)]
    if attributes:
        out["attributes"] = attributes
    return out


def describe_image_scan_findings(self: ECRResponse) -> ActionResult:
    repo, image, image_id = _image(self)
    digest = image.get_image_digest()
    with SANDBOX.lock:
        scan = SANDBOX.region(self.current_account, self.region).scans.get((repo.name, digest))
    if scan is None:
        shown = f"{{imageDigest:'{image_id.get('imageDigest') or 'null'}', imageTag:'{image_id.get('imageTag') or 'null'}'}}"
        raise ScanNotFoundException(image_id=shown, repository_name=repo.name, registry_id=repo.registry_id)
    status = scan.status(now())
    out: dict[str, Any] = {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "imageId": _image_id(image),
        "imageScanStatus": {"status": status},
    }
    if status == "IN_PROGRESS":
        return ActionResult(out)
    if status != "COMPLETE":
        out["imageScanStatus"]["description"] = END_DESCRIPTIONS[status]
        return ActionResult(out)
    out["imageScanStatus"]["description"] = "The scan was completed successfully."
    counts: dict[str, int] = {}
    for f in scan.findings:
        counts[f["severity"]] = counts.get(f["severity"], 0) + 1
    limit = int(self._get_param("maxResults") or 100)
    start = int(self._get_param("nextToken") or 0)
    page = scan.findings[start:start + limit]
    out["imageScanFindings"] = {
        "imageScanCompletedAt": dt(scan.started + scan.seconds),
        "vulnerabilitySourceUpdatedAt": dt(scan.started),
        "findingSeverityCounts": {s: counts[s] for s in SCAN_SEVERITIES if s in counts},
        "findings": [_finding(f) for f in page],
    }
    if start + limit < len(scan.findings):
        out["nextToken"] = str(start + limit)
    return ActionResult(out)


def install() -> None:
    ECRResponse.get_authorization_token = get_authorization_token  # type: ignore[method-assign]
    ECRResponse.start_image_scan = start_image_scan  # type: ignore[method-assign]
    ECRResponse.describe_image_scan_findings = describe_image_scan_findings  # type: ignore[method-assign]
    ECRBackend.put_image = put_image  # type: ignore[method-assign]
