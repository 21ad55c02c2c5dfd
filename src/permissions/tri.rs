//! Three-valued logic (Kleene): true, false, or unknown with the reason why.
//!
//! Every match the evaluator makes can be undecidable (an unknowable condition key, an
//! operator it does not implement), so results carry the reason instead of collapsing to
//! `false`, which would silently turn "cannot tell" into "denied" or "not denied".

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Unknown(String),
}

impl Tri {
    pub(crate) fn from_bool(value: bool) -> Tri {
        if value {
            Tri::True
        } else {
            Tri::False
        }
    }

    pub(crate) fn unknown(reason: impl Into<String>) -> Tri {
        Tri::Unknown(reason.into())
    }

    /// Logical AND; `other` is evaluated only when `self` is not already `False`.
    /// A definite `False` on either side wins over `Unknown`.
    pub(crate) fn and(self, other: impl FnOnce() -> Tri) -> Tri {
        match self {
            Tri::False => Tri::False,
            Tri::True => other(),
            Tri::Unknown(reason) => match other() {
                Tri::False => Tri::False,
                _ => Tri::Unknown(reason),
            },
        }
    }

    pub(crate) fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            unknown => unknown,
        }
    }

    /// OR over many: `True` if any is true, else the first `Unknown`, else `False`.
    pub(crate) fn any(items: impl IntoIterator<Item = Tri>) -> Tri {
        let mut first_unknown = None;
        for item in items {
            match item {
                Tri::True => return Tri::True,
                Tri::False => {}
                Tri::Unknown(reason) => {
                    first_unknown.get_or_insert(reason);
                }
            }
        }
        first_unknown.map_or(Tri::False, Tri::Unknown)
    }

    /// AND over many: `False` if any is false, else the first `Unknown`, else `True`.
    pub(crate) fn all(items: impl IntoIterator<Item = Tri>) -> Tri {
        let mut first_unknown = None;
        for item in items {
            match item {
                Tri::False => return Tri::False,
                Tri::True => {}
                Tri::Unknown(reason) => {
                    first_unknown.get_or_insert(reason);
                }
            }
        }
        first_unknown.map_or(Tri::True, Tri::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::Tri;

    #[test]
    fn false_dominates_unknown_in_and_and_all() {
        assert_eq!(Tri::unknown("x").and(|| Tri::False), Tri::False);
        assert_eq!(Tri::False.and(|| Tri::unknown("x")), Tri::False);
        assert_eq!(Tri::all([Tri::unknown("x"), Tri::False]), Tri::False);
        assert_eq!(Tri::all([Tri::True, Tri::unknown("x")]), Tri::unknown("x"));
        assert_eq!(Tri::all(Vec::new()), Tri::True);
    }

    #[test]
    fn true_dominates_unknown_in_any() {
        assert_eq!(Tri::any([Tri::unknown("x"), Tri::True]), Tri::True);
        assert_eq!(Tri::any([Tri::False, Tri::unknown("y")]), Tri::unknown("y"));
        assert_eq!(Tri::any(Vec::new()), Tri::False);
        assert_eq!(Tri::unknown("z").not(), Tri::unknown("z"));
    }
}
