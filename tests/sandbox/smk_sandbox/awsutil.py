"""Access to moto's own backends (S3, ECR, IAM, CloudWatch Logs, SSM) from the
sandbox extensions.  Everything the sandbox reads or writes lives in moto."""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

ECR_REGISTRY_RE = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
ECR_URI_RE = re.compile(
    r"^(?P<registry>(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?)"
    r"/(?P<repo>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


# ---------------------------------------------------------------- S3
def s3_get(account: str, bucket: str, key: str) -> tuple[bytes | None, str]:
    """Returns (bytes, "") or (None, error code)."""
    from moto.s3.models import s3_backends

    backend = s3_backends[account]["aws"]
    try:
        b = backend.get_bucket(bucket)
    except Exception:
        b = None
    if b is None:
        return None, "NoSuchBucket"
    try:
        obj = backend.get_object(bucket, key)
    except Exception:
        obj = None
    if obj is None:
        return None, "NoSuchKey"
    return obj.value, ""


# ---------------------------------------------------------------- IAM
def iam_role_by_arn(account: str, arn: str) -> Any:
    from moto.iam.models import iam_backends

    m = re.match(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(.+)$", arn or "")
    if not m:
        return None
    backend = iam_backends[m.group(2)][m.group(1)]
    for role in backend.get_roles():
        if role.arn == arn:
            return role
    return None


def role_trusts(role: Any, service: str) -> bool:
    doc = role.assume_role_policy_document
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            try:
                doc = json.loads(unquote(doc))
            except ValueError:
                return False
    stmts = doc.get("Statement", []) if isinstance(doc, dict) else []
    if isinstance(stmts, dict):
        stmts = [stmts]
    for st in stmts:
        if st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = st.get("Principal", {})
        if principal == "*":
            return True
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        if service in services:
            return True
    return False


# ---------------------------------------------------------------- ECR
def ecr_backend(account: str, region: str) -> Any:
    from moto.ecr.models import ecr_backends

    return ecr_backends[account][region]


def ecr_repository(account: str, region: str, repo: str) -> Any:
    backend = ecr_backend(account, region)
    r = backend.repositories.get(repo)
    if r is None or r.registry_id != account:
        return None
    return r


def ecr_find_image(account: str, region: str, repo: str, tag: str | None = None, digest: str | None = None) -> Any:
    r = ecr_repository(account, region, repo)
    if r is None:
        return None
    for img in r.images:
        if digest and img.get_image_digest() == digest:
            return img
        if tag and not digest and tag in (img.image_tags or []):
            return img
    return None


def ecr_tag_conflict(account: str, region: str, repo: str, tag: str, digest: str) -> str | None:
    r = ecr_repository(account, region, repo)
    if r is None:
        return None
    existing = ecr_find_image(account, region, repo, tag=tag)
    if existing is None or existing.get_image_digest() == digest:
        return None
    if str(r.image_tag_mutability).upper().startswith("IMMUTABLE"):
        return (
            f"tag invalid: The image tag '{tag}' already exists in the '{repo}' repository "
            "and cannot be overwritten because the repository is immutable."
        )
    return None


def ecr_put(account: str, region: str, repo: str, tag: str, manifest: str, digest: str) -> None:
    backend = ecr_backend(account, region)
    existing = ecr_find_image(account, region, repo, tag=tag)
    if existing is not None and existing.get_image_digest() == digest:
        return  # same image, same tag: nothing to do (docker says "Layer already exists")
    same = ecr_find_image(account, region, repo, digest=digest)
    if same is not None:
        # add the tag to the existing manifest (re-tag)
        backend.put_image(repo, same.image_manifest, tag, same.image_manifest_media_type)
        return
    backend.put_image(
        repo,
        manifest,
        tag,
        "application/vnd.docker.distribution.manifest.v2+json",
        digest,
    )


def parse_ecr_uri(uri: str) -> dict[str, str] | None:
    m = ECR_URI_RE.match(uri or "")
    if not m:
        return None
    return {k: (v or "") for k, v in m.groupdict().items()}


# ---------------------------------------------------------------- Logs
def logs_backend(account: str, region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def ensure_log_stream(account: str, region: str, group: str, stream: str) -> None:
    backend = logs_backend(account, region)
    if group not in backend.groups:
        backend.create_log_group(group, {})
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)


def put_log_events(account: str, region: str, group: str, stream: str, events: list[dict[str, Any]]) -> None:
    if not events:
        return
    backend = logs_backend(account, region)
    if group not in backend.groups or stream not in backend.groups[group].streams:
        # somebody deleted the group/stream under a running build: AWS recreates nothing
        return
    backend.put_log_events(group, stream, events)


# ---------------------------------------------------------------- SSM / Secrets Manager
def ssm_parameter(account: str, region: str, name: str) -> str | None:
    try:
        from moto.ssm.models import ssm_backends

        p = ssm_backends[account][region].get_parameter(name)
        if p is None:
            return None
        return p.decrypt(p.value)  # CodeBuild hands builds the decrypted value
    except Exception:
        return None


def secret_value(account: str, region: str, ref: str) -> str | None:
    if ref.startswith("arn:"):  # arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key…]
        parts = ref.split(":")
        secret_id, json_key = ":".join(parts[:7]), ":".join(parts[7:])
    else:
        secret_id, _, json_key = ref.partition(":")
    try:
        from moto.secretsmanager.models import secretsmanager_backends

        v = secretsmanager_backends[account][region].get_secret_value(secret_id, None, None)
        s = v.get("SecretString") if isinstance(v, dict) else None
        if s is None:
            return None
        if json_key:
            return str(json.loads(s).get(json_key.split(":")[0]))
        return s
    except Exception:
        return None
