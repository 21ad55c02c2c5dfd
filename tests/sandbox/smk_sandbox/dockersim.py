"""Simulated docker CLI for sandbox builds.

`docker build` reads the Dockerfile from the uploaded zip and prints
BuildKit-style progress for its steps; no step is run.  `docker push` to a
sandbox ECR registry stores a deterministic manifest whose digest is derived
from the source zip and the build inputs (same source, same digest)."""
from __future__ import annotations

import hashlib
import json
import posixpath
import re
from dataclasses import dataclass, field
from fnmatch import fnmatch
from typing import Any, Callable

from . import awsutil
from .imagefacts import ImageFacts, facts_for

DAEMON_DOWN = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"

VALUE_OPTS = {
    "-f", "--file", "-t", "--tag", "--build-arg", "--platform", "--target", "--label", "--progress",
    "--network", "--cache-from", "--cache-to", "--secret", "--ssh", "--iidfile", "--output", "-o",
    "--add-host", "--shm-size", "-m", "--memory", "--ulimit", "--builder", "--metadata-file",
    "--build-context", "--attest", "--provenance", "--sbom", "--annotation", "--cgroup-parent",
    "--isolation", "--memory-swap", "--cpu-shares", "-c", "--cpuset-cpus", "--allow",
}


def _h(*parts: Any) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def parse_ref(ref: str) -> tuple[str, str, str, str]:
    """(registry, repository, tag, digest) with docker's defaults."""
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "docker.io", ref
        if "/" not in path:
            path = "library/" + path
    tag = ""
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    if not tag and not digest:
        tag = "latest"
    return registry, path, tag, digest


def canonical(ref: str) -> str:
    registry, repo, tag, digest = parse_ref(ref)
    return f"{registry}/{repo}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def display_name(ref: str) -> str:
    registry, repo, tag, digest = parse_ref(ref)
    return f"{registry}/{repo}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


@dataclass
class LocalImage:
    image_id: str
    manifest: str
    digest: str
    layers: list[tuple[str, int]]
    platform: str
    repo_digests: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    facts: ImageFacts | None = None


def make_image(seed: str, n_layers: int, platform: str) -> LocalImage:
    os_, _, arch = platform.partition("/")
    layers = []
    for i in range(max(1, n_layers)):
        d = _h(seed, "layer", i)
        layers.append(("sha256:" + d, 1000 + int(d[:6], 16) % 50_000_000))
    config = {
        "architecture": arch or "amd64",
        "os": os_ or "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + _h(seed, "diff", i) for i in range(len(layers))]},
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "created": "1980-01-01T00:00:00Z",
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config_bytes),
                "digest": config_digest,
            },
            "layers": [
                {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": s, "digest": d}
                for d, s in layers
            ],
        },
        indent=3,
    )
    digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    return LocalImage(config_digest, manifest, digest, layers, platform)


def _dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[tuple[str, str]] = []
    buf = ""
    for line in lines:
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        parts = buf.split(None, 1)
        out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
        buf = ""
    if buf.strip():
        parts = buf.split(None, 1)
        out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
    return out


def _expand_args(text: str, args: dict[str, str]) -> str:
    def rep(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        default = m.group(2)
        val = args.get(name)
        if (val is None or val == "") and default is not None:
            return default
        return val or ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)", rep, text)


CACHE_KEYS_ANNOTATION = "org.sm-kernel.sandbox.cache-keys"


def _cache_ref(spec: str) -> str:
    """The ref of a `type=registry,ref=…[,mode=…]` cache spec ('' for other types)."""
    fields = dict(f.partition("=")[::2] for f in spec.split(","))
    if fields.get("type", "registry") != "registry":
        return ""
    return fields.get("ref", "")


class BuildFailed(Exception):
    pass


