//! What the viewer and the plots read out of a forward pass, the same way:
//! position labels, a counting head's selected keys, and how a residual
//! stream is coloured.

use ndarray::ArrayView2;

use crate::eval::atom::Atom;
use crate::model::{HeadKind, HeadRecord};

/// The most characters of a token a label shows.
const TOKEN_CHARS: usize = 8;

/// Each position's label: BOS's token (`BOS`) at position 0, then
/// `index:token` with the RASP index (`0:a`, `1:b`: position `p` holds
/// index `p - 1`).
pub fn position_labels(bos: &str, atoms: &[Atom]) -> Vec<String> {
    let mut labels = vec![bos.to_string()];
    labels.extend(
        atoms
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{i}:{}", crate::draw::cut(&a.short(), TOKEN_CHARS))),
    );
    labels
}

/// A counting head's BOS weight β, if the head is one.
pub fn count_beta(record: Option<&HeadRecord>) -> Option<f64> {
    match record?.kind {
        HeadKind::Count { beta } => Some(beta),
        HeadKind::Aggregate => None,
    }
}

/// A counting head's pattern without BOS, renormalised: for each query,
/// its weights on the keys after BOS divided by their sum, which is `1/w`
/// on each of the `w` keys the selector selects. `None` for BOS's own row
/// and for a query that selects no key (its keys' weight, below half what
/// one selected key would get, `1/(1+β)`, is only the softmax's leakage).
pub fn selected_keys(pattern: ArrayView2<'_, f64>, beta: f64) -> Vec<Option<Vec<f64>>> {
    let least = 0.5 / (1.0 + beta);
    pattern
        .rows()
        .into_iter()
        .enumerate()
        .map(|(query, row)| {
            let keys: Vec<f64> = row.iter().skip(1).copied().collect();
            let mass: f64 = keys.iter().sum();
            (query > 0 && mass.is_finite() && mass >= least)
                .then(|| keys.iter().map(|w| w / mass).collect())
        })
        .collect()
}

/// Whether every value of a residual row is 0 or 1 (within `1e-3`): a
/// one-hot dimension, which needs no numbers written in its cells.
pub fn is_binary(values: impl IntoIterator<Item = f64>) -> bool {
    values
        .into_iter()
        .all(|v| v.abs() < 1e-3 || (v - 1.0).abs() < 1e-3)
}

/// The largest finite magnitude among `values` (0 when none).
pub fn largest_magnitude(values: impl IntoIterator<Item = f64>) -> f64 {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0, |m, v| m.max(v.abs()))
}

/// A number in a few characters, at most three decimals and no trailing
/// zeros: `0.985`, `-0.25`, `12.5`, `130`, `1`.
pub fn short_number(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let text = if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    // `-0` is 0.
    if text == "-0" {
        "0".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counting_head_renormalised_is_one_over_w_on_its_keys() {
        // BOS takes 1/(w+1): w = 2 keys (1 and 3) for query 1; none for 2.
        let pattern = ndarray::arr2(&[
            [1.0, 0.0, 0.0, 0.0],
            [1.0 / 3.0, 1.0 / 3.0, 0.0, 1.0 / 3.0],
            [1.0 - 3e-9, 1e-9, 1e-9, 1e-9],
            [0.5, 0.0, 0.5, 0.0],
        ]);
        let keys = selected_keys(pattern.view(), 1.0);
        assert_eq!(keys[0], None);
        assert_eq!(keys[1], Some(vec![0.5, 0.0, 0.5]));
        assert_eq!(keys[2], None);
        assert_eq!(keys[3], Some(vec![0.0, 1.0, 0.0]));
    }

    #[test]
    fn labels_and_numbers_are_short() {
        let atoms = [Atom::str("a"), Atom::Int(12), Atom::str("abcdefghijk")];
        assert_eq!(
            position_labels("BOS", &atoms),
            ["BOS", "0:a", "1:12", "2:abcdefg…"]
        );
        assert_eq!(short_number(0.9846), "0.985");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(1.0), "1");
        assert_eq!(short_number(-0.0001), "0");
        assert_eq!(short_number(12.34), "12.3");
        assert_eq!(short_number(130.2), "130");
        assert!(is_binary([0.0, 1.0, 0.9999]));
        assert!(!is_binary([0.0, 0.5]));
    }
}
