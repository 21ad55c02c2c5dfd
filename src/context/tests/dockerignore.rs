//! `.dockerignore` semantics: Docker's documented examples, moby/patternmatcher's
//! test tables, and property tests against an independent matcher.

use proptest::prelude::*;

use super::super::dockerignore::{go_clean, read_all};
use super::super::{DockerIgnore, MatchInfo};

fn ignore(text: &str) -> DockerIgnore {
    DockerIgnore::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn excluded(text: &str, path: &str) -> bool {
    ignore(text).is_excluded(path)
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Pass {
    Fail,
    Exact,
    Inexact,
}
use Pass::*;

/// moby/patternmatcher `TestMatches` (Unix cases).
const MOBY_MATCHES: &[(&str, &str, Pass)] = &[
    ("**", "file", Exact),
    ("**", "file/", Exact),
    ("**/", "file", Exact),
    ("**/", "file/", Exact),
    ("**", "/", Exact),
    ("**/", "/", Exact),
    ("**", "dir/file", Exact),
    ("**/", "dir/file", Exact),
    ("**", "dir/file/", Exact),
    ("**/", "dir/file/", Exact),
    ("**/**", "dir/file", Exact),
    ("**/**", "dir/file/", Exact),
    ("dir/**", "dir/file", Exact),
    ("dir/**", "dir/file/", Exact),
    ("dir/**", "dir/dir2/file", Exact),
    ("dir/**", "dir/dir2/file/", Exact),
    ("**/dir", "dir", Exact),
    ("**/dir", "dir/file", Inexact),
    ("**/dir2/*", "dir/dir2/file", Exact),
    ("**/dir2/*", "dir/dir2/file/", Inexact),
    ("**/dir2/**", "dir/dir2/dir3/file", Exact),
    ("**/dir2/**", "dir/dir2/dir3/file/", Exact),
    ("**file", "file", Exact),
    ("**file", "dir/file", Exact),
    ("**/file", "dir/file", Exact),
    ("**file", "dir/dir/file", Exact),
    ("**/file", "dir/dir/file", Exact),
    ("**/file*", "dir/dir/file", Exact),
    ("**/file*", "dir/dir/file.txt", Exact),
    ("**/file*txt", "dir/dir/file.txt", Exact),
    ("**/file*.txt", "dir/dir/file.txt", Exact),
    ("**/file*.txt*", "dir/dir/file.txt", Exact),
    ("**/**/*.txt", "dir/dir/file.txt", Exact),
    ("**/**/*.txt2", "dir/dir/file.txt", Fail),
    ("**/*.txt", "file.txt", Exact),
    ("**/**/*.txt", "file.txt", Exact),
    ("a**/*.txt", "a/file.txt", Exact),
    ("a**/*.txt", "a/dir/file.txt", Exact),
    ("a**/*.txt", "a/dir/dir/file.txt", Exact),
    ("a/*.txt", "a/dir/file.txt", Fail),
    ("a/*.txt", "a/file.txt", Exact),
    ("a/*.txt**", "a/file.txt", Exact),
    ("a[b-d]e", "ae", Fail),
    ("a[b-d]e", "ace", Exact),
    ("a[b-d]e", "aae", Fail),
    ("a[^b-d]e", "aze", Exact),
    (".*", ".foo", Exact),
    (".*", "foo", Fail),
    ("abc.def", "abcdef", Fail),
    ("abc.def", "abc.def", Exact),
    ("abc.def", "abcZdef", Fail),
    ("abc?def", "abcZdef", Exact),
    ("abc?def", "abcdef", Fail),
    ("**/foo/bar", "foo/bar", Exact),
    ("**/foo/bar", "dir/foo/bar", Exact),
    ("**/foo/bar", "dir/dir2/foo/bar", Exact),
    ("abc/**", "abc", Fail),
    ("abc/**", "abc/def", Exact),
    ("abc/**", "abc/def/ghi", Exact),
    ("**/.foo", ".foo", Exact),
    ("**/.foo", "bar.foo", Fail),
    ("a(b)c/def", "a(b)c/def", Exact),
    ("a(b)c/def", "a(b)c/xyz", Fail),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", Exact),
    (
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        Exact,
    ),
    (
        "dist/*.whl",
        "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
        Exact,
    ),
    ("a\\\\", "a\\", Exact),
    ("a\\*b", "a*b", Exact),
];

#[test]
fn moby_table_exact_match() {
    for &(pattern, text, pass) in MOBY_MATCHES {
        let d = DockerIgnore::from_patterns(&[pattern]).unwrap();
        let (got, _) = d.matches(text, &MatchInfo::unmatched(d.len()));
        assert_eq!(got, pass == Exact, "MatchesExact({pattern:?}, {text:?})");
    }
}

#[test]
fn moby_table_with_parents() {
    for &(pattern, text, pass) in MOBY_MATCHES {
        let d = DockerIgnore::from_patterns(&[pattern]).unwrap();
        assert_eq!(
            d.is_excluded(text),
            pass != Fail,
            "MatchesUsingParentResults({pattern:?}, {text:?})"
        );
        // Without parent info the root-level evaluation checks every parent.
        let (got, _) = d.matches(text, &MatchInfo::default());
        assert_eq!(got, pass != Fail, "NoContext({pattern:?}, {text:?})");
    }
}

#[test]
fn moby_multi_pattern_table() {
    let cases: &[(&[&str], &str, bool)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", false),
        (
            &["**", "!util/docker/web", "util/docker/web/foo"],
            "util/docker/web/foo",
            true,
        ),
        (
            &[
                "**",
                "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            ],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            false,
        ),
        (
            &["**", "!dist/*.whl"],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            false,
        ),
        // TestPatternMatchesFolderExclusions and friends.
        (&["docs", "!docs/README.md"], "docs/README.md", false),
        (&["docs/", "!docs/README.md"], "docs/README.md", false),
        (&["docs/*", "!docs/README.md"], "docs/README.md", false),
        (&["*.go", "!fileutils.go"], "fileutils.go", false),
        (&["!fileutils.go", "*.go"], "fileutils.go", true),
        (&["*"], "fileutils.go", true),
        (&["*.go"], "fileutils.go", true),
        (&[], "/any/path/there", false),
        (&["docs", "  !docs/README.md"], "docs/README.md", false),
        (&["docs", "!docs/README.md  "], "docs/README.md", false),
    ];
    for &(patterns, text, want) in cases {
        let d = DockerIgnore::from_patterns(patterns).unwrap();
        assert_eq!(d.is_excluded(text), want, "{patterns:?} on {text:?}");
    }
}

/// Go's `filepath.Match` table as moby runs it (`TestMatch`).
#[test]
fn go_filepath_match_table() {
    let ok: &[(&str, &str, bool)] = &[
        ("abc", "abc", true),
        ("*", "abc", true),
        ("*c", "abc", true),
        ("a*", "a", true),
        ("a*", "abc", true),
        ("a*", "ab/c", true),
        ("a*/b", "abc/b", true),
        ("a*/b", "a/c/b", false),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
        ("a*b?c*x", "abxbbxdbxebxczzx", true),
        ("a*b?c*x", "abxbbxdbxebxczzy", false),
        ("ab[c]", "abc", true),
        ("ab[b-d]", "abc", true),
        ("ab[e-g]", "abc", false),
        ("ab[^c]", "abc", false),
        ("ab[^b-d]", "abc", false),
        ("ab[^e-g]", "abc", true),
        ("a\\*b", "a*b", true),
        ("a\\*b", "ab", false),
        ("a?b", "a☺b", true),
        ("a[^a]b", "a☺b", true),
        ("a???b", "a☺b", false),
        ("a[^a][^a][^a]b", "a☺b", false),
        ("[a-ζ]*", "α", true),
        ("*[a-ζ]", "A", false),
        ("a?b", "a/b", false),
        ("a*b", "a/b", false),
        ("[\\]a]", "]", true),
        ("[\\-]", "-", true),
        ("[x\\-]", "x", true),
        ("[x\\-]", "-", true),
        ("[x\\-]", "z", false),
        ("[\\-x]", "x", true),
        ("[\\-x]", "-", true),
        ("[\\-x]", "a", false),
        ("*x", "xxx", true),
    ];
    for &(pattern, text, want) in ok {
        let d = DockerIgnore::from_patterns(&[pattern]).unwrap();
        assert_eq!(d.is_excluded(text), want, "Match({pattern:?}, {text:?})");
    }
    let bad = [
        "[]a]",
        "[-]",
        "[x-]",
        "[-x]",
        "\\",
        "[a-b-c]",
        "[",
        "[^",
        "[^bc",
        "a[",
        "!",
        // Accepted by Go's syntax check but not by the regexp moby builds from it:
        // Docker fails the build at match time, we fail at parse time.
        "[Local-Only]/",
    ];
    for pattern in bad {
        assert!(
            DockerIgnore::from_patterns(&[pattern]).is_err(),
            "{pattern:?} should be rejected"
        );
    }
}

/// moby `TestCompile`: the kind decides behaviour, so check it through matching.
#[test]
fn moby_match_kinds_behave() {
    // `**file` is a plain suffix test, not a path-component match.
    assert!(excluded("**file", "dir/xfile"));
    // `a**` (prefix kind) matches anything starting with `a`, across slashes.
    assert!(excluded("a**", "abc/def"));
    // `**/dir` (suffix kind with a slash) needs a component boundary.
    assert!(!excluded("**/dir", "xdir"));
    assert!(excluded("**/dir", "x/dir"));
    // Regexp metacharacters stay literal.
    assert!(excluded("a.|)$(}+{bc", "a.|)$(}+{bc"));
    assert!(!excluded("abc.def", "abcxdef"));
    // `**` between two literals without a slash matches zero or more whole
    // directories, not arbitrary characters (moby's "(.*/)?").
    assert!(excluded("a**b", "ab"));
    assert!(excluded("a**b", "ax/b"));
    assert!(!excluded("a**b", "axb"));
}

/// ignorefile `TestReadAll`.
#[test]
fn read_all_like_moby() {
    let content =
        "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
    let got: Vec<String> = read_all(content).into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        got,
        [
            "test1",
            "test2",
            "a/file/here",
            "lastfile",
            "!inverted/abs/path",
            "!",
            "!"
        ]
    );
    let lines: Vec<usize> = read_all(content).into_iter().map(|(l, _)| l).collect();
    assert_eq!(lines, [1, 2, 3, 5, 7, 8, 9]);
    let err = DockerIgnore::parse(content).unwrap_err();
    assert_eq!(err.line, 8);
    assert!(err.reason.contains("illegal exclusion"), "{err}");
}

#[test]
fn read_all_details() {
    // BOM, CRLF, indented '#' is a pattern, trailing spaces trimmed.
    let text = "\u{feff}# comment\r\nfoo \r\n  # not a comment\n\t/bar/../baz/ \n";
    let got: Vec<String> = read_all(text).into_iter().map(|(_, p)| p).collect();
    assert_eq!(got, ["foo", "# not a comment", "baz"]);
    assert!(excluded(text, "# not a comment"));
    assert!(excluded(text, "baz/x"));
    assert!(!excluded(text, "bar"));
}

#[test]
fn go_clean_cases() {
    let cases = [
        ("", "."),
        (".", "."),
        ("/", "/"),
        ("a//b", "a/b"),
        ("a/./b/", "a/b"),
        ("a/../..", ".."),
        ("../../a", "../../a"),
        ("/../a", "/a"),
        ("a/b/../c", "a/c"),
        ("//x//", "/x"),
    ];
    for (input, want) in cases {
        assert_eq!(go_clean(input), want, "Clean({input:?})");
    }
}

/// The examples of Docker's "Build context" page (.dockerignore files).
#[test]
fn docker_docs_examples() {
    let doc = "# comment\n*/temp*\n*/*/temp*\ntemp?\n";
    assert!(excluded(doc, "somedir/temporary.txt"));
    assert!(excluded(doc, "somedir/temp"));
    assert!(excluded(doc, "somedir/temp/inside"));
    assert!(excluded(doc, "somedir/subdir/temporary.txt"));
    assert!(excluded(doc, "tempa"));
    assert!(excluded(doc, "tempb"));
    assert!(!excluded(doc, "temp"));
    assert!(!excluded(doc, "tempab"));
    assert!(!excluded(doc, "temporary.txt"));
    assert!(!excluded(doc, "a/b/c/temporary.txt"));
    assert!(!excluded(doc, "# comment"));

    assert!(excluded("**/*.go", "main.go"));
    assert!(excluded("**/*.go", "a/b/c/main.go"));
    assert!(!excluded("**/*.go", "a/main.goo"));

    let md = "*.md\n!README.md\n";
    assert!(excluded(md, "CHANGELOG.md"));
    assert!(!excluded(md, "README.md"));
    // `*.md` is anchored at the root (gitignore would match this one).
    assert!(!excluded(md, "docs/guide.md"));

    let secret_last = "*.md\n!README*.md\nREADME-secret.md\n";
    assert!(excluded(secret_last, "README-secret.md"));
    assert!(!excluded(secret_last, "README-public.md"));
    assert!(excluded(secret_last, "other.md"));

    let secret_first = "*.md\nREADME-secret.md\n!README*.md\n";
    assert!(!excluded(secret_first, "README-secret.md"));
    assert!(!excluded(secret_first, "README-public.md"));

    // "For historical reasons, the pattern `.` is ignored."
    assert!(!excluded(".\n", "anything"));
    assert!(!excluded("./\n", "a/b"));
}

#[test]
fn leading_and_trailing_slashes() {
    for text in [
        "/foo/bar",
        "foo/bar",
        "foo/bar/",
        "/foo/bar/",
        "//foo//bar//",
    ] {
        assert!(excluded(text, "foo/bar"), "{text}");
        assert!(excluded(text, "foo/bar/inner"), "{text}");
        assert!(!excluded(text, "foo"), "{text}");
        assert!(!excluded(text, "x/foo/bar"), "{text}");
    }
    // A trailing slash does not restrict the pattern to directories.
    assert!(excluded("build/\n", "build"));
    assert!(excluded("! /keep\n*\n", "keep"));
    assert!(!excluded("*\n! /keep/\n", "keep/file"));
}

#[test]
fn exceptions_reinclude_below_excluded_dirs() {
    let text = "node_modules\n!node_modules/keep\n";
    let d = ignore(text);
    assert!(d.is_excluded("node_modules"));
    assert!(d.is_excluded("node_modules/other/x.js"));
    assert!(!d.is_excluded("node_modules/keep"));
    assert!(!d.is_excluded("node_modules/keep/index.js"));
    // The walker must enter node_modules; with no exception it may skip it.
    assert!(!d.can_skip_excluded_dir("node_modules"));
    assert!(d.can_skip_excluded_dir("other"));
    assert!(ignore("node_modules\n").can_skip_excluded_dir("node_modules"));
    // Glob exceptions could match anything: never skip.
    assert!(!ignore("a\n!**/keep\n").can_skip_excluded_dir("a"));
}

/// BuildKit evaluates directories on the way down and children inherit only
/// what was evaluated: an exclusion that was skipped for the parent does not
/// reach the child. `MatchesOrParentMatches` would exclude `a/b` here.
#[test]
fn buildkit_parent_inheritance_quirk() {
    let d = ignore("a\n!a/b\na\n");
    assert!(!d.is_excluded("a/b"));
    assert!(!d.is_excluded("a/b/c"));
    assert!(d.is_excluded("a/c"));
    assert!(d.is_excluded("a"));
}

#[test]
fn invalid_patterns_name_the_line() {
    let err = DockerIgnore::parse("ok\n# fine\n[z-a]\n").unwrap_err();
    assert_eq!(err.line, 3);
    assert_eq!(err.pattern, "[z-a]");
    let err = DockerIgnore::parse("a\nb\\\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(DockerIgnore::parse("x\\q").is_err());
}

#[test]
fn regex_escapes_follow_go() {
    // moby turns `\d` into a regexp class (Go: ASCII digits only).
    assert!(excluded("v\\d", "v7"));
    assert!(!excluded("v\\d", "v٣"));
    // `\<` is a literal in Go's regexp, a word boundary in Rust's.
    assert!(excluded("a\\<b*", "a<bc"));
    // Bracket characters are literal, including Rust class operators.
    assert!(excluded("x[&~]y", "x~y"));
    assert!(excluded("x[[]y", "x[y"));
    assert!(excluded("a]b", "a]b"));
}

// ---------------------------------------------------------------------------
// Property tests against an independent matcher: a component-wise glob with
// backtracking (no regexps), over patterns whose `**` are whole components.

#[derive(Clone, Debug)]
enum Comp {
    AnyDirs,
    Glob(String),
}

fn glob_component(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|k| glob_component(rest, &name[k..])),
        Some((b'?', rest)) => !name.is_empty() && glob_component(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && glob_component(rest, &name[1..]),
    }
}

/// Whether the pattern matches the whole path. A trailing `**` needs at least
/// one component (`dir/**` does not match `dir`), an inner one takes zero or more.
fn ref_match(pat: &[Comp], path: &[&str]) -> bool {
    match pat.split_first() {
        None => path.is_empty(),
        Some((Comp::AnyDirs, [])) => !path.is_empty(),
        Some((Comp::AnyDirs, rest)) => (0..=path.len()).any(|k| ref_match(rest, &path[k..])),
        Some((Comp::Glob(g), rest)) => {
            !path.is_empty()
                && glob_component(g.as_bytes(), path[0].as_bytes())
                && ref_match(rest, &path[1..])
        }
    }
}

/// The patterns matched at `path`, evaluated recursively from the root.
fn ref_eval(pats: &[(bool, Vec<Comp>)], path: &[&str]) -> (bool, Vec<bool>) {
    let parent = (path.len() > 1).then(|| ref_eval(pats, &path[..path.len() - 1]).1);
    let mut matched = false;
    let mut info = Vec::new();
    for (i, (exclusion, comps)) in pats.iter().enumerate() {
        let inherited = parent.as_ref().is_some_and(|p| p[i]);
        let m = inherited || (*exclusion == matched && ref_match(comps, path));
        info.push(m);
        if m {
            matched = !exclusion;
        }
    }
    (matched, info)
}

fn comp_strategy() -> impl Strategy<Value = Comp> {
    prop_oneof![
        1 => Just(Comp::AnyDirs),
        4 => prop::collection::vec(prop_oneof![Just("a"), Just("b"), Just("*"), Just("?")], 1..4)
            .prop_map(|toks| {
                let mut s = String::new();
                for t in toks {
                    // Two `*` in a row would be a `**` inside a component.
                    if !(t == "*" && s.ends_with('*')) {
                        s.push_str(t);
                    }
                }
                Comp::Glob(s)
            }),
    ]
}

fn pattern_strategy() -> impl Strategy<Value = (bool, Vec<Comp>, bool, bool)> {
    (
        any::<bool>(),
        prop::collection::vec(comp_strategy(), 1..4),
        any::<bool>(),
        any::<bool>(),
    )
}

fn render(exclusion: bool, comps: &[Comp], lead: bool, trail: bool) -> String {
    let body: Vec<&str> = comps
        .iter()
        .map(|c| match c {
            Comp::AnyDirs => "**",
            Comp::Glob(g) => g.as_str(),
        })
        .collect();
    format!(
        "{}{}{}{}",
        if exclusion { "!" } else { "" },
        if lead { "/" } else { "" },
        body.join("/"),
        if trail { "/" } else { "" }
    )
}

fn path_strategy() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        prop_oneof![Just("a"), Just("b"), Just("ab"), Just("ba"), Just("aa")],
        1..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// One pattern excludes a path iff it matches the path or one of its parents.
    #[test]
    fn single_pattern_matches_path_or_parent(
        (_, comps, lead, trail) in pattern_strategy(),
        path in path_strategy(),
    ) {
        let text = render(false, &comps, lead, trail);
        let want = (1..=path.len()).any(|n| ref_match(&comps, &path[..n]));
        prop_assert_eq!(excluded(&text, &path.join("/")), want, "{} on {:?}", text, path);
    }

    /// Any list of patterns, `!` included, agrees with the recursive reference.
    #[test]
    fn pattern_lists_agree_with_reference(
        pats in prop::collection::vec(pattern_strategy(), 1..6),
        path in path_strategy(),
    ) {
        let text: Vec<String> = pats.iter().map(|(e, c, l, t)| render(*e, c, *l, *t)).collect();
        let reference: Vec<(bool, Vec<Comp>)> = pats.iter().map(|(e, c, _, _)| (*e, c.clone())).collect();
        let want = ref_eval(&reference, &path).0;
        prop_assert_eq!(excluded(&text.join("\n"), &path.join("/")), want, "{:?} on {:?}", text, path);
    }

    /// Without exceptions, a path is excluded iff some pattern matches it or a parent.
    #[test]
    fn without_exceptions_any_match_excludes(
        pats in prop::collection::vec(pattern_strategy(), 1..5),
        path in path_strategy(),
    ) {
        let text: Vec<String> = pats.iter().map(|(_, c, l, t)| render(false, c, *l, *t)).collect();
        let want = pats.iter().any(|(_, c, _, _)| (1..=path.len()).any(|n| ref_match(c, &path[..n])));
        prop_assert_eq!(excluded(&text.join("\n"), &path.join("/")), want);
    }

    /// Last match wins: appending P excludes what P matches; appending P then
    /// !P re-includes it, whatever came before.
    #[test]
    fn last_match_wins(
        pats in prop::collection::vec(pattern_strategy(), 0..5),
        (path, shapes, any_dirs, lead, trail) in (path_strategy(), prop::collection::vec(0..3u8, 4), any::<bool>(), any::<bool>(), any::<bool>()),
    ) {
        // A pattern built from the path, so that it matches it.
        let mut comps: Vec<Comp> = if any_dirs { vec![Comp::AnyDirs] } else { vec![] };
        for (c, shape) in path.iter().zip(shapes.iter().cycle()) {
            comps.push(Comp::Glob(match shape {
                0 => c.to_string(),
                1 => "*".into(),
                _ => format!("?{}", &c[1..]),
            }));
        }
        prop_assert!(ref_match(&comps, &path));
        let mut text: Vec<String> = pats.iter().map(|(e, c, l, t)| render(*e, c, *l, *t)).collect();
        text.push(render(false, &comps, lead, trail));
        prop_assert!(excluded(&text.join("\n"), &path.join("/")), "{:?}", text);
        text.push(render(true, &comps, lead, trail));
        prop_assert!(!excluded(&text.join("\n"), &path.join("/")), "{:?}", text);
    }
}

/// The walker (with BuildKit's shortcut of not entering excluded directories
/// that no exception can reach into) keeps exactly the paths `is_excluded`
/// keeps, plus the excluded directories that contain something kept.
mod walker {
    use std::collections::BTreeSet;
    use std::fs;

    use proptest::prelude::*;

    use super::super::{names, scan_ok, source, write_files};
    use super::{ignore, pattern_strategy, render};

    const FILES: &[&str] = &[
        "ab", "ba", "a/a", "a/b", "a/ab/a", "a/ab/b", "b/a/a", "b/a/b", "b/ba/aa", "aa/b/a/b",
        "aa/b/a/a", "aa/ab",
    ];
    const EMPTY_DIRS: &[&str] = &["b/ba/ab", "aa/aa", "bb"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn walker_keeps_what_is_excluded_says(pats in prop::collection::vec(pattern_strategy(), 1..5)) {
            let text: Vec<String> = pats.iter().map(|(e, c, l, t)| render(*e, c, *l, *t)).collect();
            let text = text.join("\n");
            let t = tempfile::tempdir().unwrap();
            let ctx = t.path();
            let files: Vec<(&str, &[u8])> = FILES.iter().map(|f| (*f, &b"x"[..])).collect();
            write_files(ctx, &files);
            write_files(ctx, &[("Dockerfile", b"FROM scratch\n"), (".dockerignore", text.as_bytes())]);
            for d in EMPTY_DIRS {
                fs::create_dir_all(ctx.join(d)).unwrap();
            }

            let d = ignore(&text);
            let mut dirs = BTreeSet::new();
            for p in FILES.iter().chain(EMPTY_DIRS) {
                let mut acc = String::new();
                for comp in p.split('/') {
                    if !acc.is_empty() {
                        acc.push('/');
                    }
                    acc.push_str(comp);
                    dirs.insert(acc.clone());
                }
            }
            for f in FILES {
                dirs.remove(*f);
            }
            let mut want: BTreeSet<String> =
                FILES.iter().filter(|f| !d.is_excluded(f)).map(|f| f.to_string()).collect();
            for dir in &dirs {
                let prefix = format!("{dir}/");
                let kept_below = FILES.iter().chain(EMPTY_DIRS).any(|p| {
                    p.starts_with(&prefix)
                        && (!d.is_excluded(p)
                            || p.match_indices('/').any(|(i, _)| i > dir.len() && !d.is_excluded(&p[..i])))
                });
                if !d.is_excluded(dir) || kept_below {
                    want.insert(prefix);
                }
            }

            let got: BTreeSet<String> = names(&scan_ok(&source(ctx)))
                .into_iter()
                .filter(|n| n != "Dockerfile" && n != ".dockerignore")
                .collect();
            prop_assert_eq!(got, want, "patterns:\n{}", text);
        }
    }
}
