"""What a built image would answer to `docker run`, read from its Dockerfile.

The sandbox never runs anything from the zip.  Instead `docker build` keeps a few
facts the Dockerfile declares, and `docker run --entrypoint ...` answers from
them, so tests can make each of sm-kernel's in-image checks pass or fail:

- the default user: the last ``USER`` (numeric ``U[:G]``, ``root``, or a name
  created by ``useradd``/``adduser`` with ``--uid``/``--gid``); the base image's
  user otherwise (root, or 1000:100 for SageMaker Distribution / Jupyter images);
- programs on PATH: what the base image has, what ``pip``/``conda``/``mamba``
  ``install`` lines install (``jupyterlab``, ``ipykernel``, ``notebook``,
  ``sagemaker-code-editor``), and files copied into a ``bin`` folder;
- kernelspecs: ``python3`` once ipykernel is in, plus every
  ``ipykernel install --name X``;
- the JupyterLab version: ``jupyterlab==X`` (or ``=X``, ``>=X``) on an install
  line, else ``JUPYTERLAB_VERSION`` from an ``ARG``/``ENV``, else 4.2.5;
- files owned by a UID/GID above 65535: ``COPY --chown=U:G`` and
  ``chown U[:G] PATH`` with a number above 65535;
- files in the image: ``COPY``/``ADD`` destinations and ``WORKDIR`` folders;
- the platform: ``FROM --platform=...`` of the final stage.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

LATEST_JUPYTERLAB = "4.2.5"
BASE_PROGRAMS = {"sh", "id", "find", "ls", "cat"}
GROUPS = {"root": 0, "users": 100, "sagemaker-user": 100}


@dataclass
class ImageFacts:
    uid: int = 0
    gid: int = 0
    user_error: str = ""
    programs: set[str] = field(default_factory=lambda: set(BASE_PROGRAMS))
    kernelspecs: set[str] = field(default_factory=set)
    jupyterlab: str | None = None
    high_owner_paths: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    platform: str = ""
    users: dict[str, tuple[int, int]] = field(default_factory=dict)

    def copy(self) -> "ImageFacts":
        return ImageFacts(self.uid, self.gid, self.user_error, set(self.programs), set(self.kernelspecs),
                          self.jupyterlab, list(self.high_owner_paths), list(self.paths), self.platform,
                          dict(self.users))

    def has(self, program: str) -> bool:
        return program in self.programs or posixpath.basename(program) in self.programs

    def children(self, folder: str) -> list[str]:
        folder = folder.rstrip("/") or "/"
        prefix = folder + "/" if folder != "/" else "/"
        out: list[str] = []
        for p in self.paths:
            if p.startswith(prefix) and p != folder:
                child = prefix + p[len(prefix):].split("/")[0]
                if child not in out:
                    out.append(child)
        return out


def _base(image: str) -> ImageFacts:
    f = ImageFacts()
    low = image.lower()
    if low == "scratch":
        f.programs = set()
        return f
    if "python" in low or "conda" in low or "sagemaker-distribution" in low or "jupyter" in low:
        f.programs |= {"python", "python3", "pip"}
    if "sagemaker-distribution" in low:
        f.uid, f.gid = 1000, 100
        f.users["sagemaker-user"] = (1000, 100)
        f.programs |= {"jupyter", "jupyter-lab", "sagemaker-code-editor", "entrypoint-code-editor",
                       "entrypoint-jupyter-server"}
        f.kernelspecs.add("python3")
        f.jupyterlab = LATEST_JUPYTERLAB
    elif "jupyter/" in low:
        f.uid, f.gid = 1000, 100
        f.users["jovyan"] = (1000, 100)
        f.programs |= {"jupyter", "jupyter-lab"}
        f.kernelspecs.add("python3")
        f.jupyterlab = LATEST_JUPYTERLAB
    return f


def _expand(text: str, vars_: dict[str, str]) -> str:
    def rep(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        default = m.group(2)
        val = vars_.get(name)
        if (val is None or val == "") and default is not None:
            return default
        return val or ""

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)", rep, text)


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False)
    except ValueError:
        return text.split()


def _opt(words: list[str], *names: str) -> str | None:
    for i, w in enumerate(words):
        for n in names:
            if w == n and i + 1 < len(words):
                return words[i + 1]
            if n.startswith("--") and w.startswith(n + "="):
                return w.split("=", 1)[1]
    return None


def _num(v: str | None, names: dict[str, int] | None = None) -> int | None:
    if v is None:
        return None
    if v.isdigit():
        return int(v)
    return (names or {}).get(v)


def _run(f: ImageFacts, cmd: str, vars_: dict[str, str], workdir: str) -> None:
    for part in re.split(r"&&|\|\||;|\|", cmd):
        w = _words(part.strip())
        if not w:
            continue
        prog = posixpath.basename(w[0])
        if prog in ("useradd", "adduser"):
            name = next((x for x in reversed(w[1:]) if not x.startswith("-")), "")
            uid = _num(_opt(w, "-u", "--uid"))
            gid = _num(_opt(w, "-g", "--gid", "--ingroup"), GROUPS)
            f.users[name] = (uid if uid is not None else 1000, gid if gid is not None else (uid or 1000))
            continue
        if prog == "chown":
            args = [x for x in w[1:] if not x.startswith("-")]
            if args:
                owner, paths = args[0], args[1:]
                u, _, g = owner.partition(":")
                nums = [int(x) for x in (u, g) if x.isdigit()]
                if any(n > 65535 for n in nums):
                    f.high_owner_paths.extend(posixpath.join(workdir, p) for p in paths)
            continue
        if "install" in w:
            tail = w[w.index("install") + 1:]
            if prog in ("python", "python3") and "ipykernel" in w:
                name = _opt(tail, "--name")
                f.kernelspecs.add(name or "python3")
                continue
            for pkg in tail:
                m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(==|>=|=|~=)?\s*([0-9][0-9a-zA-Z.]*)?", pkg)
                if not m or pkg.startswith("-"):
                    continue
                pname = m.group(1).lower()
                if pname == "jupyterlab":
                    version = m.group(3) or vars_.get("JUPYTERLAB_VERSION") or LATEST_JUPYTERLAB
                    f.jupyterlab = version if "." in version else version + ".0.0"
                    f.programs |= {"jupyter", "jupyter-lab"}
                    f.kernelspecs.add("python3")
                elif pname in ("ipykernel", "notebook", "jupyter", "jupyter-server"):
                    f.programs.add("jupyter")
                    f.kernelspecs.add("python3")
                elif pname == "sagemaker-code-editor":
                    f.programs.add("sagemaker-code-editor")


def _user(f: ImageFacts, spec: str) -> None:
    u, _, g = spec.partition(":")
    f.user_error = ""
    if u.isdigit():
        f.uid = int(u)
        match = [gid for (uid, gid) in f.users.values() if uid == f.uid]
        f.gid = int(g) if g.isdigit() else (GROUPS.get(g) if g else (match[0] if match else 0)) or 0
        return
    if u == "root":
        f.uid, f.gid = 0, 0
    elif u in f.users:
        f.uid, f.gid = f.users[u]
    else:
        f.user_error = f"unable to find user {u}: no matching entries in passwd file"
        return
    if g:
        f.gid = int(g) if g.isdigit() else GROUPS.get(g, f.gid)


def facts_for(instrs: list[tuple[str, str]], build_args: dict[str, str], target: str = "") -> ImageFacts:
    """Facts of the image the Dockerfile builds (its last stage, or `target`)."""
    stages: dict[str, ImageFacts] = {}
    cur: ImageFacts | None = None
    global_vars: dict[str, str] = {}
    vars_: dict[str, str] = {}
    workdir = "/"
    for k, v in instrs:
        if k == "ARG":
            name, eq, default = v.partition("=")
            name = name.strip()
            val = build_args.get(name, default.strip().strip('"') if eq else "")
            (global_vars if cur is None else vars_)[name] = val
            continue
        if k == "FROM":
            parts = v.split()
            platform = next((p.split("=", 1)[1] for p in parts if p.startswith("--platform=")), "")
            parts = [p for p in parts if not p.startswith("--platform")]
            image = _expand(parts[0], global_vars) if parts else ""
            alias = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else ""
            cur = stages[image].copy() if image in stages else _base(image)
            if platform:
                cur.platform = _expand(platform, global_vars)
            vars_ = dict(global_vars)
            workdir = "/"
            if alias:
                stages[alias] = cur
            stages["__last__"] = cur
            if target and alias == target:
                break
            continue
        if cur is None:
            continue
        text = _expand(v, vars_)
        if k == "ENV":
            if "=" in text.split(None, 1)[0]:
                for w in _words(text):
                    name, _, val = w.partition("=")
                    vars_[name] = val
            else:
                name, _, val = text.partition(" ")
                vars_[name] = val.strip()
        elif k == "USER":
            _user(cur, text.strip())
        elif k == "WORKDIR":
            workdir = posixpath.join(workdir, text.strip())
            cur.paths.append(workdir)
        elif k == "RUN":
            _run(cur, text, vars_, workdir)
        elif k in ("COPY", "ADD"):
            w = _words(text)
            if w and w[0].startswith("["):
                continue
            chown = next((x.split("=", 1)[1] for x in w if x.startswith("--chown=")), None)
            w = [x for x in w if not x.startswith("--")]
            if len(w) < 2:
                continue
            dest = posixpath.join(workdir, w[-1])
            targets = ([posixpath.join(dest, posixpath.basename(s.rstrip("/"))) for s in w[:-1]]
                       if w[-1].endswith("/") or len(w) > 2 else [dest])
            cur.paths.extend(targets)
            for t in targets:
                if posixpath.basename(posixpath.dirname(t)) == "bin":
                    cur.programs.add(posixpath.basename(t))
            if chown:
                u, _, g = chown.partition(":")
                if any(x.isdigit() and int(x) > 65535 for x in (u, g)):
                    cur.high_owner_paths.extend(targets)
    return stages.get("__last__") or ImageFacts()
