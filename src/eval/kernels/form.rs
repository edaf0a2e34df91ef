//! Selectors of comparisons as disjoint unions of conjunctions.
//!
//! A comparison of a key with a query has three outcomes: the key is less
//! than, equal to or greater than the query (keys and queries here are exact
//! `f64`s without NaN, so exactly one holds). Every comparison operator is a
//! set of outcomes (`<=` is {less, equal}, `!=` is {less, greater}), so a
//! [`Literal`] is a column pair with a mask of outcomes: `and` of two literals
//! on the same pair intersects their masks, `not` takes the complement.
//!
//! A [`Form`] is a union of [`Term`]s (conjunctions of literals) that never
//! overlap, so a query's width is the sum of its terms' widths and a sum over
//! the selected keys is the sum of the terms' sums. `not` and `or` keep terms
//! disjoint: `not (a and b) = (not a) or (a and not b)`, and
//! `x or y = x or (not x and y)`.

use std::rc::Rc;

use crate::syntax::ast::CmpOp;

/// The key is less than the query.
pub const LESS: u8 = 1;
/// The key equals the query.
pub const EQUAL: u8 = 2;
/// The key is greater than the query.
pub const GREATER: u8 = 4;
const ALL: u8 = LESS | EQUAL | GREATER;

/// A column of exact keys. Columns with the same values are the same `Rc`
/// (the evaluator interns them), so pointer identity is value identity.
pub type Keys = Rc<Vec<f64>>;

/// Key `k` is selected for query `q` when comparing `keys[k]` with
/// `queries[q]` has an outcome in `mask`.
#[derive(Clone, Debug)]
pub struct Literal {
    pub keys: Keys,
    pub queries: Keys,
    pub mask: u8,
}

impl Literal {
    fn pair(&self) -> (*const Vec<f64>, *const Vec<f64>) {
        (Rc::as_ptr(&self.keys), Rc::as_ptr(&self.queries))
    }

    /// The comparison operator with this literal's outcomes.
    pub fn op(&self) -> CmpOp {
        match self.mask {
            LESS => CmpOp::Lt,
            m if m == LESS | EQUAL => CmpOp::Le,
            EQUAL => CmpOp::Eq,
            m if m == EQUAL | GREATER => CmpOp::Ge,
            GREATER => CmpOp::Gt,
            _ => CmpOp::Ne,
        }
    }
}

fn mask_of(op: CmpOp) -> u8 {
    match op {
        CmpOp::Lt => LESS,
        CmpOp::Le => LESS | EQUAL,
        CmpOp::Eq => EQUAL,
        CmpOp::Ge => EQUAL | GREATER,
        CmpOp::Gt => GREATER,
        CmpOp::Ne => LESS | GREATER,
    }
}

/// A conjunction of literals, at most one per column pair; no literals is
/// "every key".
#[derive(Clone, Debug, Default)]
pub struct Term {
    pub literals: Vec<Literal>,
}

impl Term {
    /// `self and other`; `None` when no key can satisfy both.
    fn and(&self, other: &Term) -> Option<Term> {
        let mut literals = self.literals.clone();
        for lit in &other.literals {
            match literals.iter_mut().find(|l| l.pair() == lit.pair()) {
                Some(l) => {
                    l.mask &= lit.mask;
                    if l.mask == 0 {
                        return None;
                    }
                }
                None => literals.push(lit.clone()),
            }
        }
        literals.retain(|l| l.mask != ALL);
        Some(Term { literals })
    }

    /// `not self` as disjoint terms: `not a1`, `a1 and not a2`, ...
    fn not(&self) -> Vec<Term> {
        (0..self.literals.len())
            .map(|j| {
                let mut literals = self.literals[..j].to_vec();
                let mut negated = self.literals[j].clone();
                negated.mask = ALL & !negated.mask;
                literals.push(negated);
                Term { literals }
            })
            .collect()
    }

    /// The key columns that this term orders by: those with a literal that
    /// is not a plain `==`.
    pub fn order_columns(&self) -> Vec<&Keys> {
        let mut columns: Vec<&Keys> = Vec::new();
        for l in &self.literals {
            if l.mask != EQUAL && !columns.iter().any(|c| Rc::ptr_eq(c, &l.keys)) {
                columns.push(&l.keys);
            }
        }
        columns
    }
}

/// Forms with more terms (or literals) than these are materialised instead.
const MAX_TERMS: usize = 32;
const MAX_LITERALS: usize = 256;

/// The most order columns a term may have and still get a plan.
pub const MAX_ORDER_COLUMNS: usize = 2;

/// A selector as a union of disjoint terms.
#[derive(Clone, Debug)]
pub struct Form {
    pub terms: Vec<Term>,
}

impl Form {
    /// `select(keys, queries, op)`.
    pub fn compare(keys: Keys, queries: Keys, op: CmpOp) -> Form {
        Form {
            terms: vec![Term {
                literals: vec![Literal {
                    keys,
                    queries,
                    mask: mask_of(op),
                }],
            }],
        }
    }

