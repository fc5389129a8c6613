//! The OpenAPI 3.1 document of the service, generated from the wire types (schemars derives on
//! the request, response and error types of the `ai-chef` crate) plus the limits the request
//! parser enforces (its range constants), so the document cannot drift from the code:
//! `tests/openapi.rs` regenerates it and compares it with the checked-in `docs/openapi.json`.
//!
//! Where a wire type is looser than the contract (the request's fields are `Option<String>`
//! because the parser reports every problem at once), the generator tightens the schema with
//! the parser's own constants; a tightened property that the type no longer has fails the
//! generation instead of documenting a field that does not exist. Contract additions that no
//! type carries yet (the async answers, `meta.usage`, the stream's events) are written here
//! from the contract and replaced by the derived shape as soon as a type has it.

use ai_chef::batch::api::{Accepted, JobView, MAX_PAGE_LIMIT, MAX_REQUESTS};
use ai_chef::config::ChatModel;
use ai_chef::domain::{Check, CookingLevel, Language, Target};
use ai_chef::embed::{
    EmbedBodyWire, EmbedResponseBody, MAX_TEXTS, MAX_TEXT_CHARS as MAX_EMBED_TEXT_CHARS,
    V1_DIMENSIONS, V2_DIMENSIONS,
};
use ai_chef::error::{ErrorBody, FieldError, ModelFailure, ServiceError};
use ai_chef::generate::GenerateResponse;
use ai_chef::request::{
    RecipeRequestWire, BUDGET_RANGE, MAX_ALLERGIES, MAX_BODY_BYTES, MAX_CALORIES_RANGE,
    MAX_HEALTH_CONDITIONS, MAX_INGREDIENTS_ON_HAND, MAX_TEXT_CHARS, SERVINGS_RANGE,
};
use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The OpenAPI version the document follows (JSON Schema 2020-12 inside).
pub const OPENAPI_VERSION: &str = "3.1.0";
const SCHEMAS: &str = "#/components/schemas/";
/// What a free-text item may hold, spelled with ranges every regex engine reads (JSON Schema
/// patterns are ECMA-262; `\p{L}` is not portable to every tool): digits and letters of Latin,
/// Greek, Cyrillic, Hangul, kana and CJK, spaces and `- , . ( ) / & · + %`, at least one of
/// them not a space. The parser accepts letters of every script; the pattern is the portable
/// part of that, so a value the pattern admits is always accepted.
const TEXT_ITEM_PATTERN: &str = "^ *[0-9A-Za-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u024F\\u0391-\\u03A9\\u03B1-\\u03C9\\u0410-\\u044F\\u3041-\\u3096\\u30A1-\\u30FA\\u4E00-\\u9FEF\\uAC00-\\uD7A3,.()/&\\u00B7+%-][ 0-9A-Za-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u024F\\u0391-\\u03A9\\u03B1-\\u03C9\\u0410-\\u044F\\u3041-\\u3096\\u30A1-\\u30FA\\u4E00-\\u9FEF\\uAC00-\\uD7A3,.()/&\\u00B7+%-]*$";

#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("the wire types produced no schema named `{0}`")]
    MissingSchema(String),
    #[error(
        "schema `{schema}` has no property `{property}`: the type changed, update the generator"
    )]
    MissingProperty { schema: String, property: String },
    #[error(
        "schema `{0}` differs between its request and response shapes; give them distinct names"
    )]
    Conflict(String),
    #[error("reference `{0}` points to no schema of the document")]
    Unresolved(String),
}

/// Rust type names of wire types mapped to the names the document uses.
const RENAMES: &[(&str, &str)] = &[
    ("RecipeRequestWire", "RecipeRequest"),
    ("ProfileWire", "Profile"),
    ("EmbedBodyWire", "EmbedRequest"),
    ("EmbedResponseBody", "EmbedResponse"),
    ("GenerateResponse", "RecipeResponse"),
    ("Accepted", "BatchAccepted"),
    ("JobView", "BatchJob"),
    ("Counts", "BatchCounts"),
    ("StoredResult", "BatchResult"),
];

