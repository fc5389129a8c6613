//! The nutrition index file: one Titan embedding per food-table row, compact enough to be
//! compiled into the function binary, plus the metadata that says which model and which
//! embedding backend made it and which table it describes.
//!
//! Two files, written together by `devtools/nutrition-index`:
//! - `nutrition-index.bin`: magic `AICHEFNI`, format version (u16 LE), encoding (u8),
//!   a reserved byte, dimensions (u32 LE), rows (u32 LE), then each row id as a u16 LE
//!   length and UTF-8 bytes, then the vectors row after row: f32 LE, or i8 codes
//!   (`round(127 · x / max|x|)`; cosine only needs the direction, so no scale is kept).
//! - `nutrition-index.meta.json`: [`IndexMeta`], including the sha256 of the `.bin`, so the
//!   two files cannot be mixed up, and a digest of the table rows that were embedded, so a
//!   stale index is detected.
//!
//! Vectors are unit length in memory, so cosine similarity is a dot product. Decoding is a
//! pure function with typed errors: a corrupt or mismatched file is an error, never a panic.

use crate::nutrition::FoodTable;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use thiserror::Error;

pub const MAGIC: &[u8; 8] = b"AICHEFNI";
pub const FORMAT_VERSION: u16 = 1;
/// A stored f32 vector may be off unit length by this much (f32 rounding), no more.
const UNIT_NORM_TOLERANCE: f32 = 1e-3;
const HEADER_LEN: usize = 20;

/// Which embedding backend produced the vectors. Vectors of the emulator (n-gram hashing)
/// and of real Titan live in different spaces and must never be compared with each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndexSource {
    Emulator,
    Bedrock,
}

impl IndexSource {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexSource::Emulator => "emulator",
            IndexSource::Bedrock => "bedrock",
        }
    }

    pub fn parse(raw: &str) -> Option<IndexSource> {
        match raw.trim() {
            "emulator" => Some(IndexSource::Emulator),
            "bedrock" | "aws" => Some(IndexSource::Bedrock),
            _ => None,
        }
    }
}

/// How vectors are stored in the `.bin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    F32,
    I8,
}

impl Encoding {
    fn code(self) -> u8 {
        match self {
            Encoding::F32 => 1,
            Encoding::I8 => 2,
        }
    }

    fn from_code(code: u8) -> Option<Encoding> {
        match code {
            1 => Some(Encoding::F32),
            2 => Some(Encoding::I8),
            _ => None,
        }
    }

    fn bytes_per_value(self) -> usize {
        match self {
            Encoding::F32 => 4,
            Encoding::I8 => 1,
        }
    }
}

/// `nutrition-index.meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexMeta {
    pub format_version: u16,
    /// The Bedrock model id the vectors came from (compared with `MODEL_ID_EMBEDDING`).
    pub model_id: String,
    pub dimensions: u32,
    pub source: IndexSource,
    pub rows: u32,
    pub encoding: Encoding,
    /// Tool and version that wrote the files.
    pub created_with: String,
    /// [`table_digest`] of the rows that were embedded.
    pub table_digest: String,
    /// sha256 of the `.bin` file (hex).
    pub vectors_digest: String,
    /// How far (in standard deviations over all rows, see `search::standout`) a name's best
    /// row must stand out for the name fallback to take it; calibrated by the builder on the
    /// backend that made the vectors.
    pub fallback_min_standout: f32,
}

