//! What each attention head and each MLP of a compiled model computes, as
//! the compiler knows it when it assembles the model: the record's `heads`
//! and `mlps` (optional: files written before them load without).
//!
//! A head implements one selector. An *aggregate* head attends to the keys
//! its selector selects (to BOS alone where it selects none, BOS's value
//! carrying the aggregate's default) and moves the values of one or more
//! s-ops: several aggregates over one selector in a layer share a head, each
//! with its own value coordinates. A *counting* head computes
//! `selector_width`: it attends to BOS and to the selected keys, BOS scored
//! `ln β` above a selected key, so BOS takes `β/(w+β)` of the weight and each
//! of the `w` selected keys `1/(w+β)`; it writes BOS's weight (the count's
//! *code*) and an MLP turns it into the count. Its pattern is therefore
//! mostly BOS; without BOS and renormalised it is `1/w` on each selected key.

use serde::{Deserialize, Serialize};

/// One attention head's record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadRecord {
    #[serde(flatten)]
    pub kind: HeadKind,
    /// The selector: its source text where the program has one (whitespace
    /// collapsed), else built from its parts (`select(keys, queries, <)`).
    pub selector: String,
    /// The name the selector was bound to, when that is not its text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector_name: Option<String>,
    /// The s-ops whose values the head computes, in the order of their
    /// value coordinates.
    pub sops: Vec<HeadSOp>,
}

/// How a head uses BOS.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum HeadKind {
    /// Attends to the selected keys; to BOS only where none is selected.
    Aggregate,
    /// `selector_width`: BOS takes `beta/(w+beta)`, each selected key
    /// `1/(w+beta)`.
    Count { beta: f64 },
}

/// One s-op a head computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadSOp {
    /// The s-op's name (or its source text, or a made-up `kind#id`), as
    /// residual labels name it.
    pub name: String,
    pub role: SOpRole,
    /// The s-op's source text where it differs from its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// What a head does for one s-op.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SOpRole {
    /// A numerical aggregate: the mean of a number over the selected keys.
    Mean,
    /// A categorical aggregate: one-hot values copied from the selected
    /// keys (which hold one value).
    Read,
    /// A `selector_width` (or `length`): the head writes its code.
    Count,
}

/// The MLP units of one layer built for one s-op (computing it, or
/// converting it to another encoding), in unit order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlpPart {
    pub sop: String,
    pub units: usize,
}

impl HeadKind {
    pub fn name(self) -> &'static str {
        match self {
            HeadKind::Aggregate => "aggregate",
            HeadKind::Count { .. } => "count",
        }
    }
}

impl SOpRole {
    pub fn name(self) -> &'static str {
        match self {
            SOpRole::Mean => "mean",
            SOpRole::Read => "read",
            SOpRole::Count => "count",
        }
    }
}

impl HeadRecord {
    /// One line: `count place = …; selector select(key,key,==); BOS takes
    /// 64/(w+64)`.
    pub fn describe(&self) -> String {
        let sops: Vec<String> = self
            .sops
            .iter()
            .map(|s| match &s.source {
                Some(source) => format!("{} {} = {source}", s.role.name(), s.name),
                None => format!("{} {}", s.role.name(), s.name),
            })
            .collect();
        let selector = match &self.selector_name {
            Some(name) => format!("{name} = {}", self.selector),
            None => self.selector.clone(),
        };
        let bos = match self.kind {
            HeadKind::Count { beta } => format!("; BOS takes {}", code_text(beta)),
            HeadKind::Aggregate => String::new(),
        };
        format!("{}; selector {selector}{bos}", sops.join(", "))
    }
}

/// A count's code for weight β: `1/(w+1)`, `64/(w+64)`.
pub fn code_text(beta: f64) -> String {
    format!("{beta}/(w+{beta})")
}

