//! The text a food-table row is embedded as for the nutrition index. It stands apart from the
//! crate's types so the build script includes it too and digests the embedded table with the
//! very words [`super::table::Food::embedding_text`] gives (see `build.rs`).

/// The key figures per 100 g in the text, in this order: kcal, protein, fat, carbohydrate,
/// fibre and sugar in grams, sodium in milligrams.
pub type KeyFigures = [f64; 7];

/// Both names, the synonyms and categories (each already joined with `, `) and the key
/// figures.
pub fn embedding_text(
    name_ko: &str,
    name_en: &str,
    synonyms: &str,
    categories: &str,
    figures: KeyFigures,
) -> String {
    let [kcal, protein, fat, carbs, fiber, sugar, sodium] = figures;
    format!(
        "{name_ko} ({name_en}). 동의어: {synonyms}. 분류: {categories}. 100 g당 {kcal} kcal, \
         단백질 {protein} g, 지방 {fat} g, 탄수화물 {carbs} g, 식이섬유 {fiber} g, \
         당류 {sugar} g, 나트륨 {sodium} mg."
    )
}