/// One route's possible error answers, by HTTP status.
const RECIPE_ERRORS: &[u16] = &[400, 413, 415, 422, 429, 500, 502, 503, 504];
const RECIPE_STATUS_ERRORS: &[u16] = &[400, 404, 500, 503];
const EMBED_ERRORS: &[u16] = &[400, 413, 415, 429, 500, 502, 503, 504];
const SUBMIT_ERRORS: &[u16] = &[400, 413, 415, 500];
const JOB_ERRORS: &[u16] = &[400, 404, 500];

/// The whole document.
pub fn document() -> Result<Value, OpenApiError> {
    let mut schemas = wire_schemas()?;
    tighten_requests(&mut schemas)?;
    add_contract_schemas(&mut schemas)?;
    let errors = error_codes();
    let doc = json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "AI Chef",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "Recipes fitted to a person's diet and health, verified deterministically.",
            "description": "Recipes are written by a model (Amazon Bedrock) and never trusted: nutrition is computed from a USDA-derived food table, diet rules and allergens are checked deterministically, and a recipe that fails is repaired or refused, so a 200 is always safe to cook. Names are camelCase on the wire. Generated from the Rust wire types by `make openapi`; do not edit by hand.",
            "license": {"name": "MIT", "identifier": "MIT"}
        },
        "servers": [
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
                "description": "API Gateway HTTP API (payload format 2.0)",
                "variables": {
                    "apiId": {"default": "abc123defg"},
                    "region": {"default": "us-east-1"}
                }
            },
            {"url": "http://127.0.0.1:8080", "description": "`make play`: the local front (the port it prints)"}
        ],
        "paths": {
            "/recipes": {
                "post": recipes_post(&errors),
            },
            "/recipes/{requestId}": {
                "get": {
                    "operationId": "getRecipe",
                    "summary": "The state of an async recipe request",
                    "description": "`404 not_found` for an unknown id or one that another caller submitted. `result` is present only when `status` is `succeeded`, `error` only when `failed`.",
                    "parameters": [{
                        "name": "requestId", "in": "path", "required": true,
                        "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"}
                    }],
                    "responses": responses(
                        json!({"200": json_response("The request's state", "RecipeStatus")}),
                        RECIPE_STATUS_ERRORS,
                        &errors,
                    ),
                }
            },
            "/embeddings": {
                "post": {
                    "operationId": "createEmbeddings",
                    "summary": "Titan text embeddings, one vector per text in order",
                    "description": "A failed embedding is an error, never a vector of zeros. The same body sent as a direct (non-HTTP) invocation answers with the same JSON.",
                    "requestBody": json_body("EmbedRequest"),
                    "responses": responses(
                        json!({"200": json_response("One vector per text, in order", "EmbedResponse")}),
                        EMBED_ERRORS,
                        &errors,
                    ),
                }
            },
            "/batches": {
                "post": {
                    "operationId": "submitBatch",
                    "summary": "Enqueue many recipe requests as one job",
                    "description": format!("Every request is checked first (problems are reported per index, e.g. `requests[3].profile.budget`); then one message per request is enqueued. Bodies over {} bytes are refused.", ai_chef::batch::api::MAX_SUBMIT_BYTES),
                    "requestBody": json_body("BatchRequest"),
                    "responses": responses(
                        json!({"202": json_response("The job was accepted", "BatchAccepted")}),
                        SUBMIT_ERRORS,
                        &errors,
                    ),
                }
            },
            "/batches/{jobId}": {
                "get": {
                    "operationId": "getBatch",
                    "summary": "A job's counts and one page of its stored outcomes",
                    "parameters": [
                        {"name": "jobId", "in": "path", "required": true,
                         "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,128}$"}},
                        {"name": "limit", "in": "query", "required": false,
                         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_LIMIT,
                                    "default": ai_chef::batch::api::DEFAULT_PAGE_LIMIT}},
                        {"name": "nextToken", "in": "query", "required": false,
                         "description": "The `nextToken` of the previous page of the same job.",
                         "schema": {"type": "string"}}
                    ],
                    "responses": responses(
                        json!({"200": json_response("Counts and one page of outcomes", "BatchJob")}),
                        JOB_ERRORS,
                        &errors,
                    ),
                }
            }
        },
        "components": {
            "schemas": Value::Object(schemas),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "required": true,
                    "schema": {"type": "integer", "minimum": 1}
                },
                "Location": {
                    "description": "Where the async request's state is read: `/recipes/{requestId}`.",
                    "required": true,
                    "schema": {"type": "string", "pattern": "^/recipes/[^/]+$"}
                }
            }
        }
    });
    check_references(&doc)?;
    Ok(doc)
}

