//! Exact nearest-neighbour search over the nutrition index: cosine similarity of unit
//! vectors (a dot product), top k by a bounded selection in one pass. Some hundred rows of a few hundred
//! dimensions take tens of microseconds, so no approximate index is warranted.

use std::cmp::Ordering;

/// One neighbour: the index row and its cosine similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    pub row: usize,
    pub similarity: f32,
}

/// The `k` rows of `vectors` (row-major, `dimensions` wide, unit length) most similar to the
/// unit vector `query`, best first; ties go to the lower row. A query of the wrong length
/// matches nothing.
pub fn top_k(vectors: &[f32], dimensions: usize, query: &[f32], k: usize) -> Vec<Neighbour> {
    if dimensions == 0 || query.len() != dimensions || k == 0 {
        return Vec::new();
    }
    // `a` ranks before `b`: higher similarity, then the lower row.
    let before = |a: &Neighbour, b: &Neighbour| {
        b.similarity
            .partial_cmp(&a.similarity)
            .unwrap_or(Ordering::Equal)
            .then(a.row.cmp(&b.row))
    };
    // The best k so far, kept sorted: one pass, no per-row allocation, and a row that cannot
    // enter costs one comparison with the current k-th.
    let mut best: Vec<Neighbour> = Vec::with_capacity(k + 1);
    for (row, vector) in vectors.chunks_exact(dimensions).enumerate() {
        let candidate = Neighbour {
            row,
            similarity: dot(vector, query),
        };
        if !candidate.similarity.is_finite() {
            continue;
        }
        if best.len() == k
            && best
                .last()
                .is_some_and(|worst| before(&candidate, worst) != Ordering::Less)
        {
            continue;
        }
        let at = best.partition_point(|kept| before(kept, &candidate) == Ordering::Less);
        best.insert(at, candidate);
        best.truncate(k);
    }
    best
}

/// The best row and how far its similarity stands out from the similarities of all rows,
/// in standard deviations (a z-score). Unlike a raw cosine, this is comparable across
/// embedding backends: a name that truly names a row lifts that row far above the rest,
/// while unrelated text only reaches the usual tail of some hundred draws.
pub fn standout(vectors: &[f32], dimensions: usize, query: &[f32]) -> Option<(Neighbour, f32)> {
    if dimensions == 0 || query.len() != dimensions {
        return None;
    }
    let similarities: Vec<f32> = vectors
        .chunks_exact(dimensions)
        .map(|v| dot(v, query))
        .collect();
    if similarities.len() < 2 || similarities.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let n = similarities.len() as f32;
    let mean = similarities.iter().sum::<f32>() / n;
    let deviation = (similarities.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / n).sqrt();
    let (row, similarity) =
        similarities
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (i, s)| {
                if s > best.1 {
                    (i, s)
                } else {
                    best
                }
            });
    let z = if deviation > 0.0 {
        (similarity - mean) / deviation
    } else {
        0.0
    };
    Some((Neighbour { row, similarity }, z))
}