/// What the builder supplies; rows, dimensions and digests are derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexOrigin {
    pub model_id: String,
    pub source: IndexSource,
    pub encoding: Encoding,
    pub created_with: String,
    pub table_digest: String,
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum IndexError {
    #[error("the nutrition index is not an index file (bad magic bytes)")]
    BadMagic,
    #[error(
        "the nutrition index has format version {0}; this build reads version {FORMAT_VERSION}"
    )]
    UnsupportedVersion(u16),
    #[error("the nutrition index uses unknown vector encoding {0}")]
    UnknownEncoding(u8),
    #[error("the nutrition index is truncated: {0} missing")]
    Truncated(&'static str),
    #[error("the nutrition index has {0} unexpected trailing bytes")]
    TrailingBytes(usize),
    #[error("the nutrition index row {row} has an invalid id: {reason}")]
    BadId { row: usize, reason: String },
    #[error("the nutrition index row {row}: {reason}")]
    BadVector { row: usize, reason: String },
    #[error("the nutrition index is empty or has zero dimensions")]
    Empty,
    #[error("the nutrition index metadata is not valid JSON: {0}")]
    MetaJson(String),
    #[error("the nutrition index files disagree on {field}: metadata says {meta}, vectors file says {bin}")]
    HeaderMismatch {
        field: &'static str,
        meta: String,
        bin: String,
    },
    #[error("the nutrition index vectors file does not match its metadata (sha256 differs): rebuild with `make index`")]
    VectorsDigest,
    #[error(
        "the nutrition index was built with embedding model `{index}` but MODEL_ID_EMBEDDING is `{configured}`: \
         rebuild it with `make index` (`make index BEDROCK=aws` for real Bedrock) or set MODEL_ID_EMBEDDING to `{index}`"
    )]
    ModelMismatch { index: String, configured: String },
    #[error("the nutrition index has {0} dimensions; Titan v2 gives 256, 512 or 1024")]
    UnsupportedDimensions(u32),
    #[error(
        "the nutrition index was built against the local Bedrock emulator but this function talks to real Bedrock \
         (no AWS_ENDPOINT_URL_BEDROCK_RUNTIME / AWS_ENDPOINT_URL override, or NUTRITION_INDEX_SOURCE=bedrock): \
         build the real index with `make index BEDROCK=aws` and deploy again"
    )]
    EmulatorIndexAgainstBedrock,
    #[error(
        "the nutrition index was built with real Bedrock but this function's Bedrock endpoint is overridden \
         (taken to be the local emulator, whose vectors are not comparable): run `make index`, or set \
         NUTRITION_INDEX_SOURCE=bedrock if the override is a real Bedrock endpoint"
    )]
    BedrockIndexAgainstEmulator,
    #[error(
        "the nutrition index describes a different food table (index {index}…, table {table}…): \
         run `make index` after changing shared/data/foods.tsv"
    )]
    StaleTable { index: String, table: String },
    #[error("the nutrition index names food `{0}`, which the food table does not have")]
    UnknownFood(String),
}

/// The decoded index: ids (food-table ids) and unit-length vectors, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct NutritionIndex {
    meta: IndexMeta,
    ids: Vec<String>,
    vectors: Vec<f32>,
}

impl NutritionIndex {
    /// Builds an index from raw embeddings (normalised here; with [`Encoding::I8`] also
    /// quantised here, so the in-memory index equals what decoding its file gives).
    pub fn from_vectors(
        origin: IndexOrigin,
        ids: Vec<String>,
        rows: Vec<Vec<f32>>,
    ) -> Result<Self, IndexError> {
        let dimensions = rows.first().map_or(0, Vec::len);
        if rows.is_empty() || dimensions == 0 || ids.len() != rows.len() {
            return Err(IndexError::Empty);
        }
        check_ids(&ids)?;
        let mut vectors = Vec::with_capacity(rows.len() * dimensions);
        for (row, raw) in rows.iter().enumerate() {
            if raw.len() != dimensions {
                return Err(IndexError::BadVector {
                    row,
                    reason: format!("{} values, expected {dimensions}", raw.len()),
                });
            }
            let unit = unit_vector(raw).ok_or_else(|| zero_or_non_finite(row))?;
            let stored = match origin.encoding {
                Encoding::F32 => unit,
                Encoding::I8 => {
                    let codes = quantize(&unit);
                    let as_f32: Vec<f32> = codes.iter().map(|c| f32::from(*c)).collect();
                    unit_vector(&as_f32).ok_or_else(|| zero_or_non_finite(row))?
                }
            };
            vectors.extend(stored);
        }
        let meta = IndexMeta {
            format_version: FORMAT_VERSION,
            model_id: origin.model_id,
            dimensions: u32::try_from(dimensions)
                .map_err(|_| IndexError::UnsupportedDimensions(u32::MAX))?,
            source: origin.source,
            rows: u32::try_from(ids.len()).map_err(|_| IndexError::Truncated("row count"))?,
            encoding: origin.encoding,
            created_with: origin.created_with,
            table_digest: origin.table_digest,
            vectors_digest: String::new(),
            fallback_min_standout: f32::MAX,
        };
        let mut index = NutritionIndex { meta, ids, vectors };
        index.meta.vectors_digest = sha256_hex(&index.encode_vectors_file());
        Ok(index)
    }