/// The document as the checked-in file holds it: keys sorted, two-space indented, final newline.
pub fn document_text() -> Result<String, OpenApiError> {
    let doc = sorted(document()?);
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    Ok(text)
}

/// The value with every object's keys in sorted order, whatever map serde_json was built with
/// (another crate may turn on its `preserve_order` feature), so the file is stable.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn recipes_post(errors: &[(u16, &'static str, String)]) -> Value {
    json!({
        "operationId": "createRecipe",
        "summary": "A recipe for a diet target and health profile, verified before it is answered",
        "description": "`mode` `sync` (the default) answers the verified recipe; `async` answers 202 after the body passed validation (a bad body is still 400 at once) and the work is done by the batch dispatcher, exactly once. A recipe answered with 200 contains no ingredient that matches a declared allergy (what an ingredient is made of included) and passes every check of its target; when the model cannot produce one within the retry budget the answer is an error, never a non-compliant recipe.\n\nThe same body sent to the Lambda function URL (response streaming) is answered with `text/event-stream`: `attempt`, any number of `progress`, `checks` (before a repair), then exactly one `recipe` (this 200 body) or `error` (the error object with its `status`); see the `StreamEvent` schema. Nothing unverified is ever sent as `recipe`.",
        "servers": [
            {
                "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
                "description": "API Gateway HTTP API: application/json",
                "variables": {"apiId": {"default": "abc123defg"}, "region": {"default": "us-east-1"}}
            },
            {
                "url": "https://{urlId}.lambda-url.{region}.on.aws",
                "description": "Lambda function URL (response streaming): text/event-stream",
                "variables": {"urlId": {"default": "abcdefghijklmnopqrstuvwxyz012345"}, "region": {"default": "us-east-1"}}
            },
            {"url": "http://127.0.0.1:8080", "description": "`make play`, API Gateway events"},
            {"url": "http://127.0.0.1:8080/lambda-url", "description": "`make play`, function URL events"}
        ],
        "requestBody": json_body("RecipeRequest"),
        "responses": responses(
            json!({
                "200": {
                    "description": "The verified recipe with its computed nutrition and checks",
                    "content": {
                        "application/json": {"schema": schema_ref("RecipeResponse")},
                        "text/event-stream": {
                            "description": "Function URL only: Server-Sent Events whose `data` lines are the JSON of `StreamEvent` members, in the order described above.",
                            "schema": {"type": "string"},
                            "x-sse-event-schema": schema_ref("StreamEvent")
                        }
                    }
                },
                "202": {
                    "description": "`mode: async`: accepted after validation",
                    "headers": {"Location": {"$ref": "#/components/headers/Location"}},
                    "content": {"application/json": {"schema": schema_ref("AsyncAccepted")}}
                }
            }),
            RECIPE_ERRORS,
            errors,
        ),
    })
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("{SCHEMAS}{name}")})
}

fn json_body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema_ref(schema)}}})
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema_ref(schema)}}})
}

