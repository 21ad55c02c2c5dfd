"""A tiny POSIX-shell *reader* for buildspec commands.

Nothing here ever executes a process.  A command line is tokenised the way
``sh`` would (quotes, escapes, ``$VAR``/``${VAR}``/``${VAR:-x}``, ``$(...)``,
pipes, ``&&``/``||``/``;``, redirections), words are expanded against the
build's environment, and a handful of commands are *simulated* (echo, export,
cd, test, aws ecr get-login-password, docker ...).  Every other command is
only echoed and reported as successful.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ASSIGN_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


class ShellSyntaxError(Exception):
    pass


# --------------------------------------------------------------------------
# lexer / parser
# --------------------------------------------------------------------------
@dataclass
class Seg:
    kind: str  # lit | var | cmd
    value: str
    quoted: bool
    op: str = ""  # for ${VAR<op>word}
    arg: str = ""


@dataclass
class Word:
    segs: list[Seg] = field(default_factory=list)
    has_quotes: bool = False

    def literal_text(self) -> str:
        return "".join(s.value for s in self.segs if s.kind == "lit")


@dataclass
class Redir:
    fd: int
    op: str  # > >> < >&
    target: Word | None
    dup: str = ""  # for >&N


@dataclass
class Simple:
    words: list[Word] = field(default_factory=list)
    redirs: list[Redir] = field(default_factory=list)


@dataclass
class Pipeline:
    cmds: list[Simple]


class _Lexer:
    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.n = len(text)

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.s[j] if j < self.n else ""

    def _read_balanced(self, open_ch: str, close_ch: str) -> str:
        """Read up to the matching close_ch (self.i is just past the opener)."""
        depth = 1
        start = self.i
        while self.i < self.n:
            c = self.s[self.i]
            if c == "\\":
                self.i += 2
                continue
            if c == "'":
                j = self.s.find("'", self.i + 1)
                if j < 0:
                    raise ShellSyntaxError("unterminated quoted string")
                self.i = j + 1
                continue
            if c == '"':
                self.i += 1
                while self.i < self.n and self.s[self.i] != '"':
                    if self.s[self.i] == "\\":
                        self.i += 1
                    elif self.s[self.i] == "$" and self.peek(1) == "(":
                        self.i += 2
                        self._read_balanced("(", ")")
                        continue
                    self.i += 1
                if self.i >= self.n:
                    raise ShellSyntaxError("unterminated quoted string")
                self.i += 1
                continue
            if c == open_ch:
                depth += 1
            elif c == close_ch:
                depth -= 1
                if depth == 0:
                    inner = self.s[start:self.i]
                    self.i += 1
                    return inner
            self.i += 1
        raise ShellSyntaxError(f"unexpected EOF while looking for matching `{close_ch}'")

    def _dollar(self, quoted: bool) -> Seg:
        # self.s[self.i] == "$"
        nxt = self.peek(1)
        if nxt == "(":
            if self.peek(2) == "(":  # arithmetic $(( )) -> treat as literal 0
                self.i += 3
                self._read_balanced("(", ")")
                if self.peek() == ")":
                    self.i += 1
                return Seg("lit", "0", quoted)
            self.i += 2
            return Seg("cmd", self._read_balanced("(", ")"), quoted)
        if nxt == "{":
            self.i += 2
            inner = self._read_balanced("{", "}")
            if inner.startswith("#") and NAME_RE.fullmatch(inner[1:]):
                return Seg("var", inner[1:], quoted, op="#")
            m = NAME_RE.match(inner) or re.match(r"[0-9?$#@*!-]", inner)
            if not m:
                raise ShellSyntaxError(f"${{{inner}}}: bad substitution")
            name = m.group(0)
            rest = inner[m.end():]
            if not rest:
                return Seg("var", name, quoted)
            for op in (":-", ":=", ":+", ":?", "-", "=", "+", "?"):
                if rest.startswith(op):
                    return Seg("var", name, quoted, op=op, arg=rest[len(op):])
            raise ShellSyntaxError(f"${{{inner}}}: bad substitution")
        m = NAME_RE.match(self.s, self.i + 1)
        if m:
            self.i = m.end()
            return Seg("var", m.group(0), quoted)
        if nxt and nxt in "?$#@*!0123456789-":
            self.i += 2
            return Seg("var", nxt, quoted)
        self.i += 1
        return Seg("lit", "$", quoted)

    def word(self) -> Word:
        w = Word()
        lit: list[str] = []

        def flush(quoted: bool = False) -> None:
            if lit:
                w.segs.append(Seg("lit", "".join(lit), quoted))
                lit.clear()

        while self.i < self.n:
            c = self.s[self.i]
            if c in " \t\n;&|<>()":
                break
            if c == "\\":
                if self.peek(1) == "\n":
                    self.i += 2
                    continue
                flush()
                w.segs.append(Seg("lit", self.peek(1), True))
                self.i += 2
                continue
            if c == "'":
                flush()
                j = self.s.find("'", self.i + 1)
                if j < 0:
                    raise ShellSyntaxError("unexpected EOF while looking for matching `''")
                w.segs.append(Seg("lit", self.s[self.i + 1:j], True))
                w.has_quotes = True
                self.i = j + 1
                continue
            if c == '"':
                flush()
                w.has_quotes = True
                self.i += 1
                buf: list[str] = []
                while True:
                    if self.i >= self.n:
                        raise ShellSyntaxError('unexpected EOF while looking for matching `"\'')
                    d = self.s[self.i]
                    if d == '"':
                        self.i += 1
                        break
                    if d == "\\" and self.peek(1) in '"\\$`\n':
                        if self.peek(1) != "\n":
                            buf.append(self.peek(1))
                        self.i += 2
                        continue
                    if d == "$":
                        if buf:
                            w.segs.append(Seg("lit", "".join(buf), True))
                            buf = []
                        w.segs.append(self._dollar(True))
                        continue
                    if d == "`":
                        if buf:
                            w.segs.append(Seg("lit", "".join(buf), True))
                            buf = []
                        j = self.s.find("`", self.i + 1)
                        if j < 0:
                            raise ShellSyntaxError("unexpected EOF while looking for matching ``'")
                        w.segs.append(Seg("cmd", self.s[self.i + 1:j], True))
                        self.i = j + 1
                        continue
                    buf.append(d)
                    self.i += 1
                w.segs.append(Seg("lit", "".join(buf), True))
                continue
            if c == "$":
                flush()
                w.segs.append(self._dollar(False))
                continue
            if c == "`":
                flush()
                j = self.s.find("`", self.i + 1)
                if j < 0:
                    raise ShellSyntaxError("unexpected EOF while looking for matching ``'")
                w.segs.append(Seg("cmd", self.s[self.i + 1:j], False))
                self.i = j + 1
                continue
            lit.append(c)
            self.i += 1
        flush()
        return w

    def tokens(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        while self.i < self.n:
            c = self.s[self.i]
            if c in " \t":
                self.i += 1
                continue
            if c == "\\" and self.peek(1) == "\n":
                self.i += 2
                continue
            if c == "#" and (not out or out[-1][0] == "op" or self.s[self.i - 1] in " \t\n"):
                j = self.s.find("\n", self.i)
                self.i = self.n if j < 0 else j
                continue
            if c == "\n":
                out.append(("op", ";"))
                self.i += 1
                continue
            two = self.s[self.i:self.i + 2]
            if two in ("&&", "||", ";;"):
                out.append(("op", two if two != ";;" else ";"))
                self.i += 2
                continue
            if c in ";|&":
                if c == "&" and self.peek(1) == ">":
                    self.i += 2
                    append = False
                    if self.peek() == ">":
                        append = True
                        self.i += 1
                    self._skip_ws()
                    out.append(("redir", Redir(1, ">>" if append else ">", self.word())))
                    out.append(("redir", Redir(2, ">&", None, "1")))
                    continue
                out.append(("op", ";" if c == "&" else c))
                self.i += 1
                continue
            if c in "()":
                # subshells / groups are flattened
                self.i += 1
                out.append(("op", ";"))
                continue
            m = re.match(r"(\d*)(>>|>&|<&|>\||<<-|<<|<>|>|<)", self.s[self.i:])
            if m and (m.group(1) or c in "<>"):
                fd = int(m.group(1)) if m.group(1) else (0 if m.group(2).startswith("<") else 1)
                op = m.group(2)
                self.i += m.end()
                self._skip_ws()
                if op in (">&", "<&"):
                    t = self.word()
                    txt = t.literal_text()
                    if txt.isdigit() or txt == "-":
                        out.append(("redir", Redir(fd, ">&", None, txt)))
                    else:
                        out.append(("redir", Redir(fd, ">", t)))
                    continue
                if op in ("<<", "<<-"):
                    # here-documents are not supported in single commands; swallow delimiter
                    self.word()
                    continue
                out.append(("redir", Redir(fd, op.replace(">|", ">"), self.word())))
                continue
            w = self.word()
            if not w.segs and not w.has_quotes:
                # stray character we did not consume; avoid infinite loops
                self.i += 1
                continue
            out.append(("word", w))
        return out

    def _skip_ws(self) -> None:
        while self.i < self.n and self.s[self.i] in " \t":
            self.i += 1


def parse(script: str) -> list[tuple[str, Pipeline]]:
    """Returns [(connector, pipeline)], connector of the first item is ';'."""
    toks = _Lexer(script).tokens()
    items: list[tuple[str, Pipeline]] = []
    connector = ";"
    cur = Simple()
    pipe: list[Simple] = []

    def end_simple() -> None:
        nonlocal cur
        if cur.words or cur.redirs:
            pipe.append(cur)
        cur = Simple()

    for kind, val in toks:
        if kind == "word":
            cur.words.append(val)
        elif kind == "redir":
            cur.redirs.append(val)
        elif val == "|":
            if not cur.words and not cur.redirs:
                raise ShellSyntaxError("syntax error near unexpected token `|'")
            end_simple()
        else:  # ; && ||
            end_simple()
            if pipe:
                items.append((connector, Pipeline(list(pipe))))
                pipe.clear()
            elif val in ("&&", "||"):
                raise ShellSyntaxError(f"syntax error near unexpected token `{val}'")
            connector = val
    end_simple()
    if pipe:
        items.append((connector, Pipeline(list(pipe))))
    elif connector in ("&&", "||"):
        raise ShellSyntaxError("syntax error: unexpected end of file")
    return items


# --------------------------------------------------------------------------
# display expansion (what the sandbox logs as "Running command ...")
# --------------------------------------------------------------------------
_DISPLAY_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def display_expand(command: str, env: dict[str, str]) -> str:
    """Substitute variables in the command text, leaving quoting intact and
    single-quoted text untouched.  Unknown variables expand to ''."""
    out: list[str] = []
    in_sq = False
    in_dq = False
    i = 0
    n = len(command)
    while i < n:
        c = command[i]
        if c == "\\" and not in_sq and i + 1 < n:
            out.append(command[i:i + 2])
            i += 2
            continue
        if c == "'" and not in_dq:
            in_sq = not in_sq
        elif c == '"' and not in_sq:
            in_dq = not in_dq
        elif c == "$" and not in_sq:
            m = _DISPLAY_VAR.match(command, i)
            if m:
                out.append(env.get(m.group(1) or m.group(2), ""))
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------
# the interpreter
# --------------------------------------------------------------------------
class _Writer:
    """list-like sink that interleaves stdout and stderr in one ordered buffer."""

    def __init__(self, buf: list[tuple[str, str]], stream: str):
        self.buf = buf
        self.stream = stream

    def append(self, line: str) -> None:
        self.buf.append((self.stream, line))

    def extend(self, lines: Any) -> None:
        for line in lines:
            self.append(line)

    def __iadd__(self, lines: Any) -> "_Writer":
        self.extend(lines)
        return self


class ExitScript(Exception):
    def __init__(self, status: int):
        self.status = status


@dataclass
class Result:
    status: int
    out: list[str]  # stdout lines


class Shell:
    """Simulates commands; `emit(stream, line)` receives every output line,
    `emit_action(fn)` receives side effects to run when the line before it is
    logged (used for ECR pushes)."""

    def __init__(
        self,
        env: dict[str, str],
        emit: Callable[[str], None],
        emit_action: Callable[[Callable[[], None]], None],
        files: dict[str, bytes] | None,
        src_dir: str,
        docker: Any = None,
        aws: Any = None,
    ):
        self.env = env
        self._emit = emit
        self.emit_action = emit_action
        self.files = files or {}
        self.src_dir = src_dir
        self.cwd = src_dir
        self.docker = docker
        self.aws = aws
        self.last_status = 0
        self.errexit = False

    # -- expansion ----------------------------------------------------------
    def _var(self, seg: Seg, sink_err: list[str]) -> str:
        name = seg.value
        if name == "?":
            val: str | None = str(self.last_status)
        elif name == "$":
            val = "1"
        elif name in ("#",):
            val = "0"
        elif name in ("@", "*", "!", "-") or name.isdigit():
            val = "" if name != "0" else "sh"
        else:
            val = self.env.get(name)
        if seg.op == "#":
            return str(len(val or ""))
        op = seg.op
        if op:
            unset = val is None
            empty = unset or val == ""
            colon = op.startswith(":")
            trigger = empty if colon else unset
            base = op[-1]
            argval = "".join(self.expand_word(_Lexer(seg.arg).word() if seg.arg else Word(), split=False) or [""])
            if base == "-":
                return argval if trigger else (val or "")
            if base == "=":
                if trigger:
                    self.env[name] = argval
                    return argval
                return val or ""
            if base == "+":
                return "" if trigger else argval
            if base == "?":
                if trigger:
                    sink_err.append(f"sh: {name}: {argval or 'parameter null or not set'}")
                    raise ExitScript(1)
                return val or ""
        return val or ""

    def _cmdsubst(self, script: str) -> str:
        sink: list[str] = []
        status = self.run(script, sink)
        self.last_status = status
        return "\n".join(sink).rstrip("\n")

    def expand_word(self, w: Word, split: bool = True) -> list[str]:
        fields: list[str] = []
        cur: list[str] = []
        have = w.has_quotes
        errs: list[str] = []
        for seg in w.segs:
            if seg.kind == "lit":
                cur.append(seg.value)
                have = True if seg.value or seg.quoted else have
                continue
            if seg.kind == "var":
                val = self._var(seg, errs)
            else:
                val = self._cmdsubst(seg.value)
            for e in errs:
                self._emit(e)
            errs.clear()
            if seg.quoted or not split:
                cur.append(val)
                have = True
                continue
            parts = val.split()
            if not parts:
                continue
            if val[:1].isspace() and (cur or have):
                fields.append("".join(cur))
                cur = []
            cur.append(parts[0])
            for p in parts[1:]:
                fields.append("".join(cur))
                cur = [p]
            have = True
            if val[-1:].isspace():
                fields.append("".join(cur))
                cur = []
                have = False
        if cur or have:
            fields.append("".join(cur))
        return fields

    # -- running ------------------------------------------------------------
    def run(self, script: str, stdout: list[str] | None = None) -> int:
        """Run a script; stdout lines go to `stdout` if given, else are emitted."""
        try:
            items = parse(script)
        except ShellSyntaxError as e:
            self._emit(f"/codebuild/output/tmp/script.sh: line 1: {e}")
            self.last_status = 2
            return 2
        status = 0
        try:
            for connector, pipeline in items:
                if connector == "&&" and status != 0:
                    continue
                if connector == "||" and status == 0:
                    continue
                status = self._pipeline(pipeline, stdout)
                self.last_status = status
                if status != 0 and self.errexit and stdout is None:
                    break
        except ExitScript as e:
            status = e.status
            self.last_status = status
        return status

    def _pipeline(self, p: Pipeline, stdout: list[str] | None) -> int:
        stdin: list[str] = []
        status = 0
        for idx, cmd in enumerate(p.cmds):
            last = idx == len(p.cmds) - 1
            sink: list[str] | None = stdout if last else []
            status = self._simple(cmd, stdin, sink)
            stdin = sink if sink is not None else []
        return status

    def _simple(self, cmd: Simple, stdin: list[str], out: list[str] | None) -> int:
        """Run one simple command.  stdout goes to `out` (or is emitted when
        `out` is None); stderr is always emitted, in order."""
        argv: list[str] = []
        assigns: list[tuple[str, str]] = []
        for w in cmd.words:
            if not argv:
                first = w.segs[0] if w.segs else None
                if first is not None and first.kind == "lit" and not first.quoted and ASSIGN_RE.match(first.value):
                    name, _, rest = first.value.partition("=")
                    tail = Word([Seg("lit", rest, False)] + w.segs[1:], w.has_quotes)
                    assigns.append((name, "".join(self.expand_word(tail, split=False))))
                    continue
            argv.extend(self.expand_word(w))
        drop_out = drop_err = err_to_out = out_to_err = False
        for r in cmd.redirs:
            if r.op.startswith("<"):
                continue
            if r.op == ">&":
                if r.fd == 2 and r.dup == "1":
                    err_to_out = True
                elif r.fd == 1 and r.dup == "2":
                    out_to_err = True
                continue
            if r.target is not None:
                self.expand_word(r.target, split=False)
            if r.fd == 1:
                drop_out = True
            elif r.fd == 2:
                drop_err = True
        if not argv:
            for k, v in assigns:
                self.env[k] = v
            return 0
        buf: list[tuple[str, str]] = []
        status = self.dispatch(argv, stdin, _Writer(buf, "o"), _Writer(buf, "e"), dict(assigns))
        for stream, line in buf:
            if stream == "o" and out_to_err:
                stream = "e"
            elif stream == "e" and err_to_out:
                stream = "o"
            if stream == "o":
                if drop_out:
                    continue
                if out is not None:
                    out.append(line)
                else:
                    self._emit(line)
            else:
                if drop_err and not err_to_out:
                    continue
                self._emit(line)
        return status

    # -- commands -------------------------------------------------------------
    def dispatch(self, argv: list[str], stdin: list[str], out: list[str], err: list[str], tmpenv: dict[str, str]) -> int:
        name = argv[0]
        if name == "[":
            return self.cmd_test(argv, stdin, out, err)
        if name == "docker" and self.docker is not None:
            return self.docker.run(argv, stdin, out, err, self)
        if NAME_RE.fullmatch(name.replace("-", "_")):
            fn = getattr(self, "cmd_" + name.replace("-", "_"), None)
            if fn is not None:
                return fn(argv, stdin, out, err)
        return 0  # never executed; reported as success

    def cmd_echo(self, argv, stdin, out, err) -> int:
        args = argv[1:]
        newline = True
        interp = False
        while args and re.fullmatch(r"-[neE]+", args[0]):
            if "n" in args[0]:
                newline = False
            if "e" in args[0]:
                interp = True
            args = args[1:]
        text = " ".join(args)
        if interp:
            text = text.replace("\\n", "\n").replace("\\t", "\t")
        lines = text.split("\n")
        out.extend(lines)
        del newline
        return 0

    def cmd_printf(self, argv, stdin, out, err) -> int:
        if len(argv) < 2:
            return 0
        fmt = argv[1]
        args = list(argv[2:])
        text = fmt.replace("\\n", "\n").replace("\\t", "\t")

        def rep(m: re.Match[str]) -> str:
            if m.group(0) == "%%":
                return "%"
            return args.pop(0) if args else ""

        text = re.sub(r"%%|%[-0-9.]*[sdqbxf]", rep, text)
        for line in text.rstrip("\n").split("\n"):
            out.append(line)
        return 0

    def cmd_export(self, argv, stdin, out, err) -> int:
        for a in argv[1:]:
            if a.startswith("-"):
                continue
            if "=" in a:
                k, _, v = a.partition("=")
                self.env[k] = v
        return 0

    def cmd_unset(self, argv, stdin, out, err) -> int:
        for a in argv[1:]:
            self.env.pop(a, None)
        return 0

    def cmd_set(self, argv, stdin, out, err) -> int:
        for a in argv[1:]:
            if a.startswith("-") and "e" in a:
                self.errexit = True
            if a.startswith("+") and "e" in a:
                self.errexit = False
        return 0

    def cmd_exit(self, argv, stdin, out, err) -> int:
        code = int(argv[1]) if len(argv) > 1 and argv[1].lstrip("-").isdigit() else self.last_status
        raise ExitScript(code)

    def cmd_true(self, argv, stdin, out, err) -> int:
        return 0

    def cmd_false(self, argv, stdin, out, err) -> int:
        return 1

    def _path(self, p: str) -> str:
        import posixpath

        if not p.startswith("/"):
            p = posixpath.join(self.cwd, p)
        return posixpath.normpath(p)

    def rel(self, p: str) -> str | None:
        """Path inside the source tree ('' for its root) or None."""
        full = self._path(p)
        if full == self.src_dir:
            return ""
        if full.startswith(self.src_dir + "/"):
            return full[len(self.src_dir) + 1:]
        return None

    def is_file(self, p: str) -> bool:
        r = self.rel(p)
        return r is not None and r in self.files

    def is_dir(self, p: str) -> bool:
        r = self.rel(p)
        if r is None:
            return False
        if r == "":
            return True
        return any(f.startswith(r + "/") for f in self.files)

    def cmd_cd(self, argv, stdin, out, err) -> int:
        target = argv[1] if len(argv) > 1 else "/root"
        full = self._path(target)
        if self.rel(target) is not None and not self.is_dir(target):
            err.append(f"/codebuild/output/tmp/script.sh: line 1: cd: {target}: No such file or directory")
            return 1
        self.cwd = full
        return 0

    def cmd_pwd(self, argv, stdin, out, err) -> int:
        out.append(self.cwd)
        return 0

    def cmd_test(self, argv, stdin, out, err) -> int:
        args = argv[1:]
        if argv[0] == "[":
            if not args or args[-1] != "]":
                err.append("[: missing `]'")
                return 2
            args = args[:-1]
        neg = False
        if args and args[0] == "!":
            neg = True
            args = args[1:]
        res = True
        if len(args) == 1:
            res = args[0] != ""
        elif len(args) == 2:
            op, a = args
            if op == "-z":
                res = a == ""
            elif op == "-n":
                res = a != ""
            elif op in ("-f", "-e", "-r", "-s"):
                res = self.is_file(a) or (op == "-e" and self.is_dir(a))
            elif op == "-d":
                res = self.is_dir(a)
            else:
                res = True
        elif len(args) == 3:
            a, op, b = args
            if op in ("=", "=="):
                res = a == b
            elif op == "!=":
                res = a != b
            elif op in ("-eq", "-ne", "-lt", "-le", "-gt", "-ge"):
                try:
                    x, y = int(a), int(b)
                    res = {"-eq": x == y, "-ne": x != y, "-lt": x < y, "-le": x <= y, "-gt": x > y, "-ge": x >= y}[op]
                except ValueError:
                    err.append(f"test: {a}: integer expression expected")
                    return 2
        return 0 if (res != neg) else 1

    def cmd_cat(self, argv, stdin, out, err) -> int:
        files = [a for a in argv[1:] if not a.startswith("-")]
        if not files:
            out.extend(stdin)
            return 0
        status = 0
        for f in files:
            r = self.rel(f)
            if r is not None and r in self.files:
                try:
                    text = self.files[r].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                out.extend(text.rstrip("\n").split("\n")[:200])
            elif r is not None:
                err.append(f"cat: {f}: No such file or directory")
                status = 1
        return status

    def cmd_ls(self, argv, stdin, out, err) -> int:
        targets = [a for a in argv[1:] if not a.startswith("-")] or ["."]
        for t in targets:
            r = self.rel(t)
            if r is None:
                continue
            if r in self.files:
                out.append(t)
                continue
            prefix = r + "/" if r else ""
            names = sorted({f[len(prefix):].split("/")[0] for f in self.files if f.startswith(prefix)})
            if not names and r:
                err.append(f"ls: cannot access '{t}': No such file or directory")
                return 2
            out.extend(names)
        return 0

    def cmd_env(self, argv, stdin, out, err) -> int:
        if len(argv) == 1:
            out.extend(f"{k}={v}" for k, v in sorted(self.env.items()))
        return 0

    def cmd_printenv(self, argv, stdin, out, err) -> int:
        if len(argv) == 1:
            return self.cmd_env(argv, stdin, out, err)
        status = 0
        for a in argv[1:]:
            if a in self.env:
                out.append(self.env[a])
            else:
                status = 1
        return status

    # text filters, on stdin only (the sandbox has no files outside the zip)
    def cmd_grep(self, argv, stdin, out, err) -> int:
        flags: set[str] = set()
        args: list[str] = []
        for a in argv[1:]:
            if a.startswith("-") and len(a) > 1 and not args:
                flags |= set(a[1:])
            else:
                args.append(a)
        if not args:
            err.append("Usage: grep [OPTION]... PATTERNS [FILE]...")
            return 2
        pat = args[0]
        if "F" in flags:
            rx = re.compile(re.escape(pat))
        else:
            if "E" not in flags:  # basic regex: \( \) \{ \} are the groups, bare ones literal
                pat = re.sub(r"\\([(){}|+?])|([(){}|+?])", lambda m: m.group(1) or "\\" + m.group(2), pat)
            try:
                rx = re.compile(pat)
            except re.error:
                err.append(f"grep: Invalid regular expression")
                return 2
        found = False
        for line in stdin:
            m = rx.fullmatch(line) if "x" in flags else rx.search(line)
            if bool(m) == ("v" in flags):
                continue
            found = True
            if "q" in flags:
                return 0
            out.append(m.group(0) if "o" in flags and m else line)
        return 0 if found else 1

    def cmd_cut(self, argv, stdin, out, err) -> int:
        delim, fields = "\t", ""
        args = argv[1:]
        i = 0
        while i < len(args):
            a = args[i]
            if a in ("-d", "-f") and i + 1 < len(args):
                delim, fields = (args[i + 1], fields) if a == "-d" else (delim, args[i + 1])
                i += 2
                continue
            if a.startswith("-d"):
                delim = a[2:]
            elif a.startswith("-f"):
                fields = a[2:]
            i += 1
        wanted = [int(x) for x in fields.split(",") if x.isdigit()]
        if not wanted:
            err.append("cut: you must specify a list of bytes, characters, or fields")
            return 1
        for line in stdin:
            parts = line.split(delim)
            if len(parts) == 1:
                out.append(line)
                continue
            out.append(delim.join(parts[n - 1] for n in wanted if n <= len(parts)))
        return 0

    def cmd_tr(self, argv, stdin, out, err) -> int:
        sets = [a for a in argv[1:] if not a.startswith("-")]
        if len(sets) != 2:
            err.append("tr: missing operand")
            return 1

        def unescape(x: str) -> str:
            return x.replace("\\n", "\n").replace("\\t", "\t")

        src, dst = unescape(sets[0]), unescape(sets[1])
        table = {ord(c): dst[min(i, len(dst) - 1)] for i, c in enumerate(src)} if dst else {}
        text = "".join(line + "\n" for line in stdin).translate(table)
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        out.extend(lines)
        return 0

    def cmd_head(self, argv, stdin, out, err) -> int:
        n = 10
        args = argv[1:]
        for i, a in enumerate(args):
            if a == "-n" and i + 1 < len(args) and args[i + 1].isdigit():
                n = int(args[i + 1])
            elif re.fullmatch(r"-n?\d+", a):
                n = int(a.lstrip("-n"))
        out.extend(stdin[:n])
        return 0

    def cmd_aws(self, argv, stdin, out, err) -> int:
        args = [a for a in argv[1:]]
        if "--version" in args:
            out.append("aws-cli/2.17.20 Python/3.11.9 Linux/5.10.223-211.872.amzn2.x86_64 exec-env/AWS_ECS_EC2 exe/x86_64.ubuntu.22")
            return 0
        pos = [a for a in args if not a.startswith("-")]
        if pos[:2] == ["ecr", "get-login-password"]:
            out.append(SANDBOX_ECR_PASSWORD)
            return 0
        if pos[:2] == ["sts", "get-caller-identity"] and self.aws:
            out.extend(self.aws.caller_identity_json().split("\n"))
            return 0
        if pos[:2] == ["ecr", "get-login"]:
            err.append("")
            err.append("usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]")
            err.append("To see help text, you can run:")
            err.append("")
            err.append("  aws help")
            err.append("  aws <command> help")
            err.append("  aws <command> <subcommand> help")
            err.append("")
            err.append("aws: error: argument operation: Invalid choice, valid choices are:")
            return 252
        return 0


SANDBOX_ECR_PASSWORD = "eyJwYXlsb2FkIjoic20ta2VybmVsLXNhbmRib3gifQ=="
