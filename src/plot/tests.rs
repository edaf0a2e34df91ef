//! The pictures' structure, read from their pixels: a counting head's
//! second panel, the colour bars, titles that fit.

use ndarray::arr2;

use super::canvas::{diverging, sequential, Canvas, Rgb, WHITE};
use super::heatmap::{residual, HeadPicture, BAR_WIDTH};
use crate::model::{HeadKind, HeadRecord, HeadSOp, SOpRole};

/// Every pixel of `canvas`, row by row, with its place.
fn pixels(canvas: &Canvas) -> impl Iterator<Item = (i32, i32, Rgb)> + '_ {
    (0..canvas.height as i32)
        .flat_map(move |y| (0..canvas.width as i32).map(move |x| (x, y, canvas.pixel(x, y))))
}

/// Whether `colour` fills at least a cell's worth of pixels (more than the
/// colour bar's few of any one colour).
fn fills(canvas: &Canvas, colour: Rgb) -> bool {
    pixels(canvas).filter(|&(_, _, c)| c == colour).count() > 200
}

/// The colour bar: a row holding `colour(from)` and, `BAR_WIDTH - 1`
/// pixels to its right, `colour(1)`, with `colour(t)` between.
fn find_bar(canvas: &Canvas, colour: fn(f64) -> Rgb, from: f64) -> Option<(i32, i32)> {
    pixels(canvas)
        .find(|&(x, y, c)| c == colour(from) && canvas.pixel(x + BAR_WIDTH - 1, y) == colour(1.0))
        .map(|(x, y, _)| (x, y))
}

/// No ink in the right margin: nothing is cut off at the right edge.
fn right_margin_is_blank(canvas: &Canvas) -> bool {
    let w = canvas.width as i32;
    (0..canvas.height as i32).all(|y| (w - 6..w).all(|x| canvas.pixel(x, y) == WHITE))
}

fn count_record(selector: &str) -> HeadRecord {
    HeadRecord {
        kind: HeadKind::Count { beta: 1.0 },
        selector: selector.into(),
        selector_name: None,
        sops: vec![HeadSOp {
            name: "w".into(),
            role: SOpRole::Count,
            source: None,
        }],
    }
}

fn labels(n: usize) -> Vec<String> {
    crate::view::position_labels(
        "BOS",
        &(0..n - 1)
            .map(|i| crate::eval::atom::Atom::Int(i as i64))
            .collect::<Vec<_>>(),
    )
}

#[test]
fn a_counting_head_shows_its_selected_keys_beside_its_weights() {
    // Query 1 selects keys 1 and 2 (BOS takes 1/3), query 2 none.
    let pattern = arr2(&[
        [1.0, 0.0, 0.0],
        [1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0],
        [1.0, 0.0, 0.0],
    ]);
    let positions = labels(3);
    let record = count_record("select(k, q, <)");
    let picture = |record| {
        HeadPicture {
            layer: 1,
            head: 1,
            record,
            positions: &positions,
            pattern: pattern.view(),
        }
        .draw()
    };
    let count = picture(Some(&record));
    // Renormalised without BOS, each selected key is 1/2, a weight the raw
    // pattern does not have; BOS's row and query 2's are undefined (grey).
    assert!(fills(&count, sequential(0.5)));
    assert!(fills(&count, [236, 236, 236]));
    assert!(find_bar(&count, sequential, 0.0).is_some(), "a colour bar");
    assert!(right_margin_is_blank(&count));
    // Without a record (an older file) there is one panel.
    let plain = picture(None);
    assert!(!fills(&plain, sequential(0.5)));
    assert!(!fills(&plain, [236, 236, 236]));
}

#[test]
fn a_long_title_widens_the_picture_or_is_shortened_never_cut() {
    let pattern = arr2(&[[1.0, 0.0], [0.0, 1.0]]);
    let positions = labels(2);
    for length in [60, 400] {
        let selector = format!("select({}, indices, ==)", "k".repeat(length));
        let record = count_record(&selector);
        let picture = HeadPicture {
            layer: 1,
            head: 1,
            record: Some(&record),
            positions: &positions,
            pattern: pattern.view(),
        }
        .draw();
        assert!(right_margin_is_blank(&picture), "title of {length}");
        assert!(picture.width > 400 && picture.width < 1500);
    }
}

#[test]
fn a_residual_stream_is_coloured_per_row_with_a_colour_bar() {
    // One row of codes near 1, one of large counts, one negative.
    let values = arr2(&[[1.0, 0.0, -2.0], [0.985, 60.0, 0.0], [0.97, 120.0, 2.0]]);
    let positions = labels(3);
    let rows: Vec<String> = ["code:64/(w+64)", "count", "balance"]
        .map(String::from)
        .to_vec();
    let picture = residual("residual stream after layer 1", &rows, &positions, &values);
    let (_, bar_y) = find_bar(&picture, diverging, -1.0).expect("a diverging colour bar");
    assert!(bar_y > 60, "below the grid");
    // Each row by its own largest |value|: 120 and 1 are both full red, 60
    // half red, -2 full blue, 0.97 of 1 nearly full red.
    for t in [1.0, 0.5, -1.0, 0.97] {
        assert!(fills(&picture, diverging(t)), "{t}");
    }
    assert!(right_margin_is_blank(&picture));
}