class DockerSim:
    def __init__(
        self,
        daemon: bool,
        source_seed: str,
        emit_action: Callable[[Callable[[], None]], None],
        default_platform: str = "linux/amd64",
        account: str = "",
    ):
        self.account = account
        self.daemon = daemon
        self.source_seed = source_seed
        self.emit_action = emit_action
        self.default_platform = default_platform
        self.images: dict[str, LocalImage] = {}  # canonical ref -> image
        self.logins: set[str] = set()
        self.step = 0

    # ------------------------------------------------------------------
    def run(self, argv: list[str], stdin: list[str], out: list[str], err: list[str], sh: Any) -> int:
        args = argv[1:]
        # global options
        while args and args[0].startswith("-") and args[0] not in ("--version", "-v"):
            if args[0] in ("-H", "--host", "--config", "--context", "-l", "--log-level"):
                args = args[2:]
            else:
                args = args[1:]
        if not args:
            out.append("Usage:  docker [OPTIONS] COMMAND")
            return 0
        sub = args[0]
        if sub in ("--version", "-v"):
            out.append("Docker version 26.1.4, build 5650f9b")
            return 0
        if sub == "buildx":
            if len(args) > 1 and args[1] in ("build", "b"):
                return self._guard(err) or self.build(args[2:], out, err, sh, buildx=True)
            if len(args) > 1 and args[1] == "create":
                name = next((args[i + 1] for i in range(len(args) - 1) if args[i] == "--name"), "builder-0")
                out.append(name)
            return 0
        if sub == "image" and len(args) > 1:
            sub, args = args[1], args[1:]
            if sub == "ls":
                sub = "images"
        handler = {
            "build": lambda: self.build(args[1:], out, err, sh),
            "run": lambda: self.run_container(args[1:], out, err),
            "push": lambda: self.push(args[1:], out, err),
            "tag": lambda: self.tag(args[1:], out, err),
            "login": lambda: self.login(args[1:], stdin, out, err),
            "logout": lambda: 0,
            "pull": lambda: self.pull(args[1:], out, err),
            "inspect": lambda: self.inspect(args[1:], out, err),
            "images": lambda: self.list_images(out),
            "version": lambda: self.version(out),
            "info": lambda: self.info(out),
        }.get(sub)
        if handler is None:
            return self._guard(err) or 0
        if sub != "version":
            g = self._guard(err)
            if g:
                return g
        return handler()

    def _guard(self, err: list[str]) -> int:
        if not self.daemon:
            err.append(DAEMON_DOWN)
            return 1
        return 0

    def version(self, out: list[str]) -> int:
        out += ["Client:", " Version:           26.1.4", " API version:       1.45", " OS/Arch:           linux/amd64"]
        if self.daemon:
            out += ["", "Server:", " Engine:", "  Version:          26.1.4", "  OS/Arch:          linux/amd64"]
            return 0
        out.append(DAEMON_DOWN)
        return 1

    def info(self, out: list[str]) -> int:
        out += ["Client:", " Version:    26.1.4", " Context:    default", "", "Server:",
                f" Images: {len(self.images)}", " Server Version: 26.1.4", " Storage Driver: overlay2",
                " Architecture: x86_64"]
        return 0

    # ------------------------------------------------------------------ build
    def build(self, args: list[str], out: list[str], err: list[str], sh: Any, buildx: bool = False) -> int:
        opts: dict[str, list[str]] = {}
        flags: set[str] = set()
        pos: list[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            if a.startswith("--") and "=" in a:
                k, _, v = a.partition("=")
                opts.setdefault(k, []).append(v)
            elif a in VALUE_OPTS:
                if i + 1 >= len(args):
                    err.append(f"flag needs an argument: {a}")
                    return 125
                opts.setdefault(a, []).append(args[i + 1])
                i += 1
            elif a.startswith("-") and a != "-":
                flags.add(a)
            else:
                pos.append(a)
            i += 1
        cmdname = "docker buildx build" if buildx else "docker build"
        if len(pos) != 1:
            err.append(f'ERROR: "{cmdname}" requires exactly 1 argument.')
            err.append(f"See '{cmdname} --help'.")
            return 1
        context = pos[0]
        tags = opts.get("-t", []) + opts.get("--tag", [])
        for t in tags:
            try:
                reg, repo, tag, dig = parse_ref(t)
                if dig or not re.fullmatch(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*", repo):
                    raise ValueError
            except ValueError:
                err.append(f'ERROR: invalid tag "{t}": invalid reference format')
                return 1
        build_args: dict[str, str] = {}
        for ba in opts.get("--build-arg", []):
            k, eq, v = ba.partition("=")
            build_args[k] = v if eq else sh.env.get(k, "")
        platform = (opts.get("--platform") or [self.default_platform])[-1]
        target = (opts.get("--target") or [""])[-1]
        dockerfile_opt = (opts.get("-f") or opts.get("--file") or [""])[-1]
        ctx_rel = sh.rel(context) if context not in ("-",) and "://" not in context else None
        if dockerfile_opt:
            df_path = dockerfile_opt
            df_rel = sh.rel(df_path)
        else:
            df_path = posixpath.join(context, "Dockerfile")
            df_rel = sh.rel(df_path)
        df_name = posixpath.basename(dockerfile_opt or "Dockerfile")
        out.append('#0 building with "default" instance using docker driver')
        out.append("")
        self.step = 1
        content = sh.files.get(df_rel) if df_rel is not None else None
        out.append(f"#1 [internal] load build definition from {df_name}")
        if content is None:
            out.append("#1 transferring dockerfile: 2B done")
            out.append("#1 DONE 0.0s")
            err.append(f"ERROR: failed to solve: failed to read dockerfile: open {df_name}: no such file or directory")
            return 1
        out.append(f"#1 transferring dockerfile: {len(content)}B done")
        out.append("#1 DONE 0.0s")
        out.append("")
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            err.append("ERROR: failed to solve: dockerfile parse error: invalid UTF-8")
            return 1
        instrs = _dockerfile_instructions(text)
        if not any(k == "FROM" for k, _ in instrs):
            err.append(f"ERROR: failed to solve: failed to parse {df_name}: no build stage in current context")
            return 1
        # stages
        global_args: dict[str, str] = {}
        stages: list[dict[str, Any]] = []
        for k, v in instrs:
            if k == "ARG" and not stages:
                name, eq, default = v.partition("=")
                global_args[name.strip()] = build_args.get(name.strip(), default.strip().strip('"') if eq else "")
                continue
            if k == "FROM":
                parts = v.split()
                parts = [p for p in parts if not p.startswith("--platform")]
                image = _expand_args(parts[0], {**global_args, **build_args}) if parts else ""
                alias = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else ""
                stages.append({"from": image, "alias": alias, "steps": [], "name": alias or f"stage-{len(stages)}"})
                continue
            if stages and k in ("RUN", "COPY", "ADD", "WORKDIR"):
                stages[-1]["steps"].append((k, v))
        if target:
            names = [s["alias"] for s in stages]
            if target not in names:
                err.append(f'ERROR: failed to solve: target stage "{target}" could not be found')
                return 1
            stages = stages[: names.index(target) + 1]
        aliases = {s["alias"] for s in stages if s["alias"]}
        externals = []
        for s in stages:
            if s["from"] not in aliases and s["from"] != "scratch" and s["from"] not in externals:
                externals.append(s["from"])
        # ECR base images need a login to their registry; the sandbox's own must exist
        for base in externals:
            p = awsutil.parse_ecr_uri(base)
            if p is None:
                try:
                    r, repo, t, d = parse_ref(base)
                    if r.endswith(".amazonaws.com"):
                        raise ValueError
                except ValueError:
                    err.append(f"ERROR: failed to solve: {base}: invalid reference format")
                    return 1
                continue
            if p["registry"] not in self.logins:
                ref = p["digest"] or p["tag"] or "latest"
                err.append(
                    f"ERROR: failed to solve: {base}: failed to resolve source metadata for {base}: "
                    f"unexpected status from HEAD request to https://{p['registry']}/v2/{p['repo']}/manifests/{ref}: "
                    "401 Unauthorized"
                )
                return 1
            if self.account and p["account"] != self.account:
                continue  # another account's image (e.g. AWS Deep Learning Containers): assumed to exist
            if awsutil.ecr_find_image(p["account"], p["region"], p["repo"], tag=p["tag"] or "latest", digest=p["digest"] or None) is None:
                err.append(
                    f"ERROR: failed to solve: {base}: failed to resolve source metadata for {base}: "
                    f"{base}: not found"
                )
                return 1
        n = 2
        for base in externals:
            out.append(f"#{n} [internal] load metadata for {display_name(base)}")
            out.append(f"#{n} DONE {0.4 + (int(_h(base)[:2], 16) % 10) / 10:.1f}s")
            out.append("")
            n += 1
        out.append(f"#{n} [internal] load .dockerignore")
        di = sh.files.get(((ctx_rel + "/") if ctx_rel else "") + ".dockerignore") if ctx_rel is not None else None
        out.append(f"#{n} transferring context: {len(di) if di else 2}B done")
        out.append(f"#{n} DONE 0.0s")
        out.append("")
        n += 1
        prefix = (ctx_rel + "/") if ctx_rel else ""
        ctx_files = {f[len(prefix):]: b for f, b in sh.files.items() if ctx_rel is not None and f.startswith(prefix)}
        ctx_bytes = sum(len(b) for b in ctx_files.values())
        ctx_hash = _h(*sorted((f, hashlib.sha256(b).hexdigest()) for f, b in ctx_files.items()))
        cached: set[str] = set()
        for spec in opts.get("--cache-from", []):
            ref = _cache_ref(spec)
            if not ref:
                continue
            out.append(f"#{n} importing cache manifest from {ref}")
            keys, problem = self._import_cache(ref)
            if keys is None:
                out.append(f"#{n} ERROR: failed to configure registry cache importer: {problem}")
            else:
                cached |= keys
                out.append(f"#{n} DONE 0.1s")
            out.append("")
            n += 1
        step_keys: list[str] = []
        multi = len(stages) > 1
        total_layers = 0
        need_ctx = True
        for s in stages:
            steps = s["steps"]
            total = len(steps) + 1
            label = (s["name"] + " ") if multi else ""
            base = s["from"]
            if base in aliases:
                pass
            elif base == "scratch":
                pass
            else:
                bd = _h("base", base)
                out.append(f"#{n} [{label}1/{total}] FROM {display_name(base)}@sha256:{bd}")
                out.append(f"#{n} resolve {display_name(base)}@sha256:{bd} done")
                out.append(f"#{n} DONE 0.0s")
                out.append("")
                n += 1
                total_layers += 2
            for idx, (k, v) in enumerate(steps, start=2):
                if k in ("COPY", "ADD") and "--from" not in v and need_ctx:
                    out.append(f"#{n} [internal] load build context")
                    out.append(f"#{n} transferring context: {ctx_bytes}B done")
                    out.append(f"#{n} DONE 0.0s")
                    out.append("")
                    n += 1
                    need_ctx = False
                if k in ("COPY", "ADD") and "--from" not in v:
                    missing = self._missing_sources(v, ctx_files)
                    if missing:
                        out.append(f"#{n} [{label}{idx}/{total}] {k} {v}")
                        out.append(f"#{n} ERROR: failed to calculate checksum of ref: \"/{missing}\": not found")
                        err.append(
                            f'ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref: "/{missing}": not found'
                        )
                        return 1
                out.append(f"#{n} [{label}{idx}/{total}] {k} {v}")
                # BuildKit's cache key: the step, its parent's key, and for COPY/ADD the context
                key = _h(step_keys[-1] if step_keys and idx > 2 else _h("from", base, platform), k, v,
                         ctx_hash if k in ("COPY", "ADD") else "", sorted(build_args.items()))
                step_keys.append(key)
                if key in cached:
                    out.append(f"#{n} CACHED")
                else:
                    secs = (int(_h(self.source_seed, k, v)[:4], 16) % 300) / 10 if k == "RUN" else 0.1
                    out.append(f"#{n} DONE {secs:.1f}s")
                out.append("")
                n += 1
                if k != "WORKDIR":
                    total_layers += 1
        facts = facts_for(instrs, build_args, target)
        platform = facts.platform or platform
        seed = _h(self.source_seed, text, sorted(build_args.items()), platform, target)
        img = make_image(seed, total_layers, platform)
        img.facts = facts
        out.append(f"#{n} exporting to image")
        out.append(f"#{n} exporting layers {0.2 + total_layers / 10:.1f}s done")
        out.append(f"#{n} writing image {img.image_id} done")
        for t in tags:
            out.append(f"#{n} naming to {display_name(t)} done")
        out.append(f"#{n} DONE {0.3 + total_layers / 10:.1f}s")
        for spec in opts.get("--cache-to", []):
            ref = _cache_ref(spec)
            if not ref:
                continue
            n += 1
            out.append("")
            st = self._export_cache(ref, step_keys, n, out, err)
            if st:
                return st
        for t in tags:
            key = canonical(t)
            prev = self.images.get(key)
            if prev is not None and key in prev.tags:
                prev.tags.remove(key)
            self.images[key] = img
            img.tags.append(key)
        self.images[img.image_id] = img
        if "--push" in flags or any(o.startswith("type=registry") or "push=true" in o for o in opts.get("--output", []) + opts.get("-o", [])):
            for t in tags:
                st = self.push([t], out, err)
                if st:
                    return st
        return 0

    def _import_cache(self, ref: str) -> tuple[set[str] | None, str]:
        """The step keys stored in a registry cache manifest, or (None, why not)."""
        p = awsutil.parse_ecr_uri(ref)
        if p is None:
            return None, f"{ref}: not found"
        if p["registry"] not in self.logins:
            return None, f"unexpected status from HEAD request to https://{p['registry']}/v2/{p['repo']}/manifests/{p['tag']}: 401 Unauthorized"
        found = awsutil.ecr_find_image(p["account"], p["region"], p["repo"], tag=p["tag"] or "latest")
        if found is None:
            return None, f"{ref}: not found"
        try:
            keys = json.loads(found.image_manifest).get("annotations", {}).get(CACHE_KEYS_ANNOTATION, "")
        except ValueError:
            keys = ""
        return set(filter(None, keys.split(","))), ""

    def _export_cache(self, ref: str, keys: list[str], n: int, out: list[str], err: list[str]) -> int:
        """`--cache-to type=registry`: a cache manifest (its layers are the steps' keys) put at
        the cache tag, like BuildKit's image-manifest=true export."""
        out.append(f"#{n} exporting cache to registry")
        out.append(f"#{n} preparing build cache for export")
        p = awsutil.parse_ecr_uri(ref)
        if p is None or not p["tag"]:
            err.append(f"ERROR: failed to solve: failed to push {ref}: invalid reference format")
            return 1
        if p["registry"] not in self.logins:
            err.append(f"ERROR: failed to solve: failed to push {ref}: 401 Unauthorized")
            return 1
        if awsutil.ecr_repository(p["account"], p["region"], p["repo"]) is None:
            err.append(f"ERROR: failed to solve: failed to push {ref}: name unknown: The repository with name "
                       f"'{p['repo']}' does not exist in the registry with id '{p['account']}'")
            return 1
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.buildkit.cacheconfig.v0", "size": 2 + 70 * len(keys),
                       "digest": "sha256:" + _h("cacheconfig", *keys)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 1000,
                        "digest": "sha256:" + k} for k in keys],
            "annotations": {CACHE_KEYS_ANNOTATION: ",".join(keys)},
        }, indent=3)
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        conflict = awsutil.ecr_tag_conflict(p["account"], p["region"], p["repo"], p["tag"], digest)
        if conflict:
            err.append(f"ERROR: failed to solve: failed to push {ref}: {conflict}")
            return 1
        out.append(f"#{n} writing cache manifest {digest} done")
        out.append(f"#{n} DONE 0.4s")
        account, region, repo, tag = p["account"], p["region"], p["repo"], p["tag"]
        self.emit_action(lambda: awsutil.ecr_put(account, region, repo, tag, manifest, digest))
        return 0

    @staticmethod
    def _missing_sources(v: str, ctx_files: dict[str, bytes]) -> str | None:
        words = v.split()
        words = [w for w in words if not w.startswith("--")]
        if v.strip().startswith("["):
            try:
                words = json.loads(v.strip()[v.strip().index("["):])
            except ValueError:
                return None
        srcs = words[:-1]
        for src in srcs:
            s = posixpath.normpath(src.lstrip("./") or ".") if src not in (".", "./") else "."
            if s == "." or src.startswith("http://") or src.startswith("https://"):
                continue
            if any(ch in s for ch in "*?["):
                if not any(fnmatch(f, s) or fnmatch(f.split("/")[0], s) for f in ctx_files):
                    return s
                continue
            if s in ctx_files or any(f.startswith(s + "/") for f in ctx_files):
                continue
            return s
        return None

    # ------------------------------------------------------------------ run
    RUN_VALUE_OPTS = {"--network", "--entrypoint", "-u", "--user", "-e", "--env", "--platform", "-w", "--workdir",
                      "--name", "-v", "--volume", "--mount"}

    def run_container(self, args: list[str], out: list[str], err: list[str]) -> int:
        """`docker run` of a locally built image: answers the commands sm-kernel's in-image
        checks run from the facts its Dockerfile declares (see imagefacts); runs nothing."""
        opts: dict[str, str] = {}
        i = 0
        while i < len(args) and args[i].startswith("-"):
            a = args[i]
            if "=" in a and a.startswith("--"):
                k, _, v = a.partition("=")
                opts[k] = v
            elif a in self.RUN_VALUE_OPTS and i + 1 < len(args):
                opts[a] = args[i + 1]
                i += 1
            i += 1
        if i >= len(args):
            err.append('"docker run" requires at least 1 argument.')
            return 1
        ref, cmd = args[i], args[i + 1:]
        img = self._find(ref)
        if img is None:
            err.append(f"Unable to find image '{ref}' locally")
            err.append("docker: Error response from daemon: pull access denied or repository does not exist.")
            return 125
        f = img.facts or ImageFacts()
        entry = opts.get("--entrypoint")
        if entry is None:
            return 0  # the image's own entrypoint is never simulated
        if f.user_error:
            err.append(f"docker: Error response from daemon: {f.user_error}.")
            return 126
        if not f.has(entry):
            err.append("docker: Error response from daemon: failed to create task for container: failed to create shim "
                       "task: OCI runtime create failed: runc create failed: unable to start container process: "
                       f'exec: "{entry}": executable file not found in $PATH: unknown.')
            return 127
        prog = posixpath.basename(entry)
        if prog == "id":
            if cmd == ["-u"]:
                out.append(str(f.uid))
            elif cmd == ["-g"]:
                out.append(str(f.gid))
            else:
                out.append(f"uid={f.uid} gid={f.gid}")
            return 0
        if prog == "jupyter" and cmd[:2] == ["kernelspec", "list"]:
            specs = {n: {"resource_dir": f"/usr/local/share/jupyter/kernels/{n}",
                         "spec": {"argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                  "env": {}, "display_name": n, "language": "python", "metadata": {}}}
                     for n in sorted(f.kernelspecs)}
            if "--json" in cmd:
                out.extend(json.dumps({"kernelspecs": specs}, indent=2).split("\n"))
            else:
                out.append("Available kernels:")
                out.extend(f"  {n}    {s['resource_dir']}" for n, s in specs.items())
            return 0
        if prog == "jupyter-lab" and cmd[:1] == ["--version"]:
            out.append(f.jupyterlab or "4.2.5")
            return 0
        if prog == "sh" and cmd[:1] == ["-c"] and len(cmd) >= 3 and cmd[1].startswith("command -v"):
            if f.has(cmd[2]):
                out.append(cmd[2] if cmd[2].startswith("/") else f"/usr/local/bin/{cmd[2]}")
                return 0
            return 1
        if prog == "find" and cmd:
            root = cmd[0]
            if "-uid" in cmd or "-gid" in cmd:
                out.extend(f.high_owner_paths)
                return 0
            excluded = {cmd[j + 1] for j, w in enumerate(cmd[:-1]) if w == "-name" and j > 0 and cmd[j - 1] == "!"}
            out.extend(c for c in f.children(root) if posixpath.basename(c) not in excluded)
            return 0
        return 0

    # ------------------------------------------------------------------ tag / login / push / pull
    def _find(self, ref: str) -> LocalImage | None:
        if ref in self.images:
            return self.images[ref]
        if ref.startswith("sha256:") or re.fullmatch(r"[a-f0-9]{12,64}", ref):
            for k, img in self.images.items():
                if img.image_id.replace("sha256:", "").startswith(ref.replace("sha256:", "")):
                    return img
        try:
            return self.images.get(canonical(ref))
        except Exception:
            return None

    def tag(self, args: list[str], out: list[str], err: list[str]) -> int:
        pos = [a for a in args if not a.startswith("-")]
        if len(pos) != 2:
            err.append('"docker tag" requires exactly 2 arguments.')
            return 1
        img = self._find(pos[0])
        if img is None:
            err.append(f"Error response from daemon: No such image: {pos[0]}")
            return 1
        key = canonical(pos[1])
        self.images[key] = img
        img.tags.append(key)
        return 0

    def login(self, args: list[str], stdin: list[str], out: list[str], err: list[str]) -> int:
        password = None
        server = "docker.io"
        i = 0
        pos = []
        stdin_pw = False
        while i < len(args):
            a = args[i]
            if a in ("-u", "--username"):
                i += 2
                continue
            if a in ("-p", "--password"):
                password = args[i + 1] if i + 1 < len(args) else ""
                i += 2
                continue
            if a.startswith("--username=") or a.startswith("--password="):
                if a.startswith("--password="):
                    password = a.split("=", 1)[1]
                i += 1
                continue
            if a == "--password-stdin":
                stdin_pw = True
                i += 1
                continue
            pos.append(a)
            i += 1
        if stdin_pw:
            password = "\n".join(stdin).strip()
        if pos:
            server = re.sub(r"^https?://", "", pos[0]).split("/")[0]
        if not password:
            err.append("Error: Cannot perform an interactive login from a non TTY device")
            return 1
        if awsutil.ECR_REGISTRY_RE.match(server) is None and server not in ("docker.io", "index.docker.io", "registry-1.docker.io", "public.ecr.aws"):
            err.append(f'Error response from daemon: Get "https://{server}/v2/": dial tcp: lookup {server}: no such host')
            return 1
        err.append("WARNING! Your password will be stored unencrypted in /root/.docker/config.json.")
        err.append("Configure a credential helper to remove this warning. See")
        err.append("https://docs.docker.com/engine/reference/commandline/login/#credentials-store")
        err.append("")
        out.append("Login Succeeded")
        self.logins.add(server)
        return 0

    def push(self, args: list[str], out: list[str], err: list[str]) -> int:
        pos = [a for a in args if not a.startswith("-")]
        if len(pos) != 1:
            err.append('"docker push" requires exactly 1 argument.')
            return 1
        ref = pos[0]
        try:
            registry, repo, tag, digest = parse_ref(ref)
        except Exception:
            err.append(f"invalid reference format: {ref}")
            return 1
        img = self.images.get(canonical(ref))
        if img is None:
            err.append(f"An image does not exist locally with the tag: {ref if ':' in ref.rsplit('/', 1)[-1] else ref}")
            return 1
        out.append(f"The push refers to repository [{registry}/{repo}]")
        short = [d.replace("sha256:", "")[:12] for d, _ in img.layers]
        m = awsutil.ECR_REGISTRY_RE.match(registry)
        if m is None:
            for s in short:
                out.append(f"{s}: Preparing")
            if registry in ("docker.io",):
                err.append("denied: requested access to the resource is denied")
            else:
                err.append(f'Get "https://{registry}/v2/": dial tcp: lookup {registry}: no such host')
            return 1
        account, region = m.group(1), m.group(2)
        if registry not in self.logins:
            for s in short:
                out.append(f"{s}: Preparing")
            err.append("no basic auth credentials")
            return 1
        if awsutil.ecr_repository(account, region, repo) is None:
            for s in short:
                out.append(f"{s}: Preparing")
            err.append(
                f"name unknown: The repository with name '{repo}' does not exist in the registry with id '{account}'"
            )
            return 1
        conflict = awsutil.ecr_tag_conflict(account, region, repo, tag, img.digest)
        if conflict:
            for s in short:
                out.append(f"{s}: Preparing")
            err.append(conflict)
            return 1
        existing = awsutil.ecr_find_image(account, region, repo, digest=img.digest)
        for s in short:
            out.append(f"{s}: Preparing")
        for s in short:
            out.append(f"{s}: {'Layer already exists' if existing is not None else 'Pushed'}")
        out.append(f"{tag}: digest: {img.digest} size: {len(img.manifest)}")
        manifest, dig = img.manifest, img.digest
        self.emit_action(lambda: awsutil.ecr_put(account, region, repo, tag, manifest, dig))
        rd = f"{registry}/{repo}@{img.digest}"
        if rd not in img.repo_digests:
            img.repo_digests.append(rd)
        return 0

    def pull(self, args: list[str], out: list[str], err: list[str]) -> int:
        pos = [a for a in args if not a.startswith("-")]
        if len(pos) != 1:
            err.append('"docker pull" requires exactly 1 argument.')
            return 1
        ref = pos[0]
        registry, repo, tag, digest = parse_ref(ref)
        m = awsutil.ECR_REGISTRY_RE.match(registry)
        if m is not None:
            if registry not in self.logins:
                err.append(f"Error response from daemon: Head \"https://{registry}/v2/{repo}/manifests/{tag or digest}\": no basic auth credentials")
                return 1
            found = awsutil.ecr_find_image(m.group(1), m.group(2), repo, tag=tag or None, digest=digest or None)
            if found is None:
                err.append(
                    f"Error response from daemon: manifest for {ref} not found: manifest unknown: Requested image not found"
                )
                return 1
            img = LocalImage(
                "sha256:" + _h("config", found.get_image_digest()),
                found.image_manifest,
                found.get_image_digest(),
                [("sha256:" + _h(found.get_image_digest(), 0), 1000)],
                self.default_platform,
            )
        else:
            img = make_image(_h("pulled", ref), 3, self.default_platform)
        img.repo_digests.append(f"{registry}/{repo}@{img.digest}")
        if tag and "@" not in ref and ":" not in ref.rsplit("/", 1)[-1]:
            out.append("Using default tag: latest")
        out.append(f"{tag or digest}: Pulling from {repo}")
        for d, _ in img.layers:
            out.append(f"{d.replace('sha256:', '')[:12]}: Pull complete")
        out.append(f"Digest: {img.digest}")
        out.append(f"Status: Downloaded newer image for {ref}")
        out.append(display_name(ref))
        key = canonical(ref)
        self.images[key] = img
        img.tags.append(key)
        self.images[img.image_id] = img
        return 0

    def inspect(self, args: list[str], out: list[str], err: list[str]) -> int:
        fmt = None
        names = []
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("-f", "--format"):
                fmt = args[i + 1] if i + 1 < len(args) else ""
                i += 2
                continue
            if a.startswith("--format="):
                fmt = a.split("=", 1)[1]
            elif a in ("--type", "-s", "--size"):
                if a == "--type":
                    i += 1
            elif not a.startswith("-"):
                names.append(a)
            i += 1
        status = 0
        docs = []
        for name in names:
            img = self._find(name)
            if img is None:
                err.append(f"Error: No such object: {name}")
                status = 1
                continue
            if fmt is None:
                docs.append(self._inspect_doc(img))
                continue
            res = self._template(fmt, img)
            if res is None:
                err.append(
                    'template parsing error: template: :1:2: executing "" at <index .RepoDigests 0>: '
                    "error calling index: index out of range: 0"
                )
                status = 1
                continue
            out.append(res)
        if fmt is None and docs:
            out.extend(json.dumps(docs, indent=4).split("\n"))
        return status

    @staticmethod
    def _inspect_doc(img: LocalImage) -> dict[str, Any]:
        os_, _, arch = img.platform.partition("/")
        return {
            "Id": img.image_id,
            "RepoTags": [t.replace("docker.io/library/", "") for t in img.tags],
            "RepoDigests": list(img.repo_digests),
            "Architecture": arch,
            "Os": os_,
            "Size": sum(s for _, s in img.layers),
        }

    def _template(self, fmt: str, img: LocalImage) -> str | None:
        doc = self._inspect_doc(img)

        def field_value(expr: str) -> Any:
            expr = expr.strip()
            m = re.fullmatch(r"index\s+\.(\w+)\s+(\d+)", expr)
            if m:
                seq = doc.get(m.group(1)) or []
                idx = int(m.group(2))
                if idx >= len(seq):
                    raise IndexError
                return seq[idx]
            m = re.fullmatch(r"json\s+\.(\w+)", expr)
            if m:
                return json.dumps(doc.get(m.group(1)))
            m = re.fullmatch(r"\.(\w+)", expr)
            if m:
                key = {"ID": "Id"}.get(m.group(1), m.group(1))
                v = doc.get(key, "<no value>")
                if isinstance(v, list):
                    return "[" + " ".join(v) + "]"
                return v
            return "<no value>"

        try:
            return re.sub(r"\{\{(.*?)\}\}", lambda m: str(field_value(m.group(1))), fmt)
        except IndexError:
            return None

    def list_images(self, out: list[str]) -> int:
        out.append("REPOSITORY                                                        TAG       IMAGE ID       CREATED        SIZE")
        seen = set()
        for key, img in self.images.items():
            if key.startswith("sha256:") or key in seen:
                continue
            seen.add(key)
            reg, repo, tag, _ = parse_ref(key)
            name = repo.replace("library/", "") if reg == "docker.io" else f"{reg}/{repo}"
            out.append(f"{name:<65} {tag:<9} {img.image_id[7:19]}   1 second ago   {sum(s for _, s in img.layers) // 1_000_000}MB")
        return 0