/// Success answers plus the error answers of `statuses`, each restricted to its one code.
fn responses(success: Value, statuses: &[u16], errors: &[(u16, &'static str, String)]) -> Value {
    let mut out = match success {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for status in statuses {
        // A status may carry more than one code (503: `model_unavailable`, `async_unavailable`).
        let mut codes: Vec<&str> = Vec::new();
        let mut descriptions: Vec<&str> = Vec::new();
        for (_, code, description) in errors.iter().filter(|(s, _, _)| s == status) {
            if !codes.contains(code) {
                codes.push(code);
                descriptions.push(description);
            }
        }
        let code_schema = match codes.as_slice() {
            [] => continue,
            [code] => json!({"const": code}),
            many => json!({"enum": many}),
        };
        let mut response = json!({
            "description": descriptions.join("; "),
            "content": {"application/json": {"schema": {
                "allOf": [
                    schema_ref("ErrorBody"),
                    {"properties": {"error": {"properties": {"code": code_schema}}}}
                ]
            }}}
        });
        if *status == 429 {
            response["headers"] =
                json!({"Retry-After": {"$ref": "#/components/headers/Retry-After"}});
        }
        out.insert(status.to_string(), response);
    }
    Value::Object(out)
}

/// Every error the service answers, with its status and code taken from `ServiceError` itself.
/// The match has no wildcard, so a new variant does not compile until it is documented here.
pub fn error_codes() -> Vec<(u16, &'static str, String)> {
    let samples = [
        ServiceError::invalid("", vec![]),
        ServiceError::PayloadTooLarge { size: 0, limit: 0 },
        ServiceError::UnsupportedMediaType {
            content_type: String::new(),
        },
        ServiceError::NotFound {
            method: String::new(),
            path: String::new(),
        },
        ServiceError::ConstraintsUnsatisfied {
            attempts: 0,
            checks: vec![],
        },
        ServiceError::Throttled {
            message: String::new(),
            retry_after: Duration::ZERO,
        },
        ServiceError::ModelOutputInvalid {
            message: String::new(),
        },
        ServiceError::ModelUnavailable {
            failure: ModelFailure::Unknown,
            message: String::new(),
        },
        ServiceError::DeadlineExceeded { attempts: 0 },
        ServiceError::AsyncUnavailable {
            missing: "RESULTS_TABLE",
        },
        ServiceError::Internal(String::new()),
    ];
    let mut out: Vec<(u16, &'static str, String)> = samples
        .iter()
        .map(|err| (err.status(), err.code(), error_description(err).to_owned()))
        .collect();
    out.sort_by_key(|(status, _, _)| *status);
    out
}

fn error_description(err: &ServiceError) -> &'static str {
    match err {
        ServiceError::InvalidRequest { .. } => "`invalid_request`: body not JSON, wrong types, unknown fields or out-of-range values; `details` lists each field (`field`, `message`)",
        ServiceError::PayloadTooLarge { .. } => "`payload_too_large`: the body is over the documented limit",
        ServiceError::UnsupportedMediaType { .. } => "`unsupported_media_type`: a content type other than JSON was declared",
        ServiceError::NotFound { .. } => "`not_found`: no such request, job or route",
        ServiceError::ConstraintsUnsatisfied { .. } => "`constraints_unsatisfied`: no compliant recipe (allergen or diet rule) within the retry budget; `details` lists the failed checks",
        ServiceError::Throttled { .. } => "`throttled`: the model stayed throttled within the deadline; `Retry-After` is set",
        ServiceError::ModelOutputInvalid { .. } => "`model_output_invalid`: the model's output could not be used",
        ServiceError::ModelUnavailable { .. } => "`model_unavailable`: the model is unavailable, not ready or access is denied",
        ServiceError::DeadlineExceeded { .. } => "`deadline_exceeded`: the Lambda deadline left no time for another attempt",
        ServiceError::AttemptCannotFinish { .. } => "`deadline_exceeded`: the next model call could not finish before the deadline, so it was not started (use async or the stream)",
        ServiceError::CallCutOff { .. } => "`deadline_exceeded`: a model call was cut off by the deadline",
        ServiceError::AsyncUnavailable { .. } => "`async_unavailable`: async mode is not configured on this deployment (RESULTS_TABLE and JOBS_QUEUE_URL)",
        ServiceError::Internal(_) => "`internal_error`: an unexpected failure (store, queue or encoding); safe to retry",
    }
}

/// The derived schemas of the wire types: requests as the parser reads them, answers as they
/// are written, under the document's names.
fn wire_schemas() -> Result<Map<String, Value>, OpenApiError> {
    let settings = || {
        SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
    };
    let mut requests: SchemaGenerator = settings().for_deserialize().into_generator();
    requests.subschema_for::<RecipeRequestWire>();
    requests.subschema_for::<EmbedBodyWire>();
    requests.subschema_for::<Target>();
    requests.subschema_for::<CookingLevel>();
    requests.subschema_for::<Language>();
    let mut answers: SchemaGenerator = settings().for_serialize().into_generator();
    answers.subschema_for::<GenerateResponse>();
    answers.subschema_for::<ErrorBody>();
    answers.subschema_for::<FieldError>();
    answers.subschema_for::<Check>();
    answers.subschema_for::<Accepted>();
    answers.subschema_for::<JobView>();
    answers.subschema_for::<EmbedResponseBody>();
    let mut merged = requests.take_definitions(true);
    for (name, schema) in answers.take_definitions(true) {
        match merged.get(&name) {
            Some(existing) if *existing != schema => return Err(OpenApiError::Conflict(name)),
            _ => {
                merged.insert(name, schema);
            }
        }
    }
    let mut renamed = Map::new();
    for (name, mut schema) in merged {
        rename_refs(&mut schema);
        renamed.insert(document_name(&name).to_owned(), schema);
    }
    Ok(renamed)
}

fn document_name(rust_name: &str) -> &str {
    RENAMES
        .iter()
        .find(|(from, _)| *from == rust_name)
        .map_or(rust_name, |(_, to)| to)
}

fn rename_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                if key == "$ref" {
                    if let Some(name) = item.as_str().and_then(|r| r.strip_prefix(SCHEMAS)) {
                        *item = Value::String(format!("{SCHEMAS}{}", document_name(name)));
                    }
                } else {
                    rename_refs(item);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rename_refs),
        _ => {}
    }
}

fn schema_mut<'a>(
    schemas: &'a mut Map<String, Value>,
    name: &str,
) -> Result<&'a mut Map<String, Value>, OpenApiError> {
    schemas
        .get_mut(name)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| OpenApiError::MissingSchema(name.to_owned()))
}