/// Lanes summed side by side: a single running sum is one long dependency chain the compiler
/// may not reorder (float addition is not associative), while independent lanes let it use
/// SIMD registers.
const LANES: usize = 8;

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let a_chunks = a.chunks_exact(LANES);
    let b_chunks = b.chunks_exact(LANES);
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        // Fixed-size arrays: constant indices need no bounds checks, and the body is plain
        // arithmetic even where iterator adapters are not inlined (builds without LTO).
        let (Ok(x), Ok(y)) = (<&[f32; LANES]>::try_from(x), <&[f32; LANES]>::try_from(y)) else {
            continue;
        };
        lanes[0] += x[0] * y[0];
        lanes[1] += x[1] * y[1];
        lanes[2] += x[2] * y[2];
        lanes[3] += x[3] * y[3];
        lanes[4] += x[4] * y[4];
        lanes[5] += x[5] * y[5];
        lanes[6] += x[6] * y[6];
        lanes[7] += x[7] * y[7];
    }
    (lanes[0] + lanes[4])
        + (lanes[1] + lanes[5])
        + (lanes[2] + lanes[6])
        + (lanes[3] + lanes[7])
        + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        crate::retrieval::index::unit_vector(v).unwrap()
    }

    #[test]
    fn known_neighbours_come_first() {
        let rows = [
            unit(&[1.0, 0.0, 0.0]),
            unit(&[0.9, 0.1, 0.0]),
            unit(&[0.0, 1.0, 0.0]),
            unit(&[-1.0, 0.0, 0.0]),
        ];
        let flat: Vec<f32> = rows.concat();
        let hits = top_k(&flat, 3, &unit(&[1.0, 0.05, 0.0]), 2);
        assert_eq!(hits.iter().map(|n| n.row).collect::<Vec<_>>(), vec![0, 1]);
        assert!(hits[0].similarity > 0.99 && hits[0].similarity <= 1.0 + 1e-6);
        let all = top_k(&flat, 3, &unit(&[0.0, 1.0, 0.0]), 10);
        assert_eq!(
            all.iter().map(|n| n.row).collect::<Vec<_>>(),
            vec![2, 1, 0, 3]
        );
        assert!(top_k(&flat, 3, &[1.0, 0.0], 2).is_empty());
        assert!(top_k(&flat, 3, &unit(&[1.0, 0.0, 0.0]), 0).is_empty());
    }

    #[test]
    fn a_clear_match_stands_out_and_a_flat_one_does_not() {
        let mut rows = vec![unit(&[1.0, 0.0, 0.0, 0.0])];
        for i in 0..20 {
            rows.push(unit(&[0.1, 1.0, (i as f32).sin(), (i as f32).cos()]));
        }
        let flat = rows.concat();
        let (best, z) = standout(&flat, 4, &unit(&[1.0, 0.02, 0.0, 0.0])).unwrap();
        assert_eq!(best.row, 0);
        assert!(z > 3.0, "{z}");
        let (_, z) = standout(&flat, 4, &unit(&[0.0, 0.0, 1.0, 1.0])).unwrap();
        assert!(z < 2.5, "{z}");
        assert!(standout(&flat, 4, &[1.0]).is_none());
    }

    #[test]
    fn dot_matches_a_plain_sum_at_every_length() {
        for len in [0, 1, 7, 8, 9, 16, 1023, 1024] {
            let a: Vec<f32> = (0..len)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0)
                .collect();
            let b: Vec<f32> = (0..len)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0)
                .collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!(
                (dot(&a, &b) - plain).abs() <= 1e-3 * (1.0 + plain.abs()),
                "{len}"
            );
        }
        // Unequal lengths: the common prefix, as before.
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[1.0, 1.0]), 3.0);
    }

    #[test]
    fn ties_go_to_the_lower_row() {
        let flat = [unit(&[0.0, 1.0]), unit(&[1.0, 0.0]), unit(&[1.0, 0.0])].concat();
        let hits = top_k(&flat, 2, &unit(&[1.0, 0.0]), 1);
        assert_eq!(hits[0].row, 1);
    }

    proptest! {
        #[test]
        fn selection_equals_a_full_sort(values in proptest::collection::vec(-1.0f32..1.0, 8..200), k in 1usize..12) {
            let dims = 4;
            let rows: Vec<Vec<f32>> = values.chunks_exact(dims).filter_map(crate::retrieval::index::unit_vector).collect();
            prop_assume!(!rows.is_empty());
            let flat = rows.concat();
            let query = rows[0].clone();
            let hits = top_k(&flat, dims, &query, k);
            let mut all: Vec<(usize, f32)> = rows.iter().enumerate().map(|(i, r)| (i, dot(r, &query))).collect();
            all.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
            let expected: Vec<usize> = all.iter().take(k).map(|(i, _)| *i).collect();
            prop_assert_eq!(hits.iter().map(|n| n.row).collect::<Vec<_>>(), expected);
        }
    }
}