    fn checked(terms: Vec<Term>) -> Option<Form> {
        let literals: usize = terms.iter().map(|t| t.literals.len()).sum();
        (terms.len() <= MAX_TERMS && literals <= MAX_LITERALS).then_some(Form { terms })
    }

    /// `self and other`; `None` if the result is too large.
    pub fn and(&self, other: &Form) -> Option<Form> {
        let mut terms = Vec::new();
        for a in &self.terms {
            for b in &other.terms {
                if let Some(t) = a.and(b) {
                    terms.push(t);
                    if terms.len() > MAX_TERMS {
                        return None;
                    }
                }
            }
        }
        Form::checked(terms)
    }

    /// `not self`; `None` if the result is too large.
    pub fn not(&self) -> Option<Form> {
        let mut acc = Form {
            terms: vec![Term::default()],
        };
        for t in &self.terms {
            acc = acc.and(&Form { terms: t.not() })?;
        }
        Some(acc)
    }

    /// `self or other` as `self or (not self and other)` (or the other way
    /// round, whichever has fewer terms); `None` if too large.
    pub fn or(&self, other: &Form) -> Option<Form> {
        let union = |first: &Form, second: &Form| -> Option<Form> {
            let rest = first.not()?.and(second)?;
            let mut terms = first.terms.clone();
            terms.extend(rest.terms);
            Form::checked(terms)
        };
        match (union(self, other), union(other, self)) {
            (Some(a), Some(b)) => Some(if b.terms.len() < a.terms.len() { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// The terms with every `!=` literal split into `<` and `>` (so each
    /// literal selects one interval of its key column's order); `None` if
    /// that makes too many terms.
    pub fn expanded(&self) -> Option<Vec<Term>> {
        let mut out: Vec<Term> = Vec::new();
        for term in &self.terms {
            let mut partial = vec![Term::default()];
            for lit in &term.literals {
                let masks: &[u8] = if lit.mask == LESS | GREATER {
                    &[LESS, GREATER]
                } else {
                    std::slice::from_ref(&lit.mask)
                };
                let mut next = Vec::with_capacity(partial.len() * masks.len());
                for t in &partial {
                    for &mask in masks {
                        let mut t = t.clone();
                        t.literals.push(Literal {
                            mask,
                            ..lit.clone()
                        });
                        next.push(t);
                    }
                }
                partial = next;
                if out.len() + partial.len() > 2 * MAX_TERMS {
                    return None;
                }
            }
            out.extend(partial);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan;
    use super::*;

    fn column(values: &[f64]) -> Keys {
        Rc::new(values.to_vec())
    }

    /// The keys a form selects for query `q`, by brute force over terms.
    fn selected(form: &Form, q: usize, n: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for k in 0..n {
            let hits = form
                .terms
                .iter()
                .filter(|t| {
                    t.literals.iter().all(|l| {
                        let (key, query) = (l.keys[k], l.queries[q]);
                        let outcome = if key < query {
                            LESS
                        } else if key == query {
                            EQUAL
                        } else {
                            GREATER
                        };
                        l.mask & outcome != 0
                    })
                })
                .count();
            assert!(hits <= 1, "terms overlap at key {k} for query {q}");
            if hits == 1 {
                out.push(k);
            }
        }
        out
    }

    #[test]
    fn or_and_not_stay_disjoint_and_exact() {
        let t = column(&[2.0, 1.0, 2.0, 0.0, 1.0]);
        let i = column(&[0.0, 1.0, 2.0, 3.0, 4.0]);
        let less = Form::compare(t.clone(), t.clone(), CmpOp::Lt);
        let same = Form::compare(t.clone(), t.clone(), CmpOp::Eq);
        let earlier = Form::compare(i.clone(), i.clone(), CmpOp::Lt);
        let sort = less.or(&same.and(&earlier).expect("small")).expect("small");
        // The stable sort's selector: keys smaller, or equal and earlier.
        let n = 5;
        for q in 0..n {
            let expected: Vec<usize> = (0..n)
                .filter(|&k| t[k] < t[q] || (t[k] == t[q] && k < q))
                .collect();
            assert_eq!(selected(&sort, q, n), expected, "query {q}");
        }
        // `not` of it is the rest.
        let rest = sort.not().expect("small");
        for q in 0..n {
            let mut all = selected(&sort, q, n);
            all.extend(selected(&rest, q, n));
            all.sort_unstable();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
        // The stable sort needs no more than one order column per term.
        assert!(plan::SelectPlan::build(&sort, 5).is_some());
        let terms = sort.expanded().expect("small");
        assert!(terms.iter().all(|t| t.order_columns().len() == 1));
    }

    #[test]
    fn three_order_columns_have_no_plan() {
        let a = column(&[0.0, 1.0]);
        let b = column(&[1.0, 0.0]);
        let c = column(&[1.0, 1.0]);
        let two = Form::compare(a.clone(), a, CmpOp::Lt)
            .and(&Form::compare(b.clone(), b, CmpOp::Gt))
            .expect("small");
        assert!(plan::SelectPlan::build(&two, 2).is_some());
        let three = two
            .and(&Form::compare(c.clone(), c, CmpOp::Le))
            .expect("small");
        assert!(plan::SelectPlan::build(&three, 2).is_none());
    }
}