/// Replaces a property the type has; a property it lacks is an error unless `add` is set.
fn set_property(
    schemas: &mut Map<String, Value>,
    name: &str,
    property: &str,
    schema: Value,
    add: bool,
) -> Result<(), OpenApiError> {
    let object = schema_mut(schemas, name)?;
    let properties = object
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| OpenApiError::MissingSchema(format!("{name}.properties")))?;
    if !add && !properties.contains_key(property) {
        return Err(OpenApiError::MissingProperty {
            schema: name.to_owned(),
            property: property.to_owned(),
        });
    }
    properties.insert(property.to_owned(), schema);
    Ok(())
}

fn set_required(
    schemas: &mut Map<String, Value>,
    name: &str,
    required: &[&str],
) -> Result<(), OpenApiError> {
    schema_mut(schemas, name)?.insert("required".to_owned(), json!(required));
    Ok(())
}

fn text_items(max_items: usize) -> Value {
    json!({
        "type": ["array", "null"],
        "maxItems": max_items,
        "items": schema_ref("TextItem"),
    })
}

fn nullable_ref(name: &str) -> Value {
    json!({"anyOf": [schema_ref(name), {"type": "null"}]})
}

fn nullable_integer(range: &std::ops::RangeInclusive<u64>, description: &str) -> Value {
    json!({"type": ["integer", "null"], "minimum": range.start(), "maximum": range.end(), "description": description})
}

