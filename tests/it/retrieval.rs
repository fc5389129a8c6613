//! Nutrition retrieval against the local Bedrock emulator through the real AWS SDK: the
//! shipped index round trip, refusal of an index that does not fit the configuration,
//! nearest neighbours on a fixture index, the retrieved facts in the prompt Claude receives,
//! the embedding name fallback in verification, and `embed-text` through its handler
//! (batching, order, cache, input limits, v1/v2, `normalize`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::bedrock::{ChatModelClient, ChatRequest, ChatResponse, ModelCallError};
use ai_chef::config::Config;
use ai_chef::deadline::Deadline;
use ai_chef::domain::{Recipe, RecipeIngredient};
use ai_chef::generate::{RecipeService, RecipeVerifier};
use ai_chef::metrics::MetricsRecorder;
use ai_chef::nutrition::FoodTable;
use ai_chef::request::RecipeRequest;
use ai_chef::retrieval::index::{
    self, Encoding, IndexError, IndexOrigin, IndexSource, NutritionIndex,
};
use ai_chef::retrieval::{load_embedded, NutritionRetrieval};
use ai_chef::verify::TableVerifier;
use ai_chef_tests::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn table() -> &'static FoodTable {
    FoodTable::load_embedded().unwrap()
}

fn shipped_files() -> (Vec<u8>, String) {
    let dir = repo_root().join("shared").join("data");
    (
        std::fs::read(dir.join("nutrition-index.bin")).unwrap(),
        std::fs::read_to_string(dir.join("nutrition-index.meta.json")).unwrap(),
    )
}

async fn retrieval_on(endpoint: &str, config: Config) -> NutritionRetrieval {
    let foundation = foundation(endpoint, config).await;
    load_embedded(
        foundation.config.clone(),
        foundation.bedrock(),
        Some(endpoint),
        table(),
    )
    .unwrap()
}

fn request(body: Value) -> RecipeRequest {
    RecipeRequest::from_json(body.to_string().as_bytes()).unwrap()
}

/// Passes calls to the emulator and keeps every request, so the prompt can be inspected.
struct RecordingChat {
    inner: Arc<dyn ChatModelClient>,
    requests: Mutex<Vec<ChatRequest>>,
}

#[async_trait::async_trait]
impl ChatModelClient for RecordingChat {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelCallError> {
        self.requests.lock().unwrap().push(request.clone());
        self.inner.chat(request).await
    }
}

#[test]
fn the_shipped_index_round_trips_byte_for_byte() {
    let (bin, meta) = shipped_files();
    let index = NutritionIndex::decode(&bin, &meta).unwrap();
    assert_eq!(index.len(), table().len());
    assert_eq!(index.meta().table_digest, index::table_digest(table()));
    let (bin_again, meta_again) = index.encode().unwrap();
    assert_eq!(bin_again, bin);
    assert_eq!(meta_again, meta);
    assert_eq!(
        NutritionIndex::decode(&bin_again, &meta_again).unwrap(),
        index
    );
}

