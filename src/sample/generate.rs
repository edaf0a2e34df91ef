//! A typed generator of random RASP programs.
//!
//! A program is a chain of assignments `v0 = ...; v1 = ...; ...`, each built
//! from earlier variables, so programs stack several attention layers. Every
//! expression has a type: an s-op of ints, bools or strings (categorical), or
//! a numerical mean (with arithmetic on two means, products by a node of few
//! values, maps of one mean, means of means and reads of the previous
//! position). Maps, comparisons, selects with every comparison and
//! their `and`/`or`/`not`, aggregates (categorical over strings and bools,
//! numerical over ints, always with a default of the values' type) and
//! `selector_width` are drawn only where the types fit, so most programs run
//! and most compile.
//!
//! A program is a function of a vector of choices ([`program`]), so that a
//! property test shrinks a failing program by shrinking its choices, and of
//! a seed ([`program_of_seed`]) for `rasp sample`. Over a vocabulary of
//! numbers the tokens are read as `tokens_int`; over any other, as strings
//! compared with the vocabulary's tokens.

use crate::eval::atom::Atom;

/// What the generator knows of the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tokens {
    /// Every token reads as an int (`tokens_int` works on every input).
    Ints,
    /// Otherwise: the tokens as they are written in a string literal.
    Strings(Vec<String>),
}

impl Tokens {
    /// The generator's view of `vocab`: ints when every token converts to
    /// an int as `tokens_int` converts it, else its strings (a token with a
    /// `"`, which no RASP string can hold, is left out; `None` when none is
    /// left).
    pub fn of(vocab: &[Atom]) -> Option<Tokens> {
        if !vocab.is_empty() && vocab.iter().all(|t| t.to_int().is_ok()) {
            return Some(Tokens::Ints);
        }
        let strings: Vec<String> = vocab
            .iter()
            .map(|t| t.to_py_str())
            .filter(|s| !s.contains('"') && !s.contains('\n'))
            .collect();
        (!strings.is_empty()).then_some(Tokens::Strings(strings))
    }
}

/// The types the generator tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Bool,
    Str,
    /// A numerical mean (an aggregate of ints, and maps of it).
    Mean,
}

const COMPARISONS: [&str; 6] = ["==", "!=", "<", ">", "<=", ">="];

/// Builds one program from a stream of choices.
struct Builder<'a> {
    choices: &'a [u32],
    next: usize,
    /// The variables so far, with their types.
    vars: Vec<(String, Kind)>,
    tokens: &'a Tokens,
}