/// The request types carry `Option<String>` for fields the parser checks itself; the document
/// states what the parser accepts, from its own constants.
fn tighten_requests(schemas: &mut Map<String, Value>) -> Result<(), OpenApiError> {
    schemas.insert(
        "TextItem".to_owned(),
        json!({
            "type": "string",
            "description": format!("A short free-text item: after NFC normalisation and collapsing spaces, 1 to {MAX_TEXT_CHARS} characters of letters, digits, spaces and `- , . ( ) / & · + %`; quotes, angle brackets, braces, control, zero-width and bidi characters are refused. Duplicates are dropped."),
            "minLength": 1,
            "maxLength": MAX_TEXT_CHARS,
            "pattern": TEXT_ITEM_PATTERN,
            "examples": ["땅콩", "고혈압", "돼지고기"]
        }),
    );
    let request = "RecipeRequest";
    set_property(schemas, request, "target", schema_ref("Target"), false)?;
    set_required(schemas, request, &["target"])?;
    let servings = SERVINGS_RANGE;
    set_property(
        schemas,
        request,
        "servings",
        json!({"type": ["integer", "null"], "minimum": servings.start(), "maximum": servings.end(), "default": 2,
               "description": "Servings the recipe makes; every per-serving figure is the total divided by it."}),
        false,
    )?;
    set_property(
        schemas,
        request,
        "ingredientsOnHand",
        text_items(MAX_INGREDIENTS_ON_HAND),
        false,
    )?;
    set_property(
        schemas,
        request,
        "language",
        json!({"anyOf": [schema_ref("Language"), {"type": "null"}], "default": "ko"}),
        false,
    )?;
    let mut models: Vec<Value> = ChatModel::ALIASES
        .split(", ")
        .map(|alias| Value::String(alias.to_owned()))
        .collect();
    models.push(Value::Null);
    set_property(
        schemas,
        request,
        "model",
        json!({"enum": models, "description": "The Claude model; the configured default when absent."}),
        false,
    )?;
    // `mode` (async recipes) is documented once the wire type accepts it: until then the
    // parser refuses it as an unknown field, and the document says what the parser does.
    let has_mode = schema_mut(schemas, request)?
        .get("properties")
        .and_then(|p| p.get("mode"))
        .is_some();
    if has_mode {
        set_property(
            schemas,
            request,
            "mode",
            json!({"enum": ["sync", "async", null], "default": "sync",
                   "description": "`async` answers 202 with a request id; the result is read with GET /recipes/{requestId}."}),
            false,
        )?;
    }
    let profile = "Profile";
    set_property(
        schemas,
        profile,
        "healthConditions",
        text_items(MAX_HEALTH_CONDITIONS),
        false,
    )?;
    set_property(
        schemas,
        profile,
        "allergies",
        text_items(MAX_ALLERGIES),
        false,
    )?;
    set_property(
        schemas,
        profile,
        "cookingLevel",
        nullable_ref("CookingLevel"),
        false,
    )?;
    set_property(
        schemas,
        profile,
        "budget",
        nullable_integer(&BUDGET_RANGE, "Whole KRW per recipe."),
        false,
    )?;
    set_property(
        schemas,
        profile,
        "maxCalories",
        nullable_integer(&MAX_CALORIES_RANGE, "kcal per serving."),
        false,
    )?;
    if let Some(description) = schema_mut(schemas, request)?.get_mut("description") {
        *description = Value::String(format!(
            "The POST /recipes body (at most {MAX_BODY_BYTES} bytes). Unknown fields are rejected (400), so a typo is never silently ignored."
        ));
    } else {
        schema_mut(schemas, request)?.insert(
            "description".to_owned(),
            Value::String(format!(
                "The POST /recipes body (at most {MAX_BODY_BYTES} bytes). Unknown fields are rejected (400), so a typo is never silently ignored."
            )),
        );
    }

    let embed = "EmbedRequest";
    set_property(
        schemas,
        embed,
        "texts",
        json!({"type": "array", "minItems": 1, "maxItems": MAX_TEXTS,
               "items": {"type": "string", "minLength": 1, "maxLength": MAX_EMBED_TEXT_CHARS, "pattern": "\\S"}}),
        false,
    )?;
    set_required(schemas, embed, &["texts"])?;
    set_property(
        schemas,
        embed,
        "model",
        json!({"enum": ["titan-v2", "titan-v1", "titan-embed", null], "default": "titan-v2",
               "description": "`titan-v1` (alias `titan-embed`) gives 1536 dimensions; `titan-v2` 256, 512 or 1024."}),
        false,
    )?;
    let mut v2: Vec<Value> = V2_DIMENSIONS.iter().map(|d| json!(d)).collect();
    v2.push(Value::Null);
    set_property(
        schemas,
        embed,
        "dimensions",
        json!({"enum": [V2_DIMENSIONS[0], V2_DIMENSIONS[1], V2_DIMENSIONS[2], V1_DIMENSIONS, null],
               "description": "Vector length: 256, 512 or 1024 (default) for titan-v2; 1536 for titan-v1."}),
        false,
    )?;
    set_property(
        schemas,
        embed,
        "normalize",
        json!({"type": ["boolean", "null"], "default": true}),
        false,
    )?;
    schema_mut(schemas, embed)?.insert(
        "allOf".to_owned(),
        json!([{
            "if": {"properties": {"model": {"enum": ["titan-v1", "titan-embed"]}}, "required": ["model"]},
            "then": {"properties": {"dimensions": {"enum": [V1_DIMENSIONS, null]}}},
            "else": {"properties": {"dimensions": {"enum": v2}}}
        }]),
    );
    schemas.insert(
        "BatchRequest".to_owned(),
        json!({
            "type": "object",
            "description": "The POST /batches body: the recipe requests of one job.",
            "additionalProperties": false,
            "required": ["requests"],
            "properties": {"requests": {
                "type": "array", "minItems": 1, "maxItems": MAX_REQUESTS,
                "items": schema_ref("RecipeRequest")
            }}
        }),
    );
    Ok(())
}