    /// Sets the name-fallback threshold the builder calibrated (metadata only).
    pub fn with_fallback_min_standout(mut self, standout: f32) -> Self {
        self.meta.fallback_min_standout = standout;
        self
    }

    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn dimensions(&self) -> usize {
        self.meta.dimensions as usize
    }

    /// The unit vector of row `row`.
    pub fn vector(&self, row: usize) -> Option<&[f32]> {
        let d = self.dimensions();
        self.vectors.get(row * d..(row + 1) * d)
    }

    /// Every vector, row-major.
    pub fn vectors(&self) -> &[f32] {
        &self.vectors
    }

    /// The `.bin` and `.meta.json` texts.
    pub fn encode(&self) -> Result<(Vec<u8>, String), IndexError> {
        let bin = self.encode_vectors_file();
        let meta = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| IndexError::MetaJson(e.to_string()))?;
        Ok((bin, meta + "\n"))
    }

    fn encode_vectors_file(&self) -> Vec<u8> {
        let encoding = self.meta.encoding;
        let ids_len: usize = self.ids.iter().map(|id| 2 + id.len()).sum();
        let mut out = Vec::with_capacity(
            HEADER_LEN + ids_len + self.vectors.len() * encoding.bytes_per_value(),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.push(encoding.code());
        out.push(0);
        out.extend_from_slice(&self.meta.dimensions.to_le_bytes());
        out.extend_from_slice(&self.meta.rows.to_le_bytes());
        for id in &self.ids {
            // check_ids guarantees every id fits a u16 length.
            out.extend_from_slice(&(id.len() as u16).to_le_bytes());
            out.extend_from_slice(id.as_bytes());
        }
        match encoding {
            Encoding::F32 => self
                .vectors
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Encoding::I8 => {
                for row in self.vectors.chunks(self.dimensions().max(1)) {
                    out.extend(quantize(row).iter().map(|c| c.to_le_bytes()[0]));
                }
            }
        }
        out
    }

    /// Parses the two files and checks that they belong together.
    pub fn decode(bin: &[u8], meta_json: &str) -> Result<NutritionIndex, IndexError> {
        let meta = NutritionIndex::decode_meta(meta_json)?;
        if sha256_hex(bin) != meta.vectors_digest {
            return Err(IndexError::VectorsDigest);
        }
        NutritionIndex::decode_body(bin, meta)
    }

    /// [`Self::decode`] without hashing `bin`, for the index compiled into the crate: the
    /// build script has checked its digest against the same metadata.
    pub(crate) fn decode_embedded(
        bin: &[u8],
        meta_json: &str,
    ) -> Result<NutritionIndex, IndexError> {
        NutritionIndex::decode_body(bin, NutritionIndex::decode_meta(meta_json)?)
    }

    fn decode_meta(meta_json: &str) -> Result<IndexMeta, IndexError> {
        let meta: IndexMeta =
            serde_json::from_str(meta_json).map_err(|e| IndexError::MetaJson(e.to_string()))?;
        if meta.format_version != FORMAT_VERSION {
            return Err(IndexError::UnsupportedVersion(meta.format_version));
        }
        if !(meta.fallback_min_standout.is_finite() && meta.fallback_min_standout > 0.0) {
            return Err(IndexError::MetaJson(format!(
                "fallbackMinStandout {} is not a positive number of standard deviations",
                meta.fallback_min_standout
            )));
        }
        Ok(meta)
    }

    fn decode_body(bin: &[u8], meta: IndexMeta) -> Result<NutritionIndex, IndexError> {
        let mut reader = Reader { bytes: bin };
        if reader.take(MAGIC.len(), "magic")? != MAGIC {
            return Err(IndexError::BadMagic);
        }
        let version = u16::from_le_bytes(reader.array("version")?);
        if version != FORMAT_VERSION {
            return Err(IndexError::UnsupportedVersion(version));
        }
        let [encoding_code, _reserved] = reader.array::<2>("encoding")?;
        let encoding =
            Encoding::from_code(encoding_code).ok_or(IndexError::UnknownEncoding(encoding_code))?;
        let dimensions = u32::from_le_bytes(reader.array("dimensions")?);
        let rows = u32::from_le_bytes(reader.array("row count")?);
        agree(
            "encoding",
            format!("{:?}", meta.encoding),
            format!("{encoding:?}"),
        )?;
        agree(
            "dimensions",
            meta.dimensions.to_string(),
            dimensions.to_string(),
        )?;
        agree("rows", meta.rows.to_string(), rows.to_string())?;
        if rows == 0 || dimensions == 0 {
            return Err(IndexError::Empty);
        }
        let (rows, dims) = (rows as usize, dimensions as usize);
        let mut ids = Vec::with_capacity(rows);
        for row in 0..rows {
            let len = u16::from_le_bytes(reader.array("id length")?) as usize;
            let raw = reader.take(len, "id")?;
            let id = std::str::from_utf8(raw).map_err(|e| IndexError::BadId {
                row,
                reason: e.to_string(),
            })?;
            ids.push(id.to_owned());
        }
        check_ids(&ids)?;
        let expected = rows
            .checked_mul(dims)
            .and_then(|n| n.checked_mul(encoding.bytes_per_value()))
            .ok_or(IndexError::Truncated("vectors"))?;
        let body = reader.take(expected, "vectors")?;
        if !reader.bytes.is_empty() {
            return Err(IndexError::TrailingBytes(reader.bytes.len()));
        }
        let mut vectors = Vec::with_capacity(rows * dims);
        for (row, chunk) in body
            .chunks_exact(dims * encoding.bytes_per_value())
            .enumerate()
        {
            match encoding {
                Encoding::F32 => {
                    let values: Vec<f32> = chunk
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect();
                    let norm = l2_norm(&values);
                    if !norm.is_finite() || (norm - 1.0).abs() > UNIT_NORM_TOLERANCE {
                        return Err(IndexError::BadVector {
                            row,
                            reason: format!("length {norm}, expected unit length"),
                        });
                    }
                    vectors.extend(values);
                }
                Encoding::I8 => {
                    // Straight into `vectors`, without a vector per row: this runs at every
                    // start. Up to 1040 dimensions (Titan's 1024 included) the integer sum of
                    // squares stays below 2²⁴, so it equals the f32 sum `unit_vector` takes.
                    let codes = || chunk.iter().map(|b| i8::from_le_bytes([*b]));
                    let sum_of_squares: i64 = codes().map(|c| i64::from(c) * i64::from(c)).sum();
                    if sum_of_squares == 0 {
                        return Err(zero_or_non_finite(row));
                    }
                    let norm = (sum_of_squares as f32).sqrt();
                    vectors.extend(codes().map(|c| f32::from(c) / norm));
                }
            }
        }
        Ok(NutritionIndex { meta, ids, vectors })
    }
}

