"""SageMaker calls moto 5.2.5 lacks (images, image versions, app-image-configs,
UpdateDomain, apps, user profiles, spaces), added to moto's SageMakerResponse
so that moto's JSON parsing and botocore-model-driven serialisation stay in
the path.  Statuses move with time, computed lazily by `tick()`."""
from __future__ import annotations

import base64
import copy
import json
import random
import string
from typing import Any, Callable

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker.exceptions import (
    ResourceInUseException,
    ResourceNotFound,
    SagemakerClientError,
    ValidationError,
)
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from . import awsutil
from .state import SANDBOX, Region, dt, now


class ResourceLimitExceeded(SagemakerClientError):
    code = "ResourceLimitExceeded"

    def __init__(self, message: str):
        super().__init__(message)


class Rec:
    """A record with a status that may change at `until` to `next_status`."""

    def __init__(self, **kw: Any):
        self.until: float | None = None
        self.next_status: str | None = None
        self.created = now()
        self.modified = self.created
        self.__dict__.update(kw)

    def transition(self, status: str, seconds: float, then: str) -> None:
        self.status = status
        self.until = now() + seconds
        self.next_status = then
        self.modified = now()

    def due(self, t: float) -> bool:
        return self.until is not None and t >= self.until


def _p(self: SageMakerResponse) -> dict[str, Any]:
    try:
        p = json.loads(self.body or "{}")
    except ValueError:
        p = {}
    return p if isinstance(p, dict) else {}


def _reg(self: SageMakerResponse) -> Region:
    return SANDBOX.region(self.current_account, self.region)


def _arn(self: SageMakerResponse, kind: str, name: str) -> str:
    return f"arn:{awsutil.partition(self.region)}:sagemaker:{self.region}:{self.current_account}:{kind}/{name}"


def _page(items: list[Any], p: dict[str, Any], default_max: int = 10) -> tuple[list[Any], str | None]:
    start = 0
    token = p.get("NextToken")
    if token:
        try:
            start = int(base64.b64decode(token.encode()).decode().split(":", 1)[1])
        except Exception:
            raise ValidationError("Invalid pagination token because of an invalid request or an expired NextToken.")
    size = int(p.get("MaxResults") or default_max)
    page = items[start:start + size]
    nxt = start + size
    return page, (base64.b64encode(f"smk:{nxt}".encode()).decode() if nxt < len(items) else None)