impl Builder<'_> {
    /// The next choice in `0..n` (0 once the choices run out).
    fn pick(&mut self, n: usize) -> usize {
        let c = self.choices.get(self.next).copied().unwrap_or(0);
        self.next += 1;
        c as usize % n.max(1)
    }

    fn one_of<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.pick(items.len())]
    }

    fn small_int(&mut self) -> i64 {
        self.pick(4) as i64
    }

    /// One of the vocabulary's tokens, as a RASP string literal.
    fn token_of(&mut self, tokens: &[String]) -> String {
        let t = &tokens[self.pick(tokens.len())];
        format!("\"{t}\"")
    }

    /// A variable of kind `kind`, recent ones likelier, or a base s-op.
    fn operand(&mut self, kind: Kind) -> String {
        let found: Vec<String> = self
            .vars
            .iter()
            .rev()
            .filter(|(_, k)| *k == kind)
            .map(|(n, _)| n.clone())
            .collect();
        if !found.is_empty() && self.pick(4) != 0 {
            // Halve the range a few times: the latest variables come first.
            let mut range = found.len();
            while range > 1 && self.pick(2) == 0 {
                range = range.div_ceil(2);
            }
            return found[self.pick(range)].clone();
        }
        if let Tokens::Strings(tokens) = self.tokens {
            // Tokens that are not numbers: compared with one of them.
            match kind {
                Kind::Int => {
                    return match self.pick(3) {
                        0 => format!("indicator(tokens == {})", self.token_of(tokens)),
                        n => ["indices", "length"][n - 1].to_string(),
                    }
                }
                Kind::Bool => {
                    let t = self.token_of(tokens);
                    return format!("(tokens {} {t})", self.one_of(&["==", "!="]));
                }
                Kind::Str => return "tokens".to_string(),
                Kind::Mean => {}
            }
        }
        match kind {
            Kind::Int => self
                .one_of(&["tokens_int", "indices", "length"])
                .to_string(),
            Kind::Bool => {
                let c = self.small_int();
                format!("(tokens_int {} {c})", self.one_of(&COMPARISONS))
            }
            Kind::Str => {
                let c = self.small_int();
                format!("(\"a\" if tokens_int == {c} else \"b\")")
            }
            Kind::Mean => {
                let values = self.operand(Kind::Int);
                format!("aggregate(select(indices, indices, <=), {values}, 0)")
            }
        }
    }

    /// A comparable pair of keys and queries, with a comparison.
    fn select(&mut self) -> String {
        let kind = [Kind::Int, Kind::Int, Kind::Bool, Kind::Str, Kind::Mean][self.pick(5)];
        let keys = self.operand(kind);
        let queries = if self.pick(5) == 0 {
            match kind {
                Kind::Int | Kind::Mean => self.small_int().to_string(),
                Kind::Bool => "True".to_string(),
                Kind::Str => "\"a\"".to_string(),
            }
        } else {
            self.operand(kind)
        };
        let op = self.one_of(&COMPARISONS);
        format!("select({keys}, {queries}, {op})")
    }

    /// A selector: a select, or `and`/`or`/`not` of selectors.
    fn selector(&mut self, depth: usize) -> String {
        if depth == 0 || self.pick(3) != 0 {
            return self.select();
        }
        match self.pick(3) {
            0 => format!("(not {})", self.selector(depth - 1)),
            1 => format!(
                "({} and {})",
                self.selector(depth - 1),
                self.selector(depth - 1)
            ),
            _ => format!(
                "({} or {})",
                self.selector(depth - 1),
                self.selector(depth - 1)
            ),
        }
    }

    /// An expression of kind `kind`.
    fn expr(&mut self, kind: Kind) -> String {
        match kind {
            Kind::Int => match self.pick(7) {
                0 => {
                    let (a, b) = (self.operand(Kind::Int), self.operand(Kind::Int));
                    format!("({a} {} {b})", self.one_of(&["+", "-"]))
                }
                1 => {
                    let a = self.operand(Kind::Int);
                    let (c, m) = (self.small_int(), self.small_int() + 2);
                    format!("(({a} + {c}) % {m})")
                }
                2 | 3 => format!("selector_width({})", self.selector(2)),
                4 => format!("indicator({})", self.operand(Kind::Bool)),
                5 => format!("round({})", self.operand(Kind::Mean)),
                _ => {
                    let (c, a, b) = (
                        self.operand(Kind::Bool),
                        self.operand(Kind::Int),
                        self.operand(Kind::Int),
                    );
                    format!("({a} if {c} else {b})")
                }
            },
            Kind::Bool => match self.pick(6) {
                0 | 1 => {
                    let side = [Kind::Int, Kind::Int, Kind::Str, Kind::Mean][self.pick(4)];
                    let a = self.operand(side);
                    let b = if self.pick(2) == 0 {
                        match side {
                            Kind::Str => "\"b\"".to_string(),
                            _ => self.small_int().to_string(),
                        }
                    } else {
                        self.operand(side)
                    };
                    format!("({a} {} {b})", self.one_of(&COMPARISONS))
                }
                2 => format!("(not {})", self.operand(Kind::Bool)),
                3 => {
                    let (a, b) = (self.operand(Kind::Bool), self.operand(Kind::Bool));
                    format!("({a} {} {b})", self.one_of(&["and", "or"]))
                }
                _ => {
                    // A categorical aggregate of bools.
                    let (s, v) = (self.selector(2), self.operand(Kind::Bool));
                    format!("aggregate({s}, {v}, {})", self.one_of(&["True", "False"]))
                }
            },
            Kind::Str => match self.pick(3) {
                0 => {
                    let (c, a, b) = (
                        self.operand(Kind::Bool),
                        self.operand(Kind::Str),
                        self.operand(Kind::Str),
                    );
                    format!("({a} if {c} else {b})")
                }
                1 => {
                    let c = self.operand(Kind::Bool);
                    let (a, b) = (
                        self.one_of(&["\"x\"", "\"a\""]),
                        self.one_of(&["\"y\"", "\"b\""]),
                    );
                    format!("({a} if {c} else {b})")
                }
                _ => {
                    // A categorical aggregate of strings.
                    let (s, v) = (self.selector(2), self.operand(Kind::Str));
                    format!("aggregate({s}, {v}, \"z\")")
                }
            },
            Kind::Mean => match self.pick(10) {
                0 => {
                    let a = self.operand(Kind::Mean);
                    let c = self.small_int() + 1;
                    format!("({a} {} {c})", self.one_of(&["+", "-", "*"]))
                }
                1 => {
                    // Arithmetic on two numbers.
                    let (a, b) = (self.operand(Kind::Mean), self.operand(Kind::Mean));
                    format!("({a} {} {b})", self.one_of(&["+", "-"]))
                }
                2 => {
                    // A number times a node of few values (a gated product),
                    // as the paper counts: `(indices + 1) * frac`.
                    let a = self.operand(Kind::Mean);
                    let gate = self.one_of(&["(indices + 1)", "tokens_int", "(length - indices)"]);
                    format!("({gate} * {a})")
                }
                3 => {
                    // A map of one number to numbers (a curve).
                    let a = self.operand(Kind::Mean);
                    match self.pick(2) {
                        0 => format!("({a} * {a})"),
                        _ => format!("round({a} * {})", self.small_int() + 2),
                    }
                }
                4 => {
                    // A mean of means.
                    let (s, v) = (self.selector(1), self.operand(Kind::Mean));
                    format!("aggregate({s}, {v}, {})", self.small_int())
                }
                5 => {
                    // A read of the previous position.
                    let v = self.operand(Kind::Int);
                    format!("aggregate(select(indices, indices - 1, ==), {v}, 0)")
                }
                _ => {
                    // A numerical aggregate of ints, with a default.
                    let (s, v) = (self.selector(2), self.operand(Kind::Int));
                    let d = self.small_int();
                    format!("aggregate({s}, {v}, {d})")
                }
            },
        }
    }

    /// The whole program; its last variable is the output.
    fn program(mut self) -> String {
        let statements = 2 + self.pick(6);
        let mut text = String::new();
        for i in 0..statements {
            let kind = [Kind::Int, Kind::Bool, Kind::Str, Kind::Mean][self.pick(4)];
            let expr = self.expr(kind);
            let name = format!("v{i}");
            text.push_str(&format!("{name} = {expr};\n"));
            self.vars.push((name, kind));
        }
        text
    }
}