/// The digest of what an index embeds: every row's id and [`crate::nutrition::Food::embedding_text`],
/// in table order. Comments, spacing and columns that do not reach the embedding text do not
/// change it; any name, category or figure that does, does.
pub fn table_digest(table: &FoodTable) -> String {
    if FoodTable::load_embedded().is_ok_and(|embedded| std::ptr::eq(embedded, table)) {
        return EMBEDDED_TABLE_DIGEST.to_owned();
    }
    computed_table_digest(table)
}

/// [`table_digest`] of the embedded food table, computed by the build script from the same
/// text (`build.rs`); empty when a row did not read there.
const EMBEDDED_TABLE_DIGEST: &str =
    include_str!(concat!(env!("OUT_DIR"), "/food-table-digest.txt"));

fn computed_table_digest(table: &FoodTable) -> String {
    let mut hasher = Sha256::new();
    for food in table.foods() {
        hasher.update(food.id.as_bytes());
        hasher.update(b"\t");
        hasher.update(food.embedding_text().as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn check_ids(ids: &[String]) -> Result<(), IndexError> {
    let mut seen = HashSet::with_capacity(ids.len());
    for (row, id) in ids.iter().enumerate() {
        if id.is_empty() || id.len() > usize::from(u16::MAX) {
            return Err(IndexError::BadId {
                row,
                reason: format!("length {}", id.len()),
            });
        }
        if !seen.insert(id.as_str()) {
            return Err(IndexError::BadId {
                row,
                reason: format!("`{id}` appears twice"),
            });
        }
    }
    Ok(())
}

fn agree(field: &'static str, meta: String, bin: String) -> Result<(), IndexError> {
    if meta == bin {
        Ok(())
    } else {
        Err(IndexError::HeaderMismatch { field, meta, bin })
    }
}

fn zero_or_non_finite(row: usize) -> IndexError {
    IndexError::BadVector {
        row,
        reason: "the vector is all zeros or not finite".to_owned(),
    }
}

fn l2_norm(values: &[f32]) -> f32 {
    values.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// `values` scaled to unit length; `None` for a zero or non-finite vector.
pub fn unit_vector(values: &[f32]) -> Option<Vec<f32>> {
    let norm = l2_norm(values);
    (norm.is_finite() && norm > 0.0).then(|| values.iter().map(|x| x / norm).collect())
}

/// i8 codes with the largest magnitude at ±127.
fn quantize(values: &[f32]) -> Vec<i8> {
    let max = values.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        return vec![0; values.len()];
    }
    values
        .iter()
        .map(|x| (x / max * 127.0).round().clamp(-127.0, 127.0) as i8)
        .collect()
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], IndexError> {
        if self.bytes.len() < n {
            return Err(IndexError::Truncated(what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], IndexError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(encoding: Encoding) -> IndexOrigin {
        IndexOrigin {
            model_id: "amazon.titan-embed-text-v2:0".to_owned(),
            source: IndexSource::Emulator,
            encoding,
            created_with: "test".to_owned(),
            table_digest: "abc".to_owned(),
        }
    }

    fn sample(encoding: Encoding) -> NutritionIndex {
        let ids = vec!["10005".to_owned(), "MFDS:김".to_owned(), "11109".to_owned()];
        let rows = vec![
            vec![3.0, 4.0, 0.0, 0.0],
            vec![0.0, -1.0, 2.0, 0.5],
            vec![0.1, 0.2, 0.3, -0.4],
        ];
        NutritionIndex::from_vectors(origin(encoding), ids, rows).unwrap()
    }

    #[test]
    fn round_trip_is_exact_for_both_encodings() {
        for encoding in [Encoding::F32, Encoding::I8] {
            let index = sample(encoding);
            let index = index.with_fallback_min_standout(5.0);
            let (bin, meta) = index.encode().unwrap();
            let decoded = NutritionIndex::decode(&bin, &meta).unwrap();
            assert_eq!(decoded, index, "{encoding:?}");
            assert_eq!(
                decoded.encode().unwrap(),
                (bin, meta),
                "{encoding:?}: re-encoding changes the files"
            );
            for row in 0..decoded.len() {
                assert!((l2_norm(decoded.vector(row).unwrap()) - 1.0).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn i8_keeps_directions() {
        let exact = sample(Encoding::F32);
        let quantised = sample(Encoding::I8);
        for row in 0..exact.len() {
            let dot: f32 = exact
                .vector(row)
                .unwrap()
                .iter()
                .zip(quantised.vector(row).unwrap())
                .map(|(a, b)| a * b)
                .sum();
            assert!(dot > 0.999, "row {row}: cosine {dot}");
        }
    }

    #[test]
    fn i8_rows_decode_to_what_unit_vector_gives() {
        let index = sample(Encoding::I8);
        let (bin, meta) = index.encode().unwrap();
        let decoded = NutritionIndex::decode(&bin, &meta).unwrap();
        let body = &bin[bin.len() - index.len() * index.dimensions()..];
        for (row, codes) in body.chunks_exact(index.dimensions()).enumerate() {
            let values: Vec<f32> = codes.iter().map(|b| f32::from(*b as i8)).collect();
            assert_eq!(decoded.vector(row).unwrap(), unit_vector(&values).unwrap());
        }
    }

    #[test]
    fn corrupt_files_are_typed_errors() {
        let index = sample(Encoding::F32).with_fallback_min_standout(5.0);
        let (bin, meta) = index.encode().unwrap();
        let with_digest = |bin: &[u8]| -> String {
            let mut m = index.meta().clone();
            m.vectors_digest = sha256_hex(bin);
            serde_json::to_string(&m).unwrap()
        };
        let mut flipped = bin.clone();
        flipped[HEADER_LEN + 3] ^= 0xff;
        assert_eq!(
            NutritionIndex::decode(&flipped, &meta),
            Err(IndexError::VectorsDigest)
        );

        let mut magic = bin.clone();
        magic[0] = b'X';
        assert_eq!(
            NutritionIndex::decode(&magic, &with_digest(&magic)),
            Err(IndexError::BadMagic)
        );

        for cut in [0, 5, HEADER_LEN, HEADER_LEN + 4, bin.len() - 1] {
            let short = &bin[..cut];
            assert!(
                matches!(
                    NutritionIndex::decode(short, &with_digest(short)),
                    Err(IndexError::Truncated(_))
                ),
                "cut at {cut}"
            );
        }
        let mut long = bin.clone();
        long.push(0);
        assert_eq!(
            NutritionIndex::decode(&long, &with_digest(&long)),
            Err(IndexError::TrailingBytes(1))
        );

        let mut encoding = bin.clone();
        encoding[10] = 9;
        assert_eq!(
            NutritionIndex::decode(&encoding, &with_digest(&encoding)),
            Err(IndexError::UnknownEncoding(9))
        );

        let mut not_unit = bin.clone();
        let at = bin.len() - 4;
        not_unit[at..].copy_from_slice(&5.0f32.to_le_bytes());
        assert!(matches!(
            NutritionIndex::decode(&not_unit, &with_digest(&not_unit)),
            Err(IndexError::BadVector { row: 2, .. })
        ));

        let mut rows = index.meta().clone();
        rows.rows = 4;
        let text = serde_json::to_string(&rows).unwrap();
        assert!(matches!(
            NutritionIndex::decode(&bin, &text),
            Err(IndexError::HeaderMismatch { field: "rows", .. })
        ));
        assert!(matches!(
            NutritionIndex::decode(&bin, "{"),
            Err(IndexError::MetaJson(_))
        ));
        assert!(matches!(
            NutritionIndex::decode(&bin, r#"{"extra":1}"#),
            Err(IndexError::MetaJson(_))
        ));
    }

    #[test]
    fn bad_inputs_to_the_builder_are_refused() {
        let o = || origin(Encoding::F32);
        assert_eq!(
            NutritionIndex::from_vectors(o(), vec![], vec![]),
            Err(IndexError::Empty)
        );
        assert!(matches!(
            NutritionIndex::from_vectors(
                o(),
                vec!["a".into(), "a".into()],
                vec![vec![1.0], vec![1.0]]
            ),
            Err(IndexError::BadId { row: 1, .. })
        ));
        assert!(matches!(
            NutritionIndex::from_vectors(o(), vec!["a".into()], vec![vec![0.0, 0.0]]),
            Err(IndexError::BadVector { row: 0, .. })
        ));
        assert!(matches!(
            NutritionIndex::from_vectors(
                o(),
                vec!["a".into(), "b".into()],
                vec![vec![1.0, 0.0], vec![1.0]]
            ),
            Err(IndexError::BadVector { row: 1, .. })
        ));
        assert!(matches!(
            NutritionIndex::from_vectors(o(), vec!["a".into()], vec![vec![f32::NAN, 1.0]]),
            Err(IndexError::BadVector { row: 0, .. })
        ));
    }

    #[test]
    fn the_build_time_digest_is_the_digest_of_the_embedded_table() {
        let embedded = FoodTable::embedded();
        assert_eq!(EMBEDDED_TABLE_DIGEST.len(), 64);
        assert_eq!(table_digest(embedded), computed_table_digest(embedded));
    }

    #[test]
    fn the_table_digest_follows_the_embedded_text() {
        let table = FoodTable::embedded();
        let digest = table_digest(table);
        assert_eq!(digest.len(), 64);
        assert_eq!(digest, table_digest(table));
        let header = "id\tname_en\tname_ko\tsynonyms\tcategories\tkcal\tprotein_g\tfat_g\tcarbs_g\tfiber_g\tsugar_g\tsodium_mg\tsaturated_fat_g\tcholesterol_mg\tpotassium_mg\tphosphorus_mg\tadded_sugar_g\tdensity_g_per_ml\tunits\tsource\timputed";
        let one = FoodTable::parse(&format!(
            "{header}\n1\ta\t가\t\tpork\t1\t1\t1\t1\t0\t0\t1\t0\t0\t0\t0\t0\t1\t\tX\t\n"
        ))
        .unwrap();
        let other = FoodTable::parse(&format!(
            "{header}\n1\ta\t가\t\tpork\t2\t1\t1\t1\t0\t0\t1\t0\t0\t0\t0\t0\t1\t\tX\t\n"
        ))
        .unwrap();
        assert_ne!(table_digest(&one), table_digest(&other));
    }
}