#[test]
fn a_fixture_index_written_to_disk_reads_back_equal() {
    let dir = std::env::temp_dir().join(format!("ai-chef-index-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for encoding in [Encoding::I8, Encoding::F32] {
        let origin = IndexOrigin {
            model_id: "amazon.titan-embed-text-v2:0".into(),
            source: IndexSource::Emulator,
            encoding,
            created_with: "test".into(),
            table_digest: "t".into(),
        };
        let rows = (0..20)
            .map(|i| {
                (0..256)
                    .map(|j| ((i * 7 + j * 13) % 23) as f32 - 11.0)
                    .collect()
            })
            .collect();
        let ids = (0..20).map(|i| format!("{:05}", 10_000 + i)).collect();
        let built = NutritionIndex::from_vectors(origin, ids, rows)
            .unwrap()
            .with_fallback_min_standout(5.0);
        let (bin, meta) = built.encode().unwrap();
        std::fs::write(dir.join("i.bin"), &bin).unwrap();
        std::fs::write(dir.join("i.meta.json"), &meta).unwrap();
        let read = NutritionIndex::decode(
            &std::fs::read(dir.join("i.bin")).unwrap(),
            &std::fs::read_to_string(dir.join("i.meta.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(read, built, "{encoding:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn an_index_that_does_not_fit_the_configuration_fails_the_start() {
    let emu = emulator(None).await;
    let endpoint = emu.endpoint();
    let (bin, meta) = shipped_files();
    let shipped = || NutritionIndex::decode(&bin, &meta).unwrap();
    let bedrock = foundation(&endpoint, test_config()).await.bedrock();
    let client = || -> Arc<dyn ai_chef::bedrock::EmbeddingClient> { bedrock.clone() };

    // Another embedding model configured: the whole start fails, naming the variable.
    let mut config = test_config();
    config.models.embedding_v2 = "amazon.titan-embed-text-v1".into();
    let err = foundation(&endpoint, config.clone())
        .await
        .recipe_service()
        .unwrap_err();
    assert!(err.to_string().contains("MODEL_ID_EMBEDDING"), "{err}");

    let err = NutritionRetrieval::new(
        shipped(),
        table(),
        Arc::new(config),
        client(),
        IndexSource::Emulator,
    )
    .unwrap_err();
    assert!(matches!(err, IndexError::ModelMismatch { .. }), "{err}");

    // The emulator-built index against real Bedrock.
    let err = NutritionRetrieval::new(
        shipped(),
        table(),
        Arc::new(test_config()),
        client(),
        IndexSource::Bedrock,
    )
    .unwrap_err();
    assert_eq!(err, IndexError::EmulatorIndexAgainstBedrock);
    assert!(err.to_string().contains("make index BEDROCK=aws"));

    // An index of another table (the digest differs).
    let origin = IndexOrigin {
        model_id: test_config().models.embedding_v2,
        source: IndexSource::Emulator,
        encoding: Encoding::I8,
        created_with: "test".into(),
        table_digest: "0".repeat(64),
    };
    let stale =
        NutritionIndex::from_vectors(origin.clone(), vec!["10005".into()], vec![vec![1.0; 256]])
            .unwrap();
    let err = NutritionRetrieval::new(
        stale,
        table(),
        Arc::new(test_config()),
        client(),
        IndexSource::Emulator,
    )
    .unwrap_err();
    assert!(matches!(err, IndexError::StaleTable { .. }), "{err}");

    // Dimensions Titan v2 cannot give.
    let odd =
        NutritionIndex::from_vectors(origin, vec!["10005".into()], vec![vec![1.0; 300]]).unwrap();
    let err = NutritionRetrieval::new(
        odd,
        table(),
        Arc::new(test_config()),
        client(),
        IndexSource::Emulator,
    )
    .unwrap_err();
    assert_eq!(err, IndexError::UnsupportedDimensions(300));
    assert_eq!(emu.stats().total_calls, 0);
}

#[tokio::test]
async fn a_fixture_index_returns_its_known_neighbours() {
    let emu = emulator(None).await;
    let bedrock = foundation(&emu.endpoint(), test_config()).await.bedrock();
    let service = ai_chef::embed::EmbeddingService::new(Arc::new(test_config()), bedrock);
    let metrics = MetricsRecorder::new();
    let deadline = Deadline::after(Duration::from_secs(30));
    let texts = [
        "돼지고기 삼겹살 구이용",
        "양배추 채소",
        "두부 콩 단백질",
        "연어 생선 오메가3",
        "사과 과일 당류",
    ];
    let query = ai_chef::embed::EmbedQuery::from_json(
        json!({"texts": texts, "dimensions": 256})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let rows = service
        .embed_all(&query, deadline, &metrics)
        .await
        .unwrap()
        .embeddings;
    let origin = IndexOrigin {
        model_id: test_config().models.embedding_v2,
        source: IndexSource::Emulator,
        encoding: Encoding::I8,
        created_with: "test".into(),
        table_digest: "t".into(),
    };
    let ids: Vec<String> = (0..texts.len()).map(|i| i.to_string()).collect();
    let fixture = NutritionIndex::from_vectors(origin, ids, rows).unwrap();
    let cases = [
        ("삼겹살 돼지고기", 0),
        ("양배추 볶음", 1),
        ("부침 두부", 2),
        ("연어 스테이크", 3),
        ("빨간 사과", 4),
    ];
    for (text, expected) in cases {
        let (vector, _) = service
            .embed_one(
                ai_chef::config::EmbeddingModel::TitanV2,
                256,
                true,
                text,
                deadline,
                &metrics,
            )
            .await
            .unwrap();
        let hits = ai_chef::retrieval::search::top_k(fixture.vectors(), 256, &vector, 2);
        assert_eq!(hits[0].row, expected, "{text}: {hits:?}");
        assert!(hits[0].similarity > hits[1].similarity, "{text}: {hits:?}");
    }

    // The shipped index: a pork-belly query finds the pork-belly row first.
    let retrieval = retrieval_on(&emu.endpoint(), test_config()).await;
    let vector = retrieval
        .embed_query("삼겹살 (pork belly)", deadline, &metrics)
        .await
        .unwrap();
    let nearest = retrieval.nearest(&vector, 3);
    assert_eq!(
        nearest[0].0.id,
        "10005",
        "{:?}",
        nearest
            .iter()
            .map(|(f, s)| (&f.name_ko, s))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_prompt_carries_the_retrieved_verified_figures() {
    let emu = emulator(None).await;
    let endpoint = emu.endpoint();
    let foundation = foundation(&endpoint, test_config()).await;
    let retrieval = Arc::new(
        load_embedded(
            foundation.config.clone(),
            foundation.bedrock(),
            Some(&endpoint),
            table(),
        )
        .unwrap(),
    );
    let chat = Arc::new(RecordingChat {
        inner: foundation.bedrock(),
        requests: Mutex::new(Vec::new()),
    });
    let verifier: Arc<dyn RecipeVerifier> =
        Arc::new(TableVerifier::new(table(), Some(retrieval.clone())));
    let service = RecipeService::new(
        foundation.config.clone(),
        chat.clone(),
        verifier,
        Some(retrieval),
    );
    let keto = load_event("apigw-post-recipes-keto.json");
    let body: Value = serde_json::from_str(keto["body"].as_str().unwrap()).unwrap();
    let req = request(body);
    let metrics = MetricsRecorder::new();
    let response = service
        .generate(&req, Deadline::after(Duration::from_secs(30)), &metrics)
        .await
        .unwrap();
    assert_eq!(response.meta.attempts, 1);

    let prompt = chat.requests.lock().unwrap()[0].messages[0].content.clone();
    assert!(prompt.contains("검증된 식품 영양 정보"), "{prompt}");
    let lines: Vec<&str> = prompt
        .lines()
        .filter(|l| l.starts_with("- ") && (l.contains("[NDB ") || l.contains("[MFDS ")))
        .collect();
    assert!(lines.len() >= 5, "{prompt}");
    for line in &lines {
        let id = line.split('[').nth(1).unwrap().split(']').next().unwrap();
        let id = id
            .strip_prefix("NDB ")
            .map(str::to_owned)
            .unwrap_or_else(|| id.replace("MFDS ", "MFDS:"));
        let food = table()
            .find_by_id(&id)
            .unwrap_or_else(|| panic!("{id} not in the table: {line}"));
        assert!(
            line.contains(&format!("- {} ({})", food.name_ko, food.name_en)),
            "{line}"
        );
        assert!(
            line.contains(&format!(
                "{} kcal",
                (food.per_100g.kcal * 10.0).round() / 10.0
            )),
            "{line}"
        );
    }
    // On-hand ingredients come first; allergens of the profile are never offered.
    for on_hand in req
        .ingredients_on_hand
        .iter()
        .filter_map(|n| table().match_name(n))
    {
        let name = &table().get(on_hand.index).unwrap().name_ko;
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("- {name} ("))),
            "{name} missing: {prompt}"
        );
    }
    for allergy in ["땅콩", "우유", "버터", "치즈"] {
        assert!(
            !lines.iter().any(|l| l.starts_with(&format!("- {allergy}"))),
            "{allergy} offered: {prompt}"
        );
    }
    // The query embedding is a model call of this invocation.
    let batch = metrics.take();
    let titan_calls: usize = batch
        .calls
        .iter()
        .filter(|((id, _), _)| id.contains("titan"))
        .map(|(_, d)| d.len())
        .sum();
    assert_eq!(titan_calls, 1);
    assert_eq!(emu.stats().titan.calls, 1);
}

#[tokio::test]
async fn the_function_app_retrieves_once_per_request_and_survives_a_failed_embedding() {
    let emu = emulator(None).await;
    let (app, _) = generate_app(&emu.endpoint(), test_config()).await;
    let response = ai_chef_lambda::handlers::generate_recipe::handle(
        &app,
        lambda_event(
            load_event("apigw-post-recipes-keto.json"),
            Duration::from_secs(30),
        ),
    )
    .await
    .unwrap();
    let (status, body) = http_parts(&response);
    assert_eq!(status, 200, "{body:#}");
    assert_eq!((emu.stats().titan.calls, emu.stats().claude.calls), (1, 1));

    // Titan down: the recipe is still made, without retrieved facts.
    let down = emulator(Some(r#"{"errors": {"error": "ServiceUnavailableException", "rate": 1.0, "seed": 1, "scope": "titan"}}"#)).await;
    let (app, _) = generate_app(&down.endpoint(), test_config()).await;
    let response = ai_chef_lambda::handlers::generate_recipe::handle(
        &app,
        lambda_event(
            load_event("apigw-post-recipes-keto.json"),
            Duration::from_secs(30),
        ),
    )
    .await
    .unwrap();
    let (status, body) = http_parts(&response);
    assert_eq!(status, 200, "{body:#}");
    assert!(down.stats().titan.calls >= 1);
}

fn recipe_with(names: &[&str]) -> Recipe {
    Recipe {
        recipe_name: "테스트".into(),
        description: String::new(),
        cooking_time: 20,
        difficulty: "easy".into(),
        servings: 2,
        ingredients: names
            .iter()
            .map(|n| RecipeIngredient {
                name: (*n).into(),
                amount: "200".into(),
                unit: "g".into(),
            })
            .collect(),
        instructions: vec!["굽는다".into()],
        nutrition_tips: String::new(),
        keto_notes: None,
    }
}

#[tokio::test]
async fn names_the_table_misses_are_resolved_by_retrieval_and_nonsense_stays_unmatched() {
    let emu = emulator(None).await;
    let retrieval = Arc::new(retrieval_on(&emu.endpoint(), test_config()).await);
    let verifier = TableVerifier::new(table(), Some(retrieval.clone()));
    let req = request(json!({"target": "keto"}));
    let names = ["국산 생삼겹", "양배추", "xyzzy 플러그"];
    let recipe = recipe_with(&names);

    let before = verifier.verify(&req, &recipe);
    assert_eq!(
        before.nutrition.unmatched_ingredients,
        vec!["국산 생삼겹".to_owned(), "xyzzy 플러그".to_owned()]
    );

    let metrics = MetricsRecorder::new();
    let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    retrieval
        .resolve_unmatched(&owned, Deadline::after(Duration::from_secs(30)), &metrics)
        .await;
    let after = verifier.verify(&req, &recipe);
    let first = after.nutrition.ingredients[0]
        .food
        .as_ref()
        .expect("국산 생삼겹 resolved");
    assert_eq!(
        (first.food_id.as_str(), first.match_kind.as_str()),
        ("10005", "retrieval")
    );
    assert_eq!(
        after.nutrition.unmatched_ingredients,
        vec!["xyzzy 플러그".to_owned()]
    );
    assert!(after.nutrition.per_serving.fat_g > before.nutrition.per_serving.fat_g);
    // Only the two names the table missed were embedded; a second pass embeds nothing.
    assert_eq!(emu.stats().titan.calls, 2);
    retrieval
        .resolve_unmatched(&owned, Deadline::after(Duration::from_secs(30)), &metrics)
        .await;
    assert_eq!(emu.stats().titan.calls, 2);
}

#[tokio::test]
async fn names_whose_nearest_row_does_not_stand_out_stay_unmatched() {
    // On the emulator these land on unrelated rows (salmon, paprika) by n-gram chance; the
    // calibrated standout threshold keeps such guesses out of the nutrition figures.
    let emu = emulator(None).await;
    let retrieval = Arc::new(retrieval_on(&emu.endpoint(), test_config()).await);
    let verifier = TableVerifier::new(table(), Some(retrieval.clone()));
    let names = ["samgyeopsal", "belly of pig", "자동차 타이어"];
    for name in names {
        assert!(
            table().match_name(name).is_none(),
            "the table matches {name} itself"
        );
    }
    let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    retrieval
        .resolve_unmatched(
            &owned,
            Deadline::after(Duration::from_secs(30)),
            &MetricsRecorder::new(),
        )
        .await;
    let report = verifier
        .verify(
            &request(json!({"target": "keto", "language": "en"})),
            &recipe_with(&names),
        )
        .nutrition;
    assert_eq!(report.unmatched_ingredients, owned);
    assert_eq!(emu.stats().titan.calls, 3);
}

// ---- embed-text through its handler ----

async fn embed_call(
    app: &ai_chef_lambda::handlers::embed_text::EmbedTextApp,
    body: Value,
) -> (u16, Value) {
    let event = http_event_with_body("apigw-post-embeddings.json", &body.to_string());
    let response = ai_chef_lambda::handlers::embed_text::handle(
        app,
        lambda_event(event, Duration::from_secs(30)),
    )
    .await
    .unwrap();
    http_parts(&response)
}

#[tokio::test]
async fn embed_text_batches_in_order_caches_and_checks_limits() {
    let emu = emulator(None).await;
    let config = Config {
        cache_max_entries: 100,
        ..test_config()
    };
    let (app, sink) = embed_app(&emu.endpoint(), config).await;
    let texts: Vec<String> = (0..40)
        .map(|i| format!("식품 {i} 돼지고기 양배추"))
        .collect();
    let (status, body) = embed_call(&app, json!({"texts": texts, "dimensions": 256})).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["dimensions"], 256);
    let vectors = body["embeddings"].as_array().unwrap();
    assert_eq!(vectors.len(), 40);
    for (i, v) in vectors.iter().enumerate() {
        let single: Vec<f32> = bedrock_emulator::titan::embed(&texts[i], 256, true);
        let got: Vec<f32> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(got, single, "vector {i} out of order");
    }
    assert_eq!(emu.stats().titan.calls, 40);
    assert_eq!(sink.totals().0, 40);
    // The same texts again come from the cache.
    let (status, _) = embed_call(&app, json!({"texts": texts[..10], "dimensions": 256})).await;
    assert_eq!((status, emu.stats().titan.calls), (200, 40));

    // v1 gives 1536 dimensions and is normalised here when asked; v2 without normalize is not unit length.
    let (status, body) = embed_call(&app, json!({"texts": ["양배추"], "model": "titan-v1"})).await;
    assert_eq!((status, body["dimensions"].as_u64()), (200, Some(1536)));
    let norm = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap().powi(2))
            .sum::<f64>()
            .sqrt()
    };
    assert!((norm(&body["embeddings"][0]) - 1.0).abs() < 1e-3);
    let (_, raw) = embed_call(
        &app,
        json!({"texts": ["돼지고기 삼겹살"], "dimensions": 512, "normalize": false}),
    )
    .await;
    assert!(norm(&raw["embeddings"][0]) > 1.5);

    // Input limits: over 50,000 characters is refused before any call; over 8,192 tokens is
    // refused by Titan; both are 400 naming the text.
    let calls = emu.stats().titan.calls;
    let (status, body) = embed_call(&app, json!({"texts": ["a", "가".repeat(50_001)]})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(body["error"]["details"][0]["field"], "texts[1]");
    assert_eq!(emu.stats().titan.calls, calls);
    let (status, body) = embed_call(&app, json!({"texts": ["가".repeat(20_000)]})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request")),
        "{body:#}"
    );
    assert_eq!(body["error"]["details"][0]["field"], "texts[0]");
}

#[tokio::test]
async fn retrieval_timings() {
    // Not a benchmark (BENCHMARKS.md has the figures): bounds that catch a regression.
    let emu = emulator(None).await;
    let started = Instant::now();
    let (bin, meta) = shipped_files();
    NutritionIndex::decode(&bin, &meta).unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    let retrieval = retrieval_on(&emu.endpoint(), test_config()).await;
    let req = request(json!({"target": "keto", "ingredientsOnHand": ["돼지고기", "양배추"]}));
    let started = Instant::now();
    let facts = ai_chef::generate::PromptFacts::facts(
        &retrieval,
        &req,
        Deadline::after(Duration::from_secs(10)),
        &MetricsRecorder::new(),
    )
    .await;
    assert!(!facts.is_empty());
    assert!(started.elapsed() < Duration::from_secs(2));
}