/// The program the choices describe, over tokens `tokens`; its last
/// variable is the s-op to compile.
pub fn program(choices: &[u32], tokens: &Tokens) -> String {
    Builder {
        choices,
        next: 0,
        vars: Vec::new(),
        tokens,
    }
    .program()
}

/// The choices of the program of seed `seed`: 40 to 159 draws of a
/// fixed generator, so a seed always gives the same program.
pub fn choices_of_seed(seed: u64) -> Vec<u32> {
    let mut state = seed;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let n = 40 + (next() % 120) as usize;
    (0..n).map(|_| (next() >> 32) as u32).collect()
}

/// The program of seed `seed` over `tokens`, keeping only the statements
/// its output (the last variable) reads, directly or not: a corpus pairs
/// programs with weights, and the weights hold nothing of dead code.
pub fn program_of_seed(seed: u64, tokens: &Tokens) -> String {
    live_statements(&program(&choices_of_seed(seed), tokens))
}

/// The statements of a generated program that its last one reads, in
/// order (each is `vN = ...;` on one line, reading earlier `vK`s).
pub fn live_statements(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let name_of = |line: &str| line.split(' ').next().unwrap_or("").to_string();
    let mut live = vec![false; lines.len()];
    let mut wanted: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (i, line) in lines.iter().enumerate().rev() {
        if i + 1 != lines.len() && !wanted.contains(&name_of(line)) {
            continue;
        }
        live[i] = true;
        let body = line.split_once('=').map_or("", |(_, b)| b);
        wanted.extend(variables(body));
    }
    lines
        .iter()
        .zip(live)
        .filter(|(_, keep)| *keep)
        .map(|(line, _)| format!("{line}\n"))
        .collect()
}

/// The generator's variables (`v` and digits, as a whole word) in `text`.
fn variables(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        let mut chars = word.chars();
        if chars.next() == Some('v') && word.len() > 1 && chars.all(|c| c.is_ascii_digit()) {
            found.push(std::mem::take(&mut word));
        }
        word.clear();
    }
    found
}