/// Contract shapes no Rust type carries yet (or not in this form).
fn add_contract_schemas(schemas: &mut Map<String, Value>) -> Result<(), OpenApiError> {
    let has_usage = schema_mut(schemas, "Meta")?
        .get("properties")
        .and_then(|p| p.get("usage"))
        .is_some();
    if !has_usage {
        schemas.insert(
            "Usage".to_owned(),
            json!({
                "type": "object",
                "description": "Tokens summed over the attempts.",
                "required": ["inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"],
                "properties": {
                    "inputTokens": {"type": "integer", "minimum": 0},
                    "outputTokens": {"type": "integer", "minimum": 0},
                    "cacheReadInputTokens": {"type": "integer", "minimum": 0},
                    "cacheWriteInputTokens": {"type": "integer", "minimum": 0}
                }
            }),
        );
        set_property(schemas, "Meta", "usage", schema_ref("Usage"), true)?;
    }
    let has_cost = schema_mut(schemas, "Meta")?
        .get("properties")
        .and_then(|p| p.get("costUsd"))
        .is_some();
    if !has_cost {
        set_property(
            schemas,
            "Meta",
            "costUsd",
            json!({"type": "number", "minimum": 0, "description": "The cost of `usage` at the configured prices, in US dollars."}),
            true,
        )?;
    }
    schemas.insert(
        "AsyncAccepted".to_owned(),
        json!({
            "type": "object",
            "required": ["requestId", "status", "location"],
            "properties": {
                "requestId": {"type": "string", "minLength": 1},
                "status": {"const": "pending"},
                "location": {"type": "string", "pattern": "^/recipes/[^/]+$"}
            }
        }),
    );
    schemas.insert(
        "RecipeStatus".to_owned(),
        json!({
            "type": "object",
            "required": ["requestId", "status"],
            "properties": {
                "requestId": {"type": "string"},
                "status": {"enum": ["pending", "succeeded", "failed"]},
                "result": schema_ref("RecipeResponse"),
                "error": schema_ref("ErrorObject")
            }
        }),
    );
    let event = |name: &str, data: Value| {
        json!({
            "type": "object",
            "required": ["event", "data"],
            "properties": {"event": {"const": name}, "data": data}
        })
    };
    schemas.insert(
        "StreamEvent".to_owned(),
        json!({
            "description": "One Server-Sent Event of the function URL stream: its `event:` line and the JSON of its `data:` line.",
            "oneOf": [
                event("attempt", json!({"type": "object", "required": ["attempt", "modelId"],
                    "properties": {"attempt": {"type": "integer", "minimum": 1}, "modelId": {"type": "string"}}})),
                event("progress", json!({"type": "object", "required": ["attempt", "outputTokens"],
                    "properties": {"attempt": {"type": "integer", "minimum": 1}, "outputTokens": {"type": "integer", "minimum": 0}}})),
                event("checks", json!({"type": "object", "required": ["attempt", "failed"],
                    "properties": {"attempt": {"type": "integer", "minimum": 1}, "failed": {"type": "array", "items": schema_ref("Check")}}})),
                event("recipe", schema_ref("RecipeResponse")),
                event("error", json!({"allOf": [schema_ref("ErrorObject"),
                    {"type": "object", "required": ["status"], "properties": {"status": {"type": "integer", "minimum": 400, "maximum": 599}}}]}))
            ]
        }),
    );
    Ok(())
}

