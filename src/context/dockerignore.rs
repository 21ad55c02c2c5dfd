//! `.dockerignore` with Docker's (BuildKit's) semantics.
//!
//! No crate reproduces these rules: gitignore-style matchers let `*.log` match
//! `sub/x.log`, Docker does not. This is a port of moby/patternmatcher
//! (`ignorefile.ReadAll`, `New`, `Pattern.compile`, `MatchesUsingParentResults`)
//! and of the directory handling in tonistiigi/fsutil's filtered walker, which
//! is what `docker build` (BuildKit) runs. The quirks are kept on purpose —
//! `**foo` is a plain suffix test, `foo/**` does not match `foo` itself, an
//! exception that only matched a parent while it was not being evaluated is not
//! inherited — because the same `.dockerignore` is applied again by
//! `docker build` inside CodeBuild and both sides must agree.
//!
//! Known divergence, on purpose: inside a bracket expression (`[...]`) a
//! character is taken literally as Go's `filepath.Match` defines it, whereas
//! moby's regexp translation turns `*`/`?` inside brackets into regexp
//! fragments and lets `\d`-style escapes become classes. Those patterns do not
//! behave sensibly in Docker either.

use std::fmt;

use regex::Regex;

/// A pattern line that Docker would reject (at build time, for the whole build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// 1-based line in the ignore file (0 when the pattern did not come from a file).
    pub line: usize,
    pub pattern: String,
    pub reason: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`: {}", self.line, self.pattern, self.reason)
    }
}

/// One compiled line. The four kinds mirror moby's `matchType`: the non-regexp
/// kinds are not just an optimisation, they match differently (see module doc).
#[derive(Debug, Clone)]
struct Pattern {
    cleaned: String,
    exclusion: bool,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regexp(Regex),
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            Kind::Suffix => {
                let suffix = &self.cleaned[2..];
                path.ends_with(suffix) || (suffix.starts_with('/') && path == &suffix[1..])
            }
            Kind::Regexp(re) => re.is_match(path),
        }
    }

    /// What fsutil's `patternWithoutTrailingGlob` gives: used to decide whether
    /// an excluded directory can be skipped without walking it.
    fn without_trailing_glob(&self) -> &str {
        let p = self.cleaned.as_str();
        let p = p.strip_suffix("/**").unwrap_or(p);
        p.strip_suffix("/*").unwrap_or(p)
    }
}

/// Per-pattern results for a directory, handed to its children (moby's `MatchInfo`).
/// Empty means "no parent information" (entries at the context root).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchInfo(Vec<bool>);

impl MatchInfo {
    /// Parent info in which no pattern matched: turns `matches` into moby's
    /// `MatchesExact` (no parent-path matching), for tests.
    #[cfg(test)]
    pub(super) fn unmatched(patterns: usize) -> Self {
        MatchInfo(vec![false; patterns])
    }
}

/// The compiled patterns of one ignore file.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
    exclusions: bool,
    only_prefix_exceptions: bool,
}

impl DockerIgnore {
    /// Parses an ignore file the way `ignorefile.ReadAll` + `patternmatcher.New`
    /// do, compiling every pattern now so that a bad line is reported with its
    /// line number before anything is packed (Docker only fails mid-build).
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        Self::from_lines(read_all(text))
    }

    /// Compiles patterns as `patternmatcher.New` receives them (no comment or
    /// leading-slash handling); used by tests that port moby's tables.
    pub fn from_patterns<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PatternError> {
        Self::from_lines(
            patterns
                .iter()
                .map(|p| (0, p.as_ref().to_string()))
                .collect(),
        )
    }

    fn from_lines(lines: Vec<(usize, String)>) -> Result<Self, PatternError> {
        let mut out = DockerIgnore {
            only_prefix_exceptions: true,
            ..Default::default()
        };
        for (line, raw) in lines {
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            let err = |reason: String| PatternError {
                line,
                pattern: raw.clone(),
                reason,
            };
            let mut p = go_clean(trimmed);
            let mut exclusion = false;
            if let Some(rest) = p.strip_prefix('!') {
                if rest.is_empty() {
                    return Err(err("illegal exclusion pattern: \"!\"".into()));
                }
                exclusion = true;
                p = rest.to_string();
            }
            validate_glob(&p).map_err(err)?;
            let kind = compile(&p).map_err(err)?;
            let pat = Pattern {
                cleaned: p,
                exclusion,
                kind,
            };
            if exclusion {
                out.exclusions = true;
                if pat
                    .without_trailing_glob()
                    .contains(['*', '[', ']', '?', '^', '\\'])
                {
                    out.only_prefix_exceptions = false;
                }
            }
            out.patterns.push(pat);
        }
        Ok(out)
    }

    /// Number of patterns (comments and blank lines are not patterns).
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// moby's `MatchesUsingParentResults`: whether `path` (slash-separated,
    /// relative to the context) is excluded, given its parent directory's info.
    pub fn matches(&self, path: &str, parent: &MatchInfo) -> (bool, MatchInfo) {
        let parent = &parent.0;
        debug_assert!(parent.is_empty() || parent.len() == self.patterns.len());
        let mut matched = false;
        let mut info = vec![false; self.patterns.len()];
        for (i, pat) in self.patterns.iter().enumerate() {
            let mut m = parent.get(i).copied().unwrap_or(false);
            if !m {
                // Skipped patterns leave info[i] false: children do not inherit
                // a match that was never evaluated (BuildKit behaves so).
                if pat.exclusion != matched {
                    continue;
                }
                m = pat.matches(path);
                if !m && parent.is_empty() {
                    m = ancestors(path).any(|a| pat.matches(a));
                }
            }
            info[i] = m;
            if m {
                matched = !pat.exclusion;
            }
        }
        (matched, MatchInfo(info))
    }

    /// Whether `path` is excluded, evaluating its ancestors first exactly as the
    /// BuildKit walker does on its way down.
    pub fn is_excluded(&self, path: &str) -> bool {
        let mut info = MatchInfo::default();
        for dir in ancestors(path) {
            info = self.matches(dir, &info).1;
        }
        self.matches(path, &info).0
    }

    /// fsutil's shortcut: an excluded directory is not walked when no exception
    /// could re-include something below it. Taken over as is, so that even its
    /// corner cases agree with `docker build`.
    pub fn can_skip_excluded_dir(&self, dir: &str) -> bool {
        if !self.only_prefix_exceptions {
            return false;
        }
        if !self.exclusions {
            return true;
        }
        let dir_slash = format!("{dir}/");
        !self
            .patterns
            .iter()
            .filter(|p| p.exclusion)
            .any(|p| format!("{}/", p.without_trailing_glob()).starts_with(&dir_slash))
    }
}

/// Proper ancestors of a slash-separated path, outermost first.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// `ignorefile.ReadAll`: returns (line number, pattern) pairs.
pub(super) fn read_all(text: &str) -> Vec<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    // bufio.ScanLines: split on '\n', drop one trailing '\r'.
    for (idx, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Comments only at the very start of the line, before trimming.
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut pattern = if pattern.is_empty() {
            String::new()
        } else {
            let cleaned = go_clean(pattern);
            match cleaned.strip_prefix('/') {
                Some(rest) if !rest.is_empty() => rest.to_string(),
                _ => cleaned,
            }
        };
        if invert {
            pattern.insert(0, '!');
        }
        out.push((idx + 1, pattern));
    }
    out
}

/// Go's `path.Clean` (= `filepath.Clean` on Unix).
pub(super) fn go_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    let joined = out.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// The syntax check moby gets from `filepath.Match(p, ".")`: Go validates the
/// whole pattern, so this is its grammar without the matching.
fn validate_glob(p: &str) -> Result<(), String> {
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '[' => {
                i += 1;
                parse_class(&chars, &mut i)?;
            }
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err("trailing backslash escapes nothing".into());
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Parses a bracket expression after its `[` (Go's `matchChunk` class grammar)
/// and returns the equivalent Rust regex class.
fn parse_class(chars: &[char], i: &mut usize) -> Result<String, String> {
    let mut cls = String::from("[");
    if chars.get(*i) == Some(&'^') {
        cls.push('^');
        *i += 1;
    }
    let mut nrange = 0;
    loop {
        if chars.get(*i) == Some(&']') && nrange > 0 {
            *i += 1;
            break;
        }
        let lo = class_char(chars, i)?;
        push_class_char(&mut cls, lo);
        if chars.get(*i) == Some(&'-') {
            *i += 1;
            let hi = class_char(chars, i)?;
            if hi < lo {
                return Err(format!("invalid character class range {lo}-{hi}"));
            }
            cls.push('-');
            push_class_char(&mut cls, hi);
        }
        nrange += 1;
    }
    cls.push(']');
    Ok(cls)
}

/// Go's `getEsc`.
fn class_char(chars: &[char], i: &mut usize) -> Result<char, String> {
    let bad = || Err("unterminated or malformed character class `[...]`".to_string());
    match chars.get(*i) {
        None | Some('-') | Some(']') => return bad(),
        Some('\\') => *i += 1,
        _ => {}
    }
    let Some(&c) = chars.get(*i) else {
        return bad();
    };
    *i += 1;
    if *i >= chars.len() {
        return bad();
    }
    Ok(c)
}

fn push_class_char(cls: &mut String, c: char) {
    if matches!(c, '\\' | '[' | ']' | '^' | '-' | '&' | '~') {
        cls.push('\\');
    }
    cls.push(c);
}

/// moby's `Pattern.compile`, emitting Rust regex syntax with Go RE2's meaning.
fn compile(p: &str) -> Result<Kind, String> {
    #[derive(PartialEq)]
    enum T {
        Exact,
        Prefix,
        Suffix,
        Regexp,
    }
    let chars: Vec<char> = p.chars().collect();
    let mut re = String::from("^");
    let mut t = T::Exact;
    let mut i = 0;
    let mut token = 0;
    while i < chars.len() {
        let ch = chars[i];
        i += 1;
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                // "**/" is treated as "**".
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i == chars.len() {
                    if t == T::Exact {
                        t = T::Prefix;
                    } else {
                        re.push_str(".*");
                        t = T::Regexp;
                    }
                } else {
                    re.push_str("(.*/)?");
                    t = T::Regexp;
                }
                if token == 0 {
                    t = T::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                t = T::Regexp;
            }
            '?' => {
                re.push_str("[^/]");
                t = T::Regexp;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => {
                // Validation guarantees a following character.
                let c = chars[i];
                i += 1;
                re.push_str(&re2_escape(c)?);
                t = T::Regexp;
            }
            '[' => {
                re.push_str(&parse_class(&chars, &mut i)?);
                t = T::Regexp;
            }
            ']' => {
                re.push_str("\\]");
                t = T::Regexp;
            }
            c => re.push(c),
        }
        token += 1;
    }
    Ok(match t {
        T::Exact => Kind::Exact,
        T::Prefix => Kind::Prefix,
        T::Suffix => Kind::Suffix,
        T::Regexp => {
            re.push('$');
            Kind::Regexp(Regex::new(&re).map_err(|e| format!("invalid pattern: {e}"))?)
        }
    })
}

/// What `\c` means in the regexp moby builds (Go RE2), spelled for Rust's regex
/// (where `\d` is Unicode-aware and `\<` is a word boundary).
fn re2_escape(c: char) -> Result<String, String> {
    let s = match c {
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => regex::escape(&c.to_string()),
        'd' => "[0-9]".into(),
        'D' => "[^0-9]".into(),
        's' => "[\\t\\n\\f\\r ]".into(),
        'S' => "[^\\t\\n\\f\\r ]".into(),
        'w' => "[0-9A-Za-z_]".into(),
        'W' => "[^0-9A-Za-z_]".into(),
        'b' => "(?-u:\\b)".into(),
        'B' => "(?-u:\\B)".into(),
        'A' | 'z' | 'a' | 'f' | 't' | 'n' | 'r' | 'v' | 'x' | 'p' | 'P' => format!("\\{c}"),
        _ => return Err(format!("invalid escape `\\{c}`")),
    };
    Ok(s)
}
