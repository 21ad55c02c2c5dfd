//! `*` / `?` pattern matching for actions, resources and `...Like` conditions.
//!
//! Patterns are compiled to tokens so that a literal `*` (written `${*}` in a policy, or
//! any `*` in a `StringEquals` value) stays distinct from the wildcard. Matching is a
//! small NFA simulation: linear in the text for each pattern position, no backtracking
//! blow-up, no recursion.
//!
//! Resources are ARN-aware. AWS documents that a `*` which is the *last* character of an
//! ARN segment can expand beyond `:` boundaries; it does not say what a wildcard in the
//! middle of a segment does when the match would have to cross a `:`. So a resource is
//! matched twice: "loose" (every wildcard may match `:`) and "strict" (only a
//! segment-final `*` may). Both agree almost always; where they disagree the answer is
//! unknown rather than a guess.

use super::tri::Tri;

/// One compiled pattern element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// This exact character.
    Lit(char),
    /// `*`: any run of characters, including none.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Compiles a pattern where `*` and `?` are wildcards.
pub fn tokens(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect()
}

/// Compiles text where every character is literal (for `...Equals` operators).
pub fn literal(text: &str) -> Vec<Tok> {
    text.chars().map(Tok::Lit).collect()
}

/// Case-sensitive wildcard match of a whole string.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    matches(&tokens(pattern), text)
}

/// Case-insensitive wildcard match (IAM actions: `iam:passrole` equals `IAM:PassRole`).
pub fn glob_match_ignore_case(pattern: &str, text: &str) -> bool {
    matches(&tokens(&pattern.to_lowercase()), &text.to_lowercase())
}

/// Whole-string match; every wildcard may match any character.
pub fn matches(pattern: &[Tok], text: &str) -> bool {
    run(pattern, text, |_, _| true)
}

/// Whole-string match where only a `*` that ends a `:`-separated segment (followed by `:`
/// or at the end of the pattern) may match a `:`; `?` never matches `:`.
pub fn matches_within_segments(pattern: &[Tok], text: &str) -> bool {
    run(pattern, text, |index, c| {
        c != ':'
            || (pattern[index] == Tok::Star
                && matches!(pattern.get(index + 1), None | Some(Tok::Lit(':'))))
    })
}

/// NFA simulation. `wildcard_may_take(i, c)` says whether the wildcard at pattern index
/// `i` may consume character `c`.
fn run(pattern: &[Tok], text: &str, wildcard_may_take: impl Fn(usize, char) -> bool) -> bool {
    let len = pattern.len();
    let mut current = vec![false; len + 1];
    current[0] = true;
    close_over_stars(pattern, &mut current);
    let mut next = vec![false; len + 1];
    for c in text.chars() {
        next.iter_mut().for_each(|slot| *slot = false);
        let mut alive = false;
        for index in 0..len {
            if !current[index] {
                continue;
            }
            match pattern[index] {
                Tok::Lit(l) if l == c => {
                    next[index + 1] = true;
                    alive = true;
                }
                Tok::Lit(_) => {}
                Tok::One if wildcard_may_take(index, c) => {
                    next[index + 1] = true;
                    alive = true;
                }
                Tok::One => {}
                Tok::Star if wildcard_may_take(index, c) => {
                    next[index] = true;
                    alive = true;
                }
                Tok::Star => {}
            }
        }
        if !alive {
            return false;
        }
        close_over_stars(pattern, &mut next);
        std::mem::swap(&mut current, &mut next);
    }
    current[len]
}

/// A `*` may match nothing: reaching its position also reaches the position after it.
fn close_over_stars(pattern: &[Tok], states: &mut [bool]) {
    for index in 0..pattern.len() {
        if states[index] && pattern[index] == Tok::Star {
            states[index + 1] = true;
        }
    }
}