/// Every `$ref` must name a schema or header of the document.
fn check_references(doc: &Value) -> Result<(), OpenApiError> {
    fn walk(value: &Value, doc: &Value) -> Result<(), OpenApiError> {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    if key == "$ref" {
                        let target = item.as_str().unwrap_or_default();
                        let pointer = target.strip_prefix('#').unwrap_or("\u{0}");
                        if doc.pointer(pointer).is_none() {
                            return Err(OpenApiError::Unresolved(target.to_owned()));
                        }
                    } else {
                        walk(item, doc)?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => items.iter().try_for_each(|item| walk(item, doc)),
            _ => Ok(()),
        }
    }
    walk(doc, doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_error_has_its_status() {
        let codes = error_codes();
        for (status, code) in [
            (400, "invalid_request"),
            (413, "payload_too_large"),
            (422, "constraints_unsatisfied"),
            (429, "throttled"),
            (502, "model_output_invalid"),
            (503, "model_unavailable"),
            (504, "deadline_exceeded"),
            (404, "not_found"),
        ] {
            assert!(
                codes.iter().any(|(s, c, _)| *s == status && *c == code),
                "{status} {code} missing from {codes:?}"
            );
        }
    }

    #[test]
    fn a_removed_property_fails_instead_of_being_documented() {
        let mut schemas = Map::new();
        schemas.insert("X".to_owned(), json!({"type": "object", "properties": {}}));
        let err = set_property(&mut schemas, "X", "gone", json!({}), false).unwrap_err();
        assert!(matches!(err, OpenApiError::MissingProperty { .. }), "{err}");
        assert!(set_property(&mut schemas, "X", "added", json!({}), true).is_ok());
    }

    #[test]
    fn dangling_references_are_refused() {
        let doc = json!({"components": {"schemas": {"A": {"$ref": "#/components/schemas/B"}}}});
        assert!(matches!(
            check_references(&doc),
            Err(OpenApiError::Unresolved(_))
        ));
    }
}
