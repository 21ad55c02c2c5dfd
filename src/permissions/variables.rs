//! Policy variables: `${aws:username}`, `${key, 'default'}`, and `${*}` `${?}` `${$}`.
//!
//! Variables are replaced by the request's value for the key. A value that the request
//! context does not supply cannot be guessed (AWS documents that an unresolvable variable
//! may invalidate the whole statement), so resolution then fails with the reason and the
//! statement's outcome becomes unknown. A default applies only when the key is known to
//! be absent. In documents without `"Version": "2012-10-17"` variables are literal text.

use super::glob::{self, Tok};
use super::request::{KeyState, Request};

/// Compiles `text` into tokens, resolving variables against `request`.
///
/// `wildcards` selects whether a plain `*`/`?` in the text is a wildcard (`...Like`,
/// `Resource`) or literal (`...Equals`). Substituted values are always literal.
pub(crate) fn resolve(
    text: &str,
    enabled: bool,
    request: &Request,
    wildcards: bool,
) -> Result<Vec<Tok>, String> {
    let compile = |s: &str| {
        if wildcards {
            glob::tokens(s)
        } else {
            glob::literal(s)
        }
    };
    if !enabled {
        return Ok(compile(text));
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.extend(compile(&rest[..start]));
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            // No closing brace: not a variable, keep the text as written.
            out.extend(compile(&rest[start..]));
            return Ok(out);
        };
        let inner = &after[..end];
        match inner {
            "*" => out.push(Tok::Lit('*')),
            "?" => out.push(Tok::Lit('?')),
            "$" => out.push(Tok::Lit('$')),
            _ => out.extend(glob::literal(&lookup(inner, request)?)),
        }
        rest = &after[end + 1..];
    }
    out.extend(compile(rest));
    Ok(out)
}

/// True when the text contains something that looks like a policy variable.
pub(crate) fn has_variable(text: &str) -> bool {
    text.contains("${")
}

fn lookup(inner: &str, request: &Request) -> Result<String, String> {
    let (key, default) = match inner.split_once(',') {
        None => (inner.trim(), None),
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default.len() >= 2 && default.starts_with('\'') && default.ends_with('\'');
            if !quoted {
                return Err(format!(
                    "policy variable ${{{inner}}} has a malformed default (expected ${{key, 'default'}})"
                ));
            }
            (key.trim(), Some(&default[1..default.len() - 1]))
        }
    };
    if key.is_empty() {
        return Err(format!("policy variable ${{{inner}}} names no key"));
    }
    match request.key(key) {
        KeyState::Present([value]) => Ok(value.clone()),
        KeyState::Present(values) => Err(format!(
            "policy variable ${{{key}}} has {} values in the request context; a variable needs exactly one",
            values.len()
        )),
        KeyState::Absent => default.map(str::to_string).ok_or_else(|| {
            format!(
                "policy variable ${{{key}}} cannot be resolved: the key is absent from the request and the variable has no default"
            )
        }),
        KeyState::Unknowable => Err(format!(
            "policy variable ${{{key}}} cannot be resolved: the request context does not supply {key}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::glob::render;
    use super::*;

    fn req() -> Request {
        Request::new("s3:GetObject", "*")
            .with_context("aws:username", ["David"])
            .with_absent("aws:userid")
    }

    #[test]
    fn substitutes_and_escapes() {
        let t = resolve("home/${aws:username}/*", true, &req(), true).unwrap();
        assert_eq!(render(&t), "home/David/*");
        assert_eq!(t.last(), Some(&Tok::Star));
        let t = resolve("a${*}b${?}${$}", true, &req(), true).unwrap();
        assert_eq!(t, glob::literal("a*b?$"));
        let t = resolve("${aws:userid, 'anonymous'}", true, &req(), false).unwrap();
        assert_eq!(t, glob::literal("anonymous"));
        let t = resolve("${aws:username}", false, &req(), false).unwrap();
        assert_eq!(t, glob::literal("${aws:username}"));
        let t = resolve("x${unclosed", true, &req(), false).unwrap();
        assert_eq!(t, glob::literal("x${unclosed"));
    }

    #[test]
    fn unresolvable_is_an_error_with_reason() {
        let e = resolve("${aws:PrincipalTag/team}", true, &req(), true).unwrap_err();
        assert!(e.contains("does not supply"), "{e}");
        let e = resolve("${aws:userid}", true, &req(), true).unwrap_err();
        assert!(e.contains("no default"), "{e}");
        let e = resolve("${aws:userid, anonymous}", true, &req(), true).unwrap_err();
        assert!(e.contains("malformed"), "{e}");
    }
}