/// Matches a `Resource` pattern against the requested resource (an ARN or `*`).
///
/// A lone `*` matches everything. Otherwise: no loose match means no match; a strict match
/// means a match; a loose-only match (a mid-segment wildcard crossing `:`) is unknown.
pub(crate) fn match_resource(pattern: &[Tok], resource: &str) -> Tri {
    if pattern == [Tok::Star] {
        return Tri::True;
    }
    if !matches(pattern, resource) {
        return Tri::False;
    }
    if matches_within_segments(pattern, resource) {
        return Tri::True;
    }
    Tri::unknown(format!(
        "resource pattern {:?} matches {resource:?} only if a wildcard in the middle of an ARN segment matches ':'; \
         AWS documents that only a segment's trailing * crosses ':'",
        render(pattern)
    ))
}

/// `ArnLike`/`ArnEquals`: each of the six `:`-separated ARN components is matched
/// separately, so a `*` in one component never swallows a `:` (documented with the
/// example `arn:aws:someservice:*:111122223333:finance/*`). The sixth component is the
/// rest of the ARN, colons included.
pub(crate) fn match_arn(pattern: &[Tok], value: &str) -> Tri {
    let pattern_parts = split_tokens(pattern);
    if pattern_parts.len() < 6 {
        return Tri::unknown(format!(
            "ARN condition pattern {:?} has fewer than six ':'-separated components; \
             AWS does not document how ArnLike compares it",
            render(pattern)
        ));
    }
    let value_parts: Vec<&str> = value.splitn(6, ':').collect();
    if value_parts.len() < 6 {
        return Tri::False;
    }
    Tri::from_bool(
        pattern_parts
            .iter()
            .zip(value_parts)
            .all(|(p, v)| matches(p, v)),
    )
}