/// Checks the records against the model's sizes: one entry per layer, at
/// most `n_heads` heads each, every count's β positive and finite.
pub fn check(
    heads: Option<&[Vec<HeadRecord>]>,
    mlps: Option<&[Vec<MlpPart>]>,
    n_layers: usize,
    n_heads: usize,
    d_mlp: usize,
) -> Result<(), String> {
    if let Some(heads) = heads {
        if heads.len() != n_layers {
            return Err(format!(
                "`heads` describes {} layers but n_layers = {n_layers}",
                heads.len()
            ));
        }
        for (l, layer) in heads.iter().enumerate() {
            if layer.len() > n_heads {
                return Err(format!(
                    "`heads[{l}]` describes {} heads but n_heads = {n_heads}",
                    layer.len()
                ));
            }
            for head in layer {
                if let HeadKind::Count { beta } = head.kind {
                    if !(beta.is_finite() && beta > 0.0) {
                        return Err(format!("`heads[{l}]` has a counting head with beta {beta}"));
                    }
                }
            }
        }
    }
    if let Some(mlps) = mlps {
        if mlps.len() != n_layers {
            return Err(format!(
                "`mlps` describes {} layers but n_layers = {n_layers}",
                mlps.len()
            ));
        }
        for (l, parts) in mlps.iter().enumerate() {
            let units = parts.iter().try_fold(0usize, |a, p| a.checked_add(p.units));
            if units.is_none_or(|u| u > d_mlp) {
                return Err(format!(
                    "`mlps[{l}]` describes more units than d_mlp = {d_mlp}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_head() -> HeadRecord {
        HeadRecord {
            kind: HeadKind::Count { beta: 64.0 },
            selector: "select(key,key,==) and select(indices,indices,<)".into(),
            selector_name: None,
            sops: vec![HeadSOp {
                name: "selector_width#17".into(),
                role: SOpRole::Count,
                source: Some(
                    "selector_width(select(key,key,==) and select(indices,indices,<))".into(),
                ),
            }],
        }
    }

    #[test]
    fn a_head_record_is_flat_json() {
        let json = serde_json::to_value(count_head()).unwrap();
        assert_eq!(json["kind"], "count");
        assert_eq!(json["beta"], 64.0);
        assert_eq!(json["sops"][0]["role"], "count");
        assert!(json.get("selector_name").is_none());
        let back: HeadRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, count_head());
        let aggregate: HeadRecord = serde_json::from_str(
            r#"{"kind": "aggregate", "selector": "select(indices, indices, <=)", "selector_name": "prefix",
                "sops": [{"name": "frac", "role": "mean"}, {"name": "last", "role": "read"}]}"#,
        )
        .unwrap();
        assert_eq!(aggregate.kind, HeadKind::Aggregate);
        assert_eq!(
            aggregate.describe(),
            "mean frac, read last; selector prefix = select(indices, indices, <=)"
        );
        assert!(count_head().describe().ends_with("; BOS takes 64/(w+64)"));
    }

    #[test]
    fn records_must_fit_the_layers() {
        let heads = vec![vec![count_head()], vec![]];
        let mlps = vec![
            vec![MlpPart {
                sop: "place".into(),
                units: 3,
            }],
            vec![],
        ];
        assert_eq!(check(Some(&heads), Some(&mlps), 2, 1, 4), Ok(()));
        assert_eq!(check(None, None, 2, 1, 4), Ok(()));
        assert!(check(Some(&heads), None, 3, 1, 4)
            .unwrap_err()
            .contains("n_layers = 3"));
        assert!(check(Some(&heads), None, 2, 0, 4)
            .unwrap_err()
            .contains("n_heads = 0"));
        assert!(check(None, Some(&mlps), 2, 1, 2)
            .unwrap_err()
            .contains("d_mlp = 2"));
        let mut bad = count_head();
        bad.kind = HeadKind::Count { beta: f64::NAN };
        assert!(check(Some(&[vec![bad]]), None, 1, 1, 1).is_err());
    }
}