def _ts(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    from dateutil import parser

    return parser.isoparse(str(v)).timestamp()


def _time_filter(items: list[Rec], p: dict[str, Any], created_keys: tuple[str, str], modified_keys: tuple[str, str]) -> list[Rec]:
    ca, cb = _ts(p.get(created_keys[0])), _ts(p.get(created_keys[1]))
    ma, mb = _ts(p.get(modified_keys[0])), _ts(p.get(modified_keys[1]))
    out = []
    for r in items:
        if ca is not None and not r.created > ca:
            continue
        if cb is not None and not r.created < cb:
            continue
        if ma is not None and not r.modified > ma:
            continue
        if mb is not None and not r.modified < mb:
            continue
        out.append(r)
    return out


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# ====================================================================== images
def _image(self: SageMakerResponse, name: str) -> Rec:
    img = _reg(self).images.get(name)
    if img is None:
        raise ResourceNotFound(f"Image {_arn(self, 'image', name)} does not exist.")
    return img


def create_image(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    name = p["ImageName"]
    reg = _reg(self)
    if name in reg.images:
        raise ResourceInUseException(f"The Image with ImageName {name} already exists. Please use a different ImageName.")
    role = p["RoleArn"]
    if awsutil.iam_role_by_arn(self.current_account, role) is None:
        raise ValidationError(
            f"Could not assume role {role}. Please ensure that the role exists and allows principal "
            "'sagemaker.amazonaws.com' to assume the role."
        )
    img = Rec(
        name=name, arn=_arn(self, "image", name), role_arn=role, display_name=p.get("DisplayName"),
        description=p.get("Description"), status="CREATING", failure_reason=None,
        tags=p.get("Tags") or [], versions={}, next_version=1, tokens={},
    )
    img.transition("CREATING", SANDBOX.config["image_seconds"], "CREATED")
    reg.images[name] = img
    return ActionResult({"ImageArn": img.arn})


def _image_dict(img: Rec) -> dict[str, Any]:
    return _clean({
        "CreationTime": dt(img.created),
        "Description": img.description,
        "DisplayName": img.display_name,
        "FailureReason": img.failure_reason,
        "ImageArn": img.arn,
        "ImageName": img.name,
        "ImageStatus": img.status,
        "LastModifiedTime": dt(img.modified),
        "RoleArn": img.role_arn,
    })


def describe_image(self: SageMakerResponse) -> ActionResult:
    return ActionResult(_image_dict(_image(self, _p(self)["ImageName"])))


def update_image(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    img = _image(self, p["ImageName"])
    if img.status not in ("CREATED", "UPDATE_FAILED"):
        raise ResourceInUseException(f"Image {img.arn} is in {img.status} status and cannot be updated.")
    props = p.get("DeleteProperties") or []
    for prop in props:
        if prop not in ("Description", "DisplayName"):
            raise ValidationError(f"Property {prop} cannot be deleted. Valid properties: Description, DisplayName.")
        if prop in p:
            raise ValidationError(f"Property {prop} cannot be both updated and deleted.")
    if "RoleArn" in p and awsutil.iam_role_by_arn(self.current_account, p["RoleArn"]) is None:
        raise ValidationError(f"Could not assume role {p['RoleArn']}. Please ensure that the role exists and allows "
                              "principal 'sagemaker.amazonaws.com' to assume the role.")
    if "Description" in props:
        img.description = None
    if "DisplayName" in props:
        img.display_name = None
    if "Description" in p:
        img.description = p["Description"]
    if "DisplayName" in p:
        img.display_name = p["DisplayName"]
    if "RoleArn" in p:
        img.role_arn = p["RoleArn"]
    img.transition("UPDATING", SANDBOX.config["image_seconds"], "CREATED")
    return ActionResult({"ImageArn": img.arn})


def delete_image(self: SageMakerResponse) -> EmptyResult:
    img = _image(self, _p(self)["ImageName"])
    if img.status in ("CREATING", "UPDATING"):
        raise ResourceInUseException(f"Image {img.arn} is in {img.status} status and cannot be deleted.")
    if img.status != "DELETING":
        img.transition("DELETING", SANDBOX.config["image_seconds"], "DELETED")
    return EmptyResult()


def list_images(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    items = list(_reg(self).images.values())
    if p.get("NameContains"):
        items = [i for i in items if p["NameContains"] in i.name]
    items = _time_filter(items, p, ("CreationTimeAfter", "CreationTimeBefore"), ("LastModifiedTimeAfter", "LastModifiedTimeBefore"))
    key = {"CREATION_TIME": lambda i: i.created, "LAST_MODIFIED_TIME": lambda i: i.modified,
           "IMAGE_NAME": lambda i: i.name}[p.get("SortBy") or "CREATION_TIME"]
    items.sort(key=key, reverse=(p.get("SortOrder") or "DESCENDING") == "DESCENDING")
    page, token = _page(items, p)
    return ActionResult(_clean({"Images": [_image_dict(i) for i in page], "NextToken": token}))


# ====================================================================== image versions
VERSION_PROPS = ("VendorGuidance", "JobType", "MLFramework", "ProgrammingLang", "Processor", "Horovod", "ReleaseNotes")


def create_image_version(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    img = _image(self, p["ImageName"])
    token = p["ClientToken"]
    if token in img.tokens and img.tokens[token] in img.versions:
        return ActionResult({"ImageVersionArn": img.versions[img.tokens[token]].arn})
    if img.status in ("DELETING", "CREATE_FAILED", "DELETE_FAILED"):
        raise ValidationError(f"Image {img.name} is in an invalid state.")
    if any(v.status == "CREATING" for v in img.versions.values()):
        raise ResourceInUseException(
            f"Image {img.arn} is being modified concurrently by another request. Please retry."
        )
    aliases = p.get("Aliases") or []
    for a in aliases:
        for v in img.versions.values():
            if a in v.aliases:
                raise ValidationError(f"Alias {a} is already associated with version {v.version} of image {img.name}.")
    n = img.next_version
    img.next_version += 1
    ver = Rec(
        image=img, version=n, arn=f"{_arn(self, 'image-version', img.name)}/{n}", base_image=p["BaseImage"],
        container_image=None, failure_reason=None, aliases=list(dict.fromkeys(aliases)),
        props={k: p[k] for k in VERSION_PROPS if k in p}, status="CREATING",
        fault=bool(SANDBOX.fault("image_version_fail")), account=self.current_account, region=self.region,
    )
    ver.transition("CREATING", SANDBOX.config["image_version_seconds"], "CREATED")
    img.versions[n] = ver
    img.tokens[token] = n
    return ActionResult({"ImageVersionArn": ver.arn})


def _resolve_version(ver: Rec) -> None:
    """CREATING -> CREATED | CREATE_FAILED, deciding from the sandbox ECR."""
    ver.until = None
    ver.modified = now()
    if ver.fault:
        ver.status = "CREATE_FAILED"
        ver.failure_reason = "sm-kernel sandbox fault image_version_fail: image version creation failed."
        return
    base = ver.base_image
    parsed = awsutil.parse_ecr_uri(base)
    if parsed is None:
        ver.status = "CREATE_FAILED"
        ver.failure_reason = (f"Image {base} is not a valid Amazon ECR image URI. BaseImage must be an ECR image "
                              "URI with a tag or a digest.")
        return
    repo = awsutil.ecr_repository(parsed["account"], parsed["region"], parsed["repo"])
    found = None
    if repo is not None:
        found = awsutil.ecr_find_image(parsed["account"], parsed["region"], parsed["repo"],
                                       tag=parsed["tag"] or "latest", digest=parsed["digest"] or None)
    if found is None:
        ver.status = "CREATE_FAILED"
        if repo is None:
            what = f"the repository '{parsed['repo']}' does not exist in the registry with id '{parsed['account']}'"
        elif parsed["digest"]:
            what = f"no image with digest '{parsed['digest']}' in repository '{parsed['repo']}'"
        else:
            what = f"no image with tag '{parsed['tag'] or 'latest'}' in repository '{parsed['repo']}'"
        ver.failure_reason = (f"Unable to access image {base}: {what}. Ensure the image exists in Amazon ECR and that "
                              f"role {ver.image.role_arn} is allowed to pull it.")
        return
    ver.status = "CREATED"
    ver.container_image = f"{parsed['registry']}/{parsed['repo']}@{found.get_image_digest()}"


def _version(self: SageMakerResponse, img: Rec, p: dict[str, Any], latest_ok: bool = True) -> Rec:
    if p.get("Version") is not None and p.get("Alias") is not None:
        raise ValidationError("Only one of Version or Alias can be specified.")
    live = {n: v for n, v in img.versions.items()}
    if p.get("Version") is not None:
        v = live.get(int(p["Version"]))
        if v is None:
            raise ResourceNotFound(f"ImageVersion with ImageName {img.name} and Version {p['Version']} does not exist.")
        return v
    if p.get("Alias") is not None:
        for v in live.values():
            if p["Alias"] in v.aliases:
                return v
        raise ResourceNotFound(f"ImageVersion with ImageName {img.name} and Alias {p['Alias']} does not exist.")
    if not latest_ok:
        raise ValidationError("Either Version or Alias must be specified.")
    if not live:
        raise ResourceNotFound(f"Latest ImageVersion with ImageName {img.name} does not exist. Please provide a valid ImageName.")
    return live[max(live)]


def _version_dict(v: Rec, full: bool) -> dict[str, Any]:
    d = {
        "CreationTime": dt(v.created),
        "FailureReason": v.failure_reason,
        "ImageArn": v.image.arn,
        "ImageVersionArn": v.arn,
        "ImageVersionStatus": v.status,
        "LastModifiedTime": dt(v.modified),
        "Version": v.version,
    }
    if full:
        d["BaseImage"] = v.base_image
        d["ContainerImage"] = v.container_image
        d.update(v.props)
    return _clean(d)


def describe_image_version(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    img = _image(self, p["ImageName"])
    return ActionResult(_version_dict(_version(self, img, p), True))


def list_image_versions(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    img = _image(self, p["ImageName"])
    items = list(img.versions.values())
    items = _time_filter(items, p, ("CreationTimeAfter", "CreationTimeBefore"), ("LastModifiedTimeAfter", "LastModifiedTimeBefore"))
    key = {"CREATION_TIME": lambda v: (v.created, v.version), "LAST_MODIFIED_TIME": lambda v: (v.modified, v.version),
           "VERSION": lambda v: v.version}[p.get("SortBy") or "CREATION_TIME"]
    items.sort(key=key, reverse=(p.get("SortOrder") or "DESCENDING") == "DESCENDING")
    page, token = _page(items, p)
    return ActionResult(_clean({"ImageVersions": [_version_dict(v, False) for v in page], "NextToken": token}))


def delete_image_version(self: SageMakerResponse) -> EmptyResult:
    p = _p(self)
    img = _image(self, p["ImageName"])
    v = _version(self, img, p, latest_ok=False)
    if v.status == "CREATING":
        raise ResourceInUseException(f"ImageVersion {v.arn} is in CREATING status and cannot be deleted.")
    if v.status != "DELETING":
        v.transition("DELETING", SANDBOX.config["image_version_seconds"], "DELETED")
    return EmptyResult()


def update_image_version(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    img = _image(self, p["ImageName"])
    v = _version(self, img, p, latest_ok=False)
    for a in p.get("AliasesToAdd") or []:
        for other in img.versions.values():
            if other is not v and a in other.aliases:
                raise ValidationError(f"Alias {a} is already associated with version {other.version} of image {img.name}.")
        if a not in v.aliases:
            v.aliases.append(a)
    for a in p.get("AliasesToDelete") or []:
        if a in v.aliases:
            v.aliases.remove(a)
    for k in VERSION_PROPS:
        if k in p:
            v.props[k] = p[k]
    v.modified = now()
    return ActionResult({"ImageVersionArn": v.arn})


def list_aliases(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    img = _image(self, p["ImageName"])
    if p.get("Version") is not None:
        v = img.versions.get(int(p["Version"]))
        if v is None:
            raise ResourceNotFound(f"ImageVersion with ImageName {img.name} and Version {p['Version']} does not exist.")
        aliases = list(v.aliases)
    else:
        aliases = [a for v in img.versions.values() for a in v.aliases]
    if p.get("Alias"):
        aliases = [a for a in aliases if a == p["Alias"]]
    page, token = _page(aliases, p)
    return ActionResult(_clean({"SageMakerImageVersionAliases": page, "NextToken": token}))


# ====================================================================== app image configs
AIC_KINDS = ("KernelGatewayImageConfig", "JupyterLabAppImageConfig", "CodeEditorAppImageConfig")
FS_DEFAULTS = {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}


def _normalise_aic(kind: str, cfg: dict[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg)
    fs = cfg.get("FileSystemConfig")
    if isinstance(fs, dict):
        cfg["FileSystemConfig"] = {**FS_DEFAULTS, **fs}
    if kind == "KernelGatewayImageConfig":
        names = [k.get("Name") for k in cfg.get("KernelSpecs") or []]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValidationError(f"KernelSpecs names must be unique; duplicated: {', '.join(sorted(dup))}")
    return cfg


def _aic(self: SageMakerResponse, name: str) -> Rec:
    a = _reg(self).app_image_configs.get(name)
    if a is None:
        raise ResourceNotFound(f"AppImageConfig {_arn(self, 'app-image-config', name)} does not exist.")
    return a


def create_app_image_config(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    name = p["AppImageConfigName"]
    reg = _reg(self)
    if name in reg.app_image_configs:
        raise ResourceInUseException(f"The ID or Name specified is already in use: AppImageConfig {name} already exists.")
    given = [k for k in AIC_KINDS if p.get(k) is not None]
    if len(given) > 1:
        raise ValidationError(f"Only one of {', '.join(AIC_KINDS)} can be specified; got {', '.join(given)}.")
    rec = Rec(name=name, arn=_arn(self, "app-image-config", name), configs={k: _normalise_aic(k, p[k]) for k in given},
              tags=p.get("Tags") or [])
    reg.app_image_configs[name] = rec
    return ActionResult({"AppImageConfigArn": rec.arn})


def _aic_dict(a: Rec) -> dict[str, Any]:
    d = {"AppImageConfigArn": a.arn, "AppImageConfigName": a.name, "CreationTime": dt(a.created),
         "LastModifiedTime": dt(a.modified)}
    d.update(copy.deepcopy(a.configs))
    return d


def describe_app_image_config(self: SageMakerResponse) -> ActionResult:
    return ActionResult(_aic_dict(_aic(self, _p(self)["AppImageConfigName"])))


def update_app_image_config(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    a = _aic(self, p["AppImageConfigName"])
    given = [k for k in AIC_KINDS if p.get(k) is not None]
    if len(given) > 1:
        raise ValidationError(f"Only one of {', '.join(AIC_KINDS)} can be specified; got {', '.join(given)}.")
    for k in given:
        others = [o for o in a.configs if o != k]
        if others:
            raise ValidationError(f"AppImageConfig {a.name} holds a {others[0]}; it cannot be changed to a {k}.")
        a.configs[k] = _normalise_aic(k, p[k])
    a.modified = now()
    return ActionResult({"AppImageConfigArn": a.arn})


def delete_app_image_config(self: SageMakerResponse) -> EmptyResult:
    name = _p(self)["AppImageConfigName"]
    _aic(self, name)
    del _reg(self).app_image_configs[name]
    return EmptyResult()


def list_app_image_configs(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    items = list(_reg(self).app_image_configs.values())
    if p.get("NameContains"):
        items = [a for a in items if p["NameContains"] in a.name]
    items = _time_filter(items, p, ("CreationTimeAfter", "CreationTimeBefore"), ("ModifiedTimeAfter", "ModifiedTimeBefore"))
    key = {"CreationTime": lambda a: a.created, "LastModifiedTime": lambda a: a.modified,
           "Name": lambda a: a.name}[p.get("SortBy") or "CreationTime"]
    items.sort(key=key, reverse=(p.get("SortOrder") or "Descending") == "Descending")
    page, token = _page(items, p)
    return ActionResult(_clean({"AppImageConfigs": [_aic_dict(a) for a in page], "NextToken": token}))


# ====================================================================== domains
APP_SETTINGS_TO_AIC = {
    "KernelGatewayAppSettings": "KernelGatewayImageConfig",
    "JupyterLabAppSettings": "JupyterLabAppImageConfig",
    "CodeEditorAppSettings": "CodeEditorAppImageConfig",
}


def _domain(self: SageMakerResponse, domain_id: str) -> Any:
    dom = self.sagemaker_backend.domains.get(domain_id)
    if dom is None:
        raise ResourceNotFound(f"Domain {_arn(self, 'domain', domain_id)} does not exist.")
    return dom


def _check_custom_images(self: SageMakerResponse, settings: dict[str, Any] | None, where: str) -> None:
    if not settings:
        return
    reg = _reg(self)
    total = 0
    for app_key, aic_kind in APP_SETTINGS_TO_AIC.items():
        app = settings.get(app_key) or {}
        images = app.get("CustomImages")
        if images is None:
            continue
        total += len(images)
        for ci in images:
            name = ci.get("ImageName")
            img = reg.images.get(name)
            if img is None or img.status == "DELETING":
                raise ResourceNotFound(f"Image {_arn(self, 'image', name)} does not exist.")
            vnum = ci.get("ImageVersionNumber")
            if vnum is not None:
                v = img.versions.get(int(vnum))
                if v is None or v.status != "CREATED":
                    raise ResourceNotFound(
                        f"ImageVersion with ImageName {name} and Version {vnum} does not exist or is not in CREATED status.")
            aic_name = ci.get("AppImageConfigName")
            aic = reg.app_image_configs.get(aic_name)
            if aic is None:
                raise ResourceNotFound(f"AppImageConfig {_arn(self, 'app-image-config', aic_name)} does not exist.")
            if aic_kind not in aic.configs:
                raise ValidationError(
                    f"AppImageConfig {aic_name} used in {where}.{app_key}.CustomImages does not have a {aic_kind}.")
    if total > 200:
        raise ResourceLimitExceeded(f"The number of custom images in {where} ({total}) exceeds the limit of 200.")


def _merge(old: Any, new: Any) -> Any:
    """AWS update semantics: a provided sub-structure replaces the old one member
    by member; lists (CustomImages, SecurityGroups...) are replaced whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = copy.deepcopy(old)
        for k, v in new.items():
            out[k] = _merge(old.get(k), v) if k in old else copy.deepcopy(v)
        return out
    return copy.deepcopy(new)


# Ids the next CreateDomain calls take, in order (the demo's fixed domain); normally empty.
NEXT_DOMAIN_IDS: list[str] = []


def _new_domain_id() -> str:
    if NEXT_DOMAIN_IDS:
        return NEXT_DOMAIN_IDS.pop(0)
    rnd = random.SystemRandom()
    return "d-" + "".join(rnd.choice(string.ascii_lowercase + string.digits) for _ in range(12))


_moto_create_domain = SageMakerResponse.create_domain


def create_domain(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    _check_custom_images(self, p.get("DefaultUserSettings"), "DefaultUserSettings")
    _check_custom_images(self, p.get("DefaultSpaceSettings"), "DefaultSpaceSettings")
    res = _moto_create_domain(self)
    backend = self.sagemaker_backend
    arn = res.result["DomainArn"]  # type: ignore[index]
    old_id = arn.rsplit("/", 1)[-1]
    dom = backend.domains.pop(old_id)
    dom.id = _new_domain_id()
    dom.arn = _arn(self, "domain", dom.id)
    dom.url = f"https://{dom.id}.studio.{self.region}.sagemaker.aws"
    dom.home_efs_file_system_id = "fs-" + dom.id[2:]
    dom.security_group_id_for_domain_boundary = "sg-" + dom.id[2:]
    dom.default_user_settings = dom.default_user_settings or {}
    backend.domains[dom.id] = dom
    dom.status = "Pending"
    _reg(self).domain_timers[dom.id] = (now() + SANDBOX.config["domain_update_seconds"], "InService")
    return ActionResult({"DomainArn": dom.arn, "DomainId": dom.id, "Url": dom.url})


def describe_domain(self: SageMakerResponse) -> ActionResult:
    dom = _domain(self, _p(self)["DomainId"])
    d = dom.describe()
    d["Url"] = dom.url
    if not d.get("FailureReason"):
        d.pop("FailureReason", None)
    if d.get("TagPropagation") is None and getattr(dom, "tag_propagation", None):
        d["TagPropagation"] = dom.tag_propagation
    return ActionResult(_clean(d))


def _inservice_apps(reg: Region, domain_id: str) -> list[Rec]:
    return [a for a in reg.apps.values() if a.domain_id == domain_id and a.status == "InService"]


def update_domain(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    dom = _domain(self, p["DomainId"])
    reg = _reg(self)
    if dom.status != "InService":
        raise ResourceInUseException(
            f"Domain {dom.arn} is in {dom.status} status. Wait until the domain is InService before updating it.")
    if _inservice_apps(reg, dom.id) or SANDBOX.fault("inservice_app"):
        raise ValidationError(
            f"Unable to update Domain {dom.id} with InService App. Delete all InService apps for the Domain and try again.")
    _check_custom_images(self, p.get("DefaultUserSettings"), "DefaultUserSettings")
    _check_custom_images(self, p.get("DefaultSpaceSettings"), "DefaultSpaceSettings")
    if p.get("AppNetworkAccessType") == "VpcOnly" and dom.app_network_access_type != "VpcOnly" and not (
            p.get("VpcId") or dom.vpc_id) :
        raise ValidationError("VpcId and Subnet IDs are required for updating domains to VpcOnly mode.")
    if "DefaultUserSettings" in p:
        dom.default_user_settings = _merge(dom.default_user_settings or {}, p["DefaultUserSettings"])
    if "DomainSettingsForUpdate" in p:
        upd = copy.deepcopy(p["DomainSettingsForUpdate"])
        if "RStudioServerProDomainSettingsForUpdate" in upd:
            upd["RStudioServerProDomainSettings"] = upd.pop("RStudioServerProDomainSettingsForUpdate")
        dom.domain_settings = _merge(dom.domain_settings or {}, upd)
    if "DefaultSpaceSettings" in p:
        dom.default_space_settings = _merge(dom.default_space_settings or {}, p["DefaultSpaceSettings"])
    if "AppSecurityGroupManagement" in p:
        dom.app_security_group_management = p["AppSecurityGroupManagement"]
    if "SubnetIds" in p:
        dom.subnet_ids = list(p["SubnetIds"])
    if "AppNetworkAccessType" in p:
        dom.app_network_access_type = p["AppNetworkAccessType"]
    if "VpcId" in p:
        dom.vpc_id = p["VpcId"]
    if "TagPropagation" in p:
        dom.tag_propagation = p["TagPropagation"]
    from moto.core.utils import utcnow

    dom.last_modified_time = utcnow()
    dom.status = "Updating"
    stuck = SANDBOX.fault("domain_stuck_seconds")
    seconds = float(stuck) if stuck is not None else SANDBOX.config["domain_update_seconds"]
    reg.domain_timers[dom.id] = (now() + seconds, "InService")
    return ActionResult({"DomainArn": dom.arn})


def delete_domain(self: SageMakerResponse) -> EmptyResult:
    p = _p(self)
    dom = _domain(self, p["DomainId"])
    reg = _reg(self)
    live_profiles = [k for k in reg.user_profiles if k[0] == dom.id]
    live_apps = [a for a in reg.apps.values() if a.domain_id == dom.id and a.status not in ("Deleted", "Failed")]
    if live_apps or live_profiles or [k for k in reg.spaces if k[0] == dom.id]:
        raise ResourceInUseException(
            f"Domain {dom.arn} has user profiles, spaces or apps; delete them before deleting the domain.")
    del self.sagemaker_backend.domains[dom.id]
    reg.domain_timers.pop(dom.id, None)
    return EmptyResult()


# ====================================================================== user profiles & spaces
def _profile(self: SageMakerResponse, domain_id: str, name: str) -> Rec:
    r = _reg(self).user_profiles.get((domain_id, name))
    if r is None:
        raise ResourceNotFound(f"User profile {_arn(self, 'user-profile', domain_id + '/' + name)} does not exist.")
    return r


def create_user_profile(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    dom = _domain(self, p["DomainId"])
    reg = _reg(self)
    key = (dom.id, p["UserProfileName"])
    if key in reg.user_profiles:
        raise ResourceInUseException(f"Resource Already Exists: User profile {p['UserProfileName']} already exists "
                                     f"in domain {dom.id}.")
    _check_custom_images(self, p.get("UserSettings"), "UserSettings")
    rec = Rec(domain_id=dom.id, name=p["UserProfileName"], arn=_arn(self, "user-profile", f"{dom.id}/{p['UserProfileName']}"),
              settings=copy.deepcopy(p.get("UserSettings") or {}), status="InService",
              uid=200000 + len(reg.user_profiles), sso_id=p.get("SingleSignOnUserIdentifier"),
              sso_value=p.get("SingleSignOnUserValue"))
    reg.user_profiles[key] = rec
    return ActionResult({"UserProfileArn": rec.arn})


def describe_user_profile(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    r = _profile(self, p["DomainId"], p["UserProfileName"])
    return ActionResult(_clean({
        "DomainId": r.domain_id, "UserProfileArn": r.arn, "UserProfileName": r.name, "HomeEfsFileSystemUid": str(r.uid),
        "Status": r.status, "LastModifiedTime": dt(r.modified), "CreationTime": dt(r.created),
        "SingleSignOnUserIdentifier": r.sso_id, "SingleSignOnUserValue": r.sso_value,
        "UserSettings": copy.deepcopy(r.settings),
    }))


def update_user_profile(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    _domain(self, p["DomainId"])
    r = _profile(self, p["DomainId"], p["UserProfileName"])
    if r.status != "InService":
        raise ResourceInUseException(f"User profile {r.arn} is in {r.status} status. Wait until it is InService.")
    _check_custom_images(self, p.get("UserSettings"), "UserSettings")
    if "UserSettings" in p:
        r.settings = _merge(r.settings or {}, p["UserSettings"])
    stuck = SANDBOX.fault("domain_stuck_seconds")
    r.transition("Updating", float(stuck) if stuck is not None else SANDBOX.config["domain_update_seconds"], "InService")
    return ActionResult({"UserProfileArn": r.arn})


def delete_user_profile(self: SageMakerResponse) -> EmptyResult:
    p = _p(self)
    r = _profile(self, p["DomainId"], p["UserProfileName"])
    reg = _reg(self)
    if [a for a in reg.apps.values() if a.domain_id == r.domain_id and a.owner == ("user", r.name)
            and a.status not in ("Deleted", "Failed")]:
        raise ResourceInUseException(f"User profile {r.arn} has apps; delete them before deleting the user profile.")
    del reg.user_profiles[(r.domain_id, r.name)]
    return EmptyResult()


def list_user_profiles(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    items = list(_reg(self).user_profiles.values())
    if p.get("DomainIdEquals"):
        items = [r for r in items if r.domain_id == p["DomainIdEquals"]]
    if p.get("UserProfileNameContains"):
        items = [r for r in items if p["UserProfileNameContains"] in r.name]
    key = {"CreationTime": lambda r: r.created, "LastModifiedTime": lambda r: r.modified}[p.get("SortBy") or "CreationTime"]
    items.sort(key=key, reverse=(p.get("SortOrder") or "Descending") == "Descending")
    page, token = _page(items, p)
    return ActionResult(_clean({"UserProfiles": [
        {"DomainId": r.domain_id, "UserProfileName": r.name, "Status": r.status,
         "CreationTime": dt(r.created), "LastModifiedTime": dt(r.modified)} for r in page], "NextToken": token}))


def create_space(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    dom = _domain(self, p["DomainId"])
    reg = _reg(self)
    key = (dom.id, p["SpaceName"])
    if key in reg.spaces:
        raise ResourceInUseException(f"Resource Already Exists: Space {p['SpaceName']} already exists in domain {dom.id}.")
    own, share = p.get("OwnershipSettings"), p.get("SpaceSharingSettings")
    if bool(own) != bool(share):
        raise ValidationError("OwnershipSettings and SpaceSharingSettings must be specified together.")
    settings = p.get("SpaceSettings") or {}
    if own:
        _profile(self, dom.id, own["OwnerUserProfileName"])
        if not settings.get("AppType"):
            raise ValidationError("SpaceSettings.AppType is required for a space with OwnershipSettings.")
    app_type = settings.get("AppType")
    if app_type and app_type not in ("JupyterLab", "CodeEditor"):
        raise ValidationError(f"SpaceSettings.AppType {app_type} is not supported for spaces; "
                              "supported: JupyterLab, CodeEditor.")
    _check_custom_images(self, settings, "SpaceSettings")
    rec = Rec(domain_id=dom.id, name=p["SpaceName"], arn=_arn(self, "space", f"{dom.id}/{p['SpaceName']}"),
              settings=copy.deepcopy(settings), status="Pending",
              display_name=p.get("SpaceDisplayName"), ownership=own, sharing=share,
              uid=300000 + len(reg.spaces))
    rec.transition("Pending", SANDBOX.config["app_seconds"], "InService")
    reg.spaces[key] = rec
    return ActionResult({"SpaceArn": rec.arn})


def _space(self: SageMakerResponse, domain_id: str, name: str) -> Rec:
    r = _reg(self).spaces.get((domain_id, name))
    if r is None:
        raise ResourceNotFound(f"Space {_arn(self, 'space', domain_id + '/' + name)} does not exist.")
    return r


def describe_space(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    r = _space(self, p["DomainId"], p["SpaceName"])
    return ActionResult(_clean({
        "DomainId": r.domain_id, "SpaceArn": r.arn, "SpaceName": r.name, "Status": r.status,
        "HomeEfsFileSystemUid": str(r.uid),
        "CreationTime": dt(r.created), "LastModifiedTime": dt(r.modified), "SpaceSettings": r.settings,
        "SpaceDisplayName": r.display_name, "OwnershipSettings": r.ownership, "SpaceSharingSettings": r.sharing,
    }))


def delete_space(self: SageMakerResponse) -> EmptyResult:
    p = _p(self)
    r = _space(self, p["DomainId"], p["SpaceName"])
    reg = _reg(self)
    if [a for a in reg.apps.values() if a.domain_id == r.domain_id and a.owner == ("space", r.name)
            and a.status not in ("Deleted", "Failed")]:
        raise ResourceInUseException(f"Space {r.arn} has apps; delete them before deleting the space.")
    if r.status in ("Pending", "Updating"):
        raise ResourceInUseException(f"Space {r.arn} is in {r.status} status and cannot be deleted yet.")
    if r.status != "Deleting":
        r.transition("Deleting", SANDBOX.config["app_seconds"], "Deleted")
    return EmptyResult()


def list_spaces(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    items = list(_reg(self).spaces.values())
    if p.get("DomainIdEquals"):
        items = [r for r in items if r.domain_id == p["DomainIdEquals"]]
    if p.get("SpaceNameContains"):
        items = [r for r in items if p["SpaceNameContains"] in r.name]
    items.sort(key=lambda r: r.created, reverse=(p.get("SortOrder") or "Descending") == "Descending")
    page, token = _page(items, p)
    return ActionResult(_clean({"Spaces": [
        _clean({"DomainId": r.domain_id, "SpaceName": r.name, "Status": r.status, "CreationTime": dt(r.created),
                "LastModifiedTime": dt(r.modified), "SpaceDisplayName": r.display_name,
                "SpaceSettingsSummary": _clean({"AppType": r.settings.get("AppType")}) or None,
                "SpaceSharingSettingsSummary": r.sharing,
                "OwnershipSettingsSummary": r.ownership}) for r in page], "NextToken": token}))


# ====================================================================== apps
def _owner(p: dict[str, Any]) -> tuple[str, str]:
    u, s = p.get("UserProfileName"), p.get("SpaceName")
    if bool(u) == bool(s):
        raise ValidationError("Exactly one of UserProfileName or SpaceName must be specified.")
    return ("user", u) if u else ("space", s)


def _app_key(domain_id: str, owner: tuple[str, str], app_type: str, name: str) -> tuple[str, str, str, str, str]:
    return (domain_id, owner[0], owner[1], app_type, name)


def create_app(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    dom = _domain(self, p["DomainId"])
    owner = _owner(p)
    if owner[0] == "user":
        _profile(self, dom.id, owner[1])
    else:
        space = _space(self, dom.id, owner[1])
        if space.status != "InService":
            raise ResourceInUseException(f"Space {space.arn} is in {space.status} status; wait until it is InService.")
        space_type = (space.settings or {}).get("AppType")
        if space_type and space_type != p["AppType"]:
            raise ValidationError(f"App type {p['AppType']} does not match the space's AppType {space_type}.")
    _check_resource_spec(self, p.get("ResourceSpec"))
    reg = _reg(self)
    key = _app_key(dom.id, owner, p["AppType"], p["AppName"])
    existing = reg.apps.get(key)
    if existing is not None and existing.status not in ("Deleted", "Failed"):
        raise ResourceInUseException(f"App {existing.arn} already exists with status {existing.status}.")
    arn = _arn(self, "app", f"{dom.id}/{owner[1]}/{p['AppType'].lower()}/{p['AppName']}")
    app = Rec(domain_id=dom.id, owner=owner, app_type=p["AppType"], name=p["AppName"], arn=arn,
              resource_spec=p.get("ResourceSpec"), status="Pending", failure_reason=None,
              fail_with=_app_fault_reason())
    app.transition("Pending", SANDBOX.config["app_seconds"], "Failed" if app.fail_with else "InService")
    reg.apps[key] = app
    return ActionResult({"AppArn": arn})


APP_FAULT_DEFAULT = ("The application failed to start: InternalFailure. Check the image's kernel and the "
                     "app-image-config's FileSystemConfig (sm-kernel sandbox fault app_fail).")


def _app_fault_reason() -> str | None:
    v = SANDBOX.fault("app_fail")
    if not v:
        return None
    return v if isinstance(v, str) else APP_FAULT_DEFAULT


def _check_resource_spec(self: SageMakerResponse, spec: dict[str, Any] | None) -> None:
    """A custom image named in ResourceSpec must exist (by image ARN, version ARN or alias)."""
    if not spec:
        return
    reg = _reg(self)
    ver_arn, img_arn = spec.get("SageMakerImageVersionArn"), spec.get("SageMakerImageArn")
    if ver_arn:
        name, _, num = ver_arn.split("image-version/", 1)[-1].partition("/")
        img = reg.images.get(name)
        if img is None or not num.isdigit() or int(num) not in img.versions:
            raise ResourceNotFound(f"ImageVersion {ver_arn} does not exist.")
        return
    if img_arn:
        name = img_arn.split("image/", 1)[-1]
        img = reg.images.get(name)
        if img is None:
            raise ResourceNotFound(f"Image {img_arn} does not exist.")
        alias = spec.get("SageMakerImageVersionAlias")
        if alias and not any(alias in v.aliases for v in img.versions.values()):
            raise ResourceNotFound(f"ImageVersion with ImageName {name} and Alias {alias} does not exist.")


def _app(self: SageMakerResponse, p: dict[str, Any]) -> Rec:
    owner = _owner(p)
    key = _app_key(p["DomainId"], owner, p["AppType"], p["AppName"])
    app = _reg(self).apps.get(key)
    if app is None:
        arn = _arn(self, "app", f"{p['DomainId']}/{owner[1]}/{p['AppType'].lower()}/{p['AppName']}")
        raise ResourceNotFound(f"App {arn} does not exist.")
    return app


def _app_dict(a: Rec) -> dict[str, Any]:
    return _clean({
        "AppArn": a.arn, "DomainId": a.domain_id, "AppType": a.app_type, "AppName": a.name, "Status": a.status,
        "UserProfileName": a.owner[1] if a.owner[0] == "user" else None,
        "SpaceName": a.owner[1] if a.owner[0] == "space" else None,
        "CreationTime": dt(a.created), "ResourceSpec": a.resource_spec, "FailureReason": a.failure_reason,
        "LastHealthCheckTimestamp": dt(a.modified) if a.status == "InService" else None,
    })


def describe_app(self: SageMakerResponse) -> ActionResult:
    return ActionResult(_app_dict(_app(self, _p(self))))


def delete_app(self: SageMakerResponse) -> EmptyResult:
    app = _app(self, _p(self))
    if app.status in ("Deleted", "Deleting"):
        raise ResourceInUseException(f"App {app.arn} is already {app.status}.") if app.status == "Deleting" else \
            ResourceNotFound(f"App {app.arn} does not exist.")
    if app.status == "Pending":
        raise ResourceInUseException(f"App {app.arn} is in Pending status and cannot be deleted yet.")
    app.transition("Deleting", SANDBOX.config["app_seconds"], "Deleted")
    return EmptyResult()


def list_apps(self: SageMakerResponse) -> ActionResult:
    p = _p(self)
    items = list(_reg(self).apps.values())
    if p.get("DomainIdEquals"):
        items = [a for a in items if a.domain_id == p["DomainIdEquals"]]
    if p.get("UserProfileNameEquals"):
        items = [a for a in items if a.owner == ("user", p["UserProfileNameEquals"])]
    if p.get("SpaceNameEquals"):
        items = [a for a in items if a.owner == ("space", p["SpaceNameEquals"])]
    items.sort(key=lambda a: a.created, reverse=(p.get("SortOrder") or "Descending") == "Descending")
    page, token = _page(items, p)
    return ActionResult(_clean({"Apps": [_app_dict(a) for a in page], "NextToken": token}))


# ====================================================================== time
def tick(t: float) -> None:
    for (account, region), reg in list(SANDBOX.regions.items()):
        for name, img in list(reg.images.items()):
            if img.due(t):
                img.status, img.until = img.next_status, None
                if img.status == "DELETED":
                    del reg.images[name]
                    continue
            for n, ver in list(img.versions.items()):
                if not ver.due(t):
                    continue
                if ver.status == "CREATING":
                    _resolve_version(ver)
                elif ver.status == "DELETING":
                    del img.versions[n]
                else:
                    ver.status, ver.until = ver.next_status, None
        for rec in list(reg.user_profiles.values()):
            if rec.due(t):
                rec.status, rec.until = rec.next_status, None
        for key, rec in list(reg.spaces.items()):
            if rec.due(t):
                rec.status, rec.until = rec.next_status, None
                rec.modified = t
                if rec.status == "Deleted":
                    del reg.spaces[key]
        for app in reg.apps.values():
            if app.due(t):
                app.status, app.until = app.next_status, None
                app.modified = t
                if app.status == "Failed":
                    app.failure_reason = app.fail_with
        if reg.domain_timers:
            try:
                domains = sagemaker_backends[account][region].domains
            except Exception:
                continue
            for did, (until, status) in list(reg.domain_timers.items()):
                if t >= until:
                    dom = domains.get(did)
                    if dom is not None:
                        dom.status = status
                    del reg.domain_timers[did]


def install() -> None:
    handlers: dict[str, Callable[..., Any]] = {
        "create_image": create_image, "describe_image": describe_image, "update_image": update_image,
        "delete_image": delete_image, "list_images": list_images,
        "create_image_version": create_image_version, "describe_image_version": describe_image_version,
        "list_image_versions": list_image_versions, "delete_image_version": delete_image_version,
        "update_image_version": update_image_version, "list_aliases": list_aliases,
        "create_app_image_config": create_app_image_config, "describe_app_image_config": describe_app_image_config,
        "update_app_image_config": update_app_image_config, "delete_app_image_config": delete_app_image_config,
        "list_app_image_configs": list_app_image_configs,
        "create_domain": create_domain, "describe_domain": describe_domain, "update_domain": update_domain,
        "delete_domain": delete_domain,
        "create_user_profile": create_user_profile, "describe_user_profile": describe_user_profile,
        "update_user_profile": update_user_profile, "delete_user_profile": delete_user_profile,
        "list_user_profiles": list_user_profiles,
        "create_space": create_space, "describe_space": describe_space, "delete_space": delete_space,
        "list_spaces": list_spaces,
        "create_app": create_app, "describe_app": describe_app, "delete_app": delete_app, "list_apps": list_apps,
    }
    for name, fn in handlers.items():
        setattr(SageMakerResponse, name, fn)