/// Splits at the first five literal `:` (the sixth part keeps any further colons).
fn split_tokens(pattern: &[Tok]) -> Vec<Vec<Tok>> {
    let mut parts = vec![Vec::new()];
    for &tok in pattern {
        if tok == Tok::Lit(':') && parts.len() < 6 {
            parts.push(Vec::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(tok);
        }
    }
    parts
}

/// Renders tokens back to policy text (a literal `*`/`?` as `${*}`/`${?}`).
pub fn render(pattern: &[Tok]) -> String {
    let mut out = String::new();
    for tok in pattern {
        match tok {
            Tok::Star => out.push('*'),
            Tok::One => out.push('?'),
            Tok::Lit('*') => out.push_str("${*}"),
            Tok::Lit('?') => out.push_str("${?}"),
            Tok::Lit(c) => out.push(*c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference: the same pattern as an anchored regex (`*` -> `.*`, `?` -> `.`).
    fn reference(pattern: &str, text: &str) -> bool {
        let mut re = String::from("(?s)^");
        for c in pattern.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        regex::Regex::new(&re).unwrap().is_match(text)
    }

    /// Reference for the strict (segment-aware) matcher: a non-final `*` is `[^:]*`.
    fn strict_reference(pattern: &str, text: &str) -> bool {
        let chars: Vec<char> = pattern.chars().collect();
        let mut re = String::from("(?s)^");
        for (i, c) in chars.iter().enumerate() {
            match c {
                '*' if matches!(chars.get(i + 1), None | Some(':')) => re.push_str(".*"),
                '*' => re.push_str("[^:]*"),
                '?' => re.push_str("[^:]"),
                c => re.push_str(&regex::escape(&c.to_string())),
            }
        }
        re.push('$');
        regex::Regex::new(&re).unwrap().is_match(text)
    }

    #[test]
    fn examples() {
        assert!(glob_match("s3:*", "s3:GetObject"));
        assert!(glob_match("s3:?etObject", "s3:GetObject"));
        assert!(!glob_match("s3:?etObject", "s3:PutObject"));
        assert!(!glob_match("s3:?etObject", "s3:GetObjectAcl"));
        assert!(glob_match("iam:*AccessKey*", "iam:ListAccessKeys"));
        assert!(glob_match_ignore_case("IAM:passrole", "iam:PassRole"));
        assert!(!glob_match("Bob", "bob"));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "a"));
        assert!(glob_match("***", ""));
    }

    #[test]
    fn literal_star_is_not_a_wildcard() {
        assert!(matches(&literal("a*"), "a*"));
        assert!(!matches(&literal("a*"), "ab"));
        assert!(!matches(&literal("a?"), "ab"));
    }

    #[test]
    fn resource_trailing_star_crosses_colons_but_mid_segment_is_unknown() {
        let group = tokens("arn:aws:logs:*:*:log-group:/aws/codebuild/sagemaker-studio*");
        assert_eq!(
            match_resource(
                &group,
                "arn:aws:logs:us-east-1:1:log-group:/aws/codebuild/sagemaker-studio-x:log-stream:s"
            ),
            Tri::True
        );
        let mid = tokens("arn:aws:logs:us-east-1:1:log-group:a*z");
        assert!(matches!(
            match_resource(&mid, "arn:aws:logs:us-east-1:1:log-group:ab:log-stream:z"),
            Tri::Unknown(_)
        ));
        assert_eq!(
            match_resource(&mid, "arn:aws:logs:us-east-1:1:log-group:abz"),
            Tri::True
        );
        assert_eq!(
            match_resource(&mid, "arn:aws:logs:us-east-1:1:log-group:abc"),
            Tri::False
        );
        assert_eq!(match_resource(&tokens("*"), "*"), Tri::True);
        assert_eq!(
            match_resource(&tokens("arn:aws:ecr:*:*:repository/*"), "*"),
            Tri::False
        );
    }

    #[test]
    fn arn_like_matches_components_separately() {
        let p = tokens("arn:aws:someservice:*:111122223333:finance/*");
        let v = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert!(matches(&p, v), "StringLike matches across colons");
        assert_eq!(match_arn(&p, v), Tri::False, "ArnLike does not");
        assert_eq!(
            match_arn(&p, "arn:aws:someservice:us-east-2:111122223333:finance/a:b"),
            Tri::True
        );
        assert_eq!(match_arn(&p, "not-an-arn"), Tri::False);
        assert!(matches!(
            match_arn(&tokens("arn:aws:s3:*"), "arn:aws:s3:::b"),
            Tri::Unknown(_)
        ));
    }

    proptest! {
        #[test]
        fn literal_text_matches_itself(text in "[a-zA-Z0-9:/_.-]{0,24}") {
            prop_assert!(glob_match(&text, &text));
            prop_assert!(matches(&literal(&text), &text));
            prop_assert_eq!(match_resource(&tokens(&text), &text), Tri::True);
        }

        #[test]
        fn star_matches_everything(text in "\\PC{0,24}") {
            prop_assert!(glob_match("*", &text));
            prop_assert!(matches_within_segments(&tokens("*"), &text));
        }

        #[test]
        fn equivalent_to_regex_reference(pattern in "[ab:/*?]{0,8}", text in "[ab:/]{0,10}") {
            prop_assert_eq!(glob_match(&pattern, &text), reference(&pattern, &text));
            prop_assert_eq!(
                matches_within_segments(&tokens(&pattern), &text),
                strict_reference(&pattern, &text)
            );
        }

        #[test]
        fn strict_implies_loose(pattern in "[ab:*?]{0,8}", text in "[ab:]{0,10}") {
            let t = tokens(&pattern);
            if matches_within_segments(&t, &text) {
                prop_assert!(matches(&t, &text));
            }
            // match_resource is never true without a loose match, never false with a strict one.
            match match_resource(&t, &text) {
                Tri::True => prop_assert!(matches(&t, &text)),
                Tri::False => prop_assert!(!matches_within_segments(&t, &text)),
                Tri::Unknown(_) => prop_assert!(matches(&t, &text) && !matches_within_segments(&t, &text)),
            }
        }

        #[test]
        fn actions_ignore_case_resources_do_not(text in "[a-z]{1,12}:[a-z]{1,12}") {
            let upper = text.to_uppercase();
            prop_assert!(glob_match_ignore_case(&text, &upper));
            prop_assert!(!glob_match(&text, &upper));
        }

        #[test]
        fn escaped_wildcards_are_literal(prefix in "[a-z]{0,6}", other in "[a-z]") {
            // `prefix*` as literal text matches only itself, never `prefix` + another char.
            let star_text = format!("{prefix}*");
            let other_text = format!("{prefix}{other}");
            let lit = literal(&star_text);
            prop_assert!(matches(&lit, &star_text));
            prop_assert!(!matches(&lit, &other_text));
            let one = literal(&format!("{prefix}?"));
            prop_assert!(!matches(&one, &other_text));
        }
    }
}
