"""ECR image scans: scan on push, StartImageScan, findings from the scan_findings fault,
scan_status endings, paging, and the faults' validation."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import wait_for
from test_sagemaker_images import err, push_image

FINDINGS = [
    {"name": "CVE-2024-0001", "severity": "CRITICAL", "package": "openssl", "version": "3.0.2"},
    {"name": "CVE-2024-0002", "severity": "medium", "description": "zlib overflow"},
]


def scan_of(sb, repo: str, digest: str, **kw):
    return sb.client("ecr").describe_image_scan_findings(repositoryName=repo, imageId={"imageDigest": digest}, **kw)


def finished(sb, repo: str, digest: str):
    return wait_for(lambda: scan_of(sb, repo, digest), lambda r: r["imageScanStatus"]["status"] != "IN_PROGRESS",
                    timeout=20)


def test_a_push_into_a_scan_on_push_repository_is_scanned_with_the_injected_findings(sandbox):
    sandbox.config(scan_seconds=1.5)
    sandbox.faults(scan_findings=FINDINGS)
    sandbox.client("ecr").create_repository(repositoryName="scanned",
                                            imageScanningConfiguration={"scanOnPush": True})
    digest = push_image(sandbox, "scanned", "t1")
    first = scan_of(sandbox, "scanned", digest)
    assert first["imageScanStatus"]["status"] == "IN_PROGRESS"
    assert "imageScanFindings" not in first
    done = finished(sandbox, "scanned", digest)
    assert done["imageScanStatus"]["status"] == "COMPLETE"
    assert done["imageId"] == {"imageDigest": digest, "imageTag": "t1"}
    f = done["imageScanFindings"]
    assert f["findingSeverityCounts"] == {"CRITICAL": 1, "MEDIUM": 1}
    assert f["findings"][0] == {
        "name": "CVE-2024-0001", "severity": "CRITICAL",
        "uri": "https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-2024-0001",
        "attributes": [{"key": "package_name", "value": "openssl"}, {"key": "package_version", "value": "3.0.2"}],
    }
    assert f["findings"][1]["description"] == "zlib overflow" and "attributes" not in f["findings"][1]
    # the fault is captured when the scan starts: turning it off later changes nothing
    sandbox.faults(scan_findings=None)
    assert scan_of(sandbox, "scanned", digest)["imageScanFindings"]["findingSeverityCounts"] == {
        "CRITICAL": 1, "MEDIUM": 1}


def test_without_scan_on_push_there_is_no_scan_until_start_image_scan(sandbox):
    sandbox.config(scan_seconds=0.2)
    digest = push_image(sandbox, "plain", "t1")  # created without imageScanningConfiguration
    with pytest.raises(ClientError) as e:
        scan_of(sandbox, "plain", digest)
    code, message, status = err(e)
    assert (code, status) == ("ScanNotFoundException", 400)
    assert "repository with name 'plain'" in message
    ecr = sandbox.client("ecr")
    started = ecr.start_image_scan(repositoryName="plain", imageId={"imageDigest": digest})
    assert started["imageScanStatus"] == {"status": "IN_PROGRESS"}
    done = finished(sandbox, "plain", digest)
    assert done["imageScanStatus"]["status"] == "COMPLETE"
    assert done["imageScanFindings"]["findingSeverityCounts"] == {}
    assert done["imageScanFindings"]["findings"] == []
    with pytest.raises(ClientError) as e:
        ecr.start_image_scan(repositoryName="plain", imageId={"imageDigest": digest})
    assert err(e)[0] == "LimitExceededException"
    with pytest.raises(ClientError) as e:
        ecr.start_image_scan(repositoryName="plain", imageId={"imageDigest": "sha256:" + "0" * 64})
    assert err(e)[0] == "ImageNotFoundException"


@pytest.mark.parametrize("ending", ["FAILED", "UNSUPPORTED_IMAGE", "FINDINGS_UNAVAILABLE"])
def test_the_scan_status_fault_ends_a_scan_without_findings(sandbox, ending):
    sandbox.config(scan_seconds=0.2)
    sandbox.faults(scan_status=ending, scan_findings=FINDINGS)
    sandbox.client("ecr").create_repository(repositoryName="ends", imageScanningConfiguration={"scanOnPush": True})
    digest = push_image(sandbox, "ends", "t1")
    done = finished(sandbox, "ends", digest)
    assert done["imageScanStatus"]["status"] == ending
    assert done["imageScanStatus"]["description"]
    assert "imageScanFindings" not in done


def test_findings_are_paged_and_the_counts_are_on_every_page(sandbox):
    sandbox.config(scan_seconds=0)
    many = [{"name": f"CVE-2024-{i:04d}", "severity": "LOW"} for i in range(5)]
    sandbox.faults(scan_findings=many)
    sandbox.client("ecr").create_repository(repositoryName="paged", imageScanningConfiguration={"scanOnPush": True})
    digest = push_image(sandbox, "paged", "t1")
    names, token, pages = [], None, 0
    while True:
        kw = {"maxResults": 2, **({"nextToken": token} if token else {})}
        page = scan_of(sandbox, "paged", digest, **kw)
        pages += 1
        assert page["imageScanFindings"]["findingSeverityCounts"] == {"LOW": 5}
        names += [f["name"] for f in page["imageScanFindings"]["findings"]]
        token = page.get("nextToken")
        if not token:
            break
    assert pages == 3 and names == [f["name"] for f in many]


def test_scan_faults_and_config_are_validated(sandbox):
    for bad in ({"scan_findings": [{"name": "CVE-1", "severity": "SEVERE"}]},
                {"scan_findings": [{"severity": "HIGH"}]},
                {"scan_findings": [{"name": "CVE-1", "severity": "HIGH", "pkg": "x"}]},
                {"scan_findings": "CVE-1"},
                {"scan_status": "COMPLETE"}):
        status, body = sandbox.call("POST", "/_sandbox/faults", bad)
        assert status == 400, (bad, body)
    got = sandbox.faults(scan_findings=[{"name": "CVE-1", "severity": "high"}], scan_status="FAILED")
    assert got == {"scan_findings": [{"name": "CVE-1", "severity": "HIGH"}], "scan_status": "FAILED"}
    assert sandbox.config(scan_seconds=3)["scan_seconds"] == 3
    assert sandbox.call("POST", "/_sandbox/config", {"scan_seconds": -1})[0] == 400
