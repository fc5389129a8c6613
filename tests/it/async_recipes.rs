//! Async recipes end to end on loopback: `POST /recipes` with `"mode": "async"` through the
//! generate-recipe handler (202, `Location`), the message drained from a moto SQS queue into
//! the batch-dispatcher handler as a real-shaped SQS event, the outcome in a moto DynamoDB
//! table, and `GET /recipes/{requestId}` back through generate-recipe, all through the real
//! AWS SDK with Claude from the Bedrock emulator. Also: only the submitter reads a result,
//! validation answers at once, the worker generates once per request, and a deployment
//! without the table and queue still serves sync and answers async with 503. Last, the same
//! round trip through the real generate-recipe and batch-dispatcher binaries over the Lambda
//! Runtime API, configured by environment variables only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::generate::RecipeService;
use ai_chef::nutrition::FoodTable;
use ai_chef::verify::TableVerifier;
use ai_chef_aws::dynamo::DynamoResultStore;
use ai_chef_aws::sqs::SqsJobQueue;
use ai_chef_lambda::handlers::async_recipes::AsyncRecipes;
use ai_chef_lambda::handlers::batch_dispatcher::{self, BatchDispatcherApp};
use ai_chef_lambda::handlers::generate_recipe::{self, GenerateRecipeApp};
use ai_chef_tests::function_binary as binary;
use ai_chef_tests::moto::{create_queues, create_results_table, sqs_event, Moto, Queues};
use ai_chef_tests::*;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use bedrock_emulator::Emulator;
use lambda_runner::{FunctionProcess, Outcome, OutputMode, SpawnOptions};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const TABLE: &str = "ai-chef-results";
const CHEF_CLIENT: &str = "arn:aws:iam::123456789012:user/chef-client";

struct Stack {
    emu: Emulator,
    _moto: Moto,
    generate: GenerateRecipeApp,
    worker: BatchDispatcherApp,
    sqs: aws_sdk_sqs::Client,
    queues: Queues,
}

/// The recipe service with the food-table verifier and no prompt facts, so that model-call
/// counts are recipe calls only.
fn recipe_service(foundation: &ai_chef_lambda::app::Foundation) -> RecipeService {
    let verifier = TableVerifier::new(FoodTable::load_embedded().unwrap(), None);
    RecipeService::new(
        foundation.config.clone(),
        foundation.bedrock(),
        Arc::new(verifier),
        None,
    )
}

async fn stack(faults: Option<&str>) -> Stack {
    let emu = emulator(faults).await;
    let moto = Moto::start();
    let aws = sdk_config(&moto.endpoint(), 3).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    create_results_table(&dynamo, TABLE).await;
    let queues = create_queues(&sqs, "ai-chef", 1, 5).await;
    let foundation = foundation(&emu.endpoint(), test_config()).await;
    let store = Arc::new(DynamoResultStore::new(dynamo.clone(), TABLE));
    let queue = Arc::new(SqsJobQueue::new(sqs.clone(), &queues.jobs_url));
    let generate = GenerateRecipeApp {
        service: recipe_service(&foundation),
        metrics: Arc::new(CapturingSink::default()),
        async_recipes: AsyncRecipes::Ready {
            store: store.clone(),
            queue: queue.clone(),
            ttl_days: 30,
        },
    };
    let worker = BatchDispatcherApp::new(
        recipe_service(&foundation),
        Arc::new(CapturingSink::default()),
        store,
        queue,
    );
    Stack {
        emu,
        _moto: moto,
        generate,
        worker,
        sqs,
        queues,
    }
}

/// (status, Location header, body) of a generate-recipe HTTP answer.
async fn call(app: &GenerateRecipeApp, event: Value) -> (u16, Option<String>, Value) {
    let response = generate_recipe::handle(app, lambda_event(event, Duration::from_secs(30)))
        .await
        .unwrap();
    let location = response["headers"]["location"].as_str().map(str::to_owned);
    let (status, body) = http_parts(&response);
    (status, location, body)
}

async fn post_recipe(app: &GenerateRecipeApp, body: &Value) -> (u16, Option<String>, Value) {
    call(
        app,
        http_event_with_body("apigw-post-recipes-keto.json", &body.to_string()),
    )
    .await
}

/// Who calls: an IAM user, a JWT subject, or nobody (no authorizer).
#[derive(Clone, Copy)]
enum Caller<'a> {
    Iam(&'a str),
    Jwt(&'a str),
    Anonymous,
}

fn as_caller(mut event: Value, caller: Caller<'_>) -> Value {
    let context = event["requestContext"].as_object_mut().unwrap();
    match caller {
        Caller::Iam(arn) => {
            context["authorizer"]["iam"]["userArn"] = json!(arn);
        }
        Caller::Jwt(sub) => {
            context.insert(
                "authorizer".into(),
                json!({"jwt": {"claims": {"sub": sub, "iss": "https://issuer.example"}, "scopes": null}}),
            );
        }
        Caller::Anonymous => {
            context.remove("authorizer");
        }
    }
    event
}

fn get_event(request_id: &str, caller: Caller<'_>) -> Value {
    // The GET route as API Gateway sends it: the batch GET event with this route's path.
    let mut event = load_event("apigw-get-batch.json");
    let path = format!("/recipes/{request_id}");
    event["routeKey"] = json!("GET /recipes/{requestId}");
    event["requestContext"]["routeKey"] = json!("GET /recipes/{requestId}");
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["pathParameters"] = json!({"requestId": request_id});
    as_caller(event, caller)
}

async fn get_recipe(app: &GenerateRecipeApp, request_id: &str, caller: Caller<'_>) -> (u16, Value) {
    let (status, _, body) = call(app, get_event(request_id, caller)).await;
    (status, body)
}

/// Plays the event source mapping once: receives what is queued, invokes the worker, deletes
/// what it did not report for retry. Answers the SQS event it delivered.
async fn deliver(stack: &Stack) -> Option<Value> {
    let received = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queues.jobs_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    if received.is_empty() {
        return None;
    }
    let event = sqs_event(&received, &stack.queues.jobs_arn);
    let response = batch_dispatcher::handle(
        &stack.worker,
        lambda_event(event.clone(), Duration::from_secs(60)),
    )
    .await
    .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let deletes: Vec<_> = received
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap()
        })
        .collect();
    stack
        .sqs
        .delete_message_batch()
        .queue_url(&stack.queues.jobs_url)
        .set_entries(Some(deletes))
        .send()
        .await
        .unwrap();
    Some(event)
}

async fn queued_messages(stack: &Stack) -> usize {
    stack
        .sqs
        .receive_message()
        .queue_url(&stack.queues.jobs_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
        .len()
}

#[tokio::test]
async fn an_async_recipe_is_queued_generated_once_and_read_back_by_its_submitter() {
    let stack = stack(None).await;
    let body = json!({"target": "keto", "profile": {"allergies": ["땅콩"]}, "servings": 2,
        "ingredientsOnHand": ["돼지고기", "양배추"], "mode": "async"});
    let (status, location, accepted) = post_recipe(&stack.generate, &body).await;
    assert_eq!(status, 202, "{accepted:#}");
    let request_id = accepted["requestId"].as_str().unwrap().to_owned();
    assert_eq!(
        accepted,
        json!({"requestId": request_id, "status": "pending",
               "location": format!("/recipes/{request_id}")})
    );
    assert_eq!(
        location.as_deref(),
        Some(accepted["location"].as_str().unwrap())
    );
    assert_eq!(
        stack.emu.stats().total_calls,
        0,
        "nothing generated at submit"
    );

    let (status, pending) =
        get_recipe(&stack.generate, &request_id, Caller::Iam(CHEF_CLIENT)).await;
    assert_eq!(
        (status, pending),
        (200, json!({"requestId": request_id, "status": "pending"}))
    );

    let delivered = deliver(&stack).await.expect("one message queued");
    assert_eq!(delivered["Records"].as_array().unwrap().len(), 1);
    let message: Value =
        serde_json::from_str(delivered["Records"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(message["jobId"], json!(request_id));
    assert_eq!(message["request"], body);
    assert_eq!(stack.emu.stats().claude.calls, 1);

    let (status, done) = get_recipe(&stack.generate, &request_id, Caller::Iam(CHEF_CLIENT)).await;
    assert_eq!(status, 200, "{done:#}");
    assert_eq!(done["requestId"], json!(request_id));
    assert_eq!(done["status"], "succeeded");
    assert!(done.get("error").is_none());
    let result = &done["result"];
    for part in ["recipe", "nutrition", "checks", "meta"] {
        assert!(
            result.get(part).is_some(),
            "the sync 200 body has {part}: {result:#}"
        );
    }
    assert_eq!(result["recipe"]["servings"], 2);
    assert!(result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["passed"] == true));

    // The same message delivered again (at-least-once) finds the outcome: no second call.
    let again = batch_dispatcher::handle(
        &stack.worker,
        lambda_event(delivered, Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(again, json!({"batchItemFailures": []}));
    assert_eq!(stack.emu.stats().total_calls, 1, "exactly one generation");
    let (_, still) = get_recipe(&stack.generate, &request_id, Caller::Iam(CHEF_CLIENT)).await;
    assert_eq!(still, done);
}

#[tokio::test]
async fn another_caller_or_an_unknown_id_is_not_found() {
    let stack = stack(None).await;
    let (status, _, accepted) = post_recipe(
        &stack.generate,
        &json!({"target": "vegan", "mode": "async"}),
    )
    .await;
    assert_eq!(status, 202);
    let request_id = accepted["requestId"].as_str().unwrap();
    for caller in [
        Caller::Iam("arn:aws:iam::123456789012:user/someone-else"),
        Caller::Jwt("chef-client"),
        Caller::Anonymous,
    ] {
        let (status, body) = get_recipe(&stack.generate, request_id, caller).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found"))
        );
    }
    for unknown in ["rcp-00000000000000000000000000000000", "job-1", "r000"] {
        let (status, body) = get_recipe(&stack.generate, unknown, Caller::Iam(CHEF_CLIENT)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{unknown}"
        );
    }

    // A JWT caller owns what it submits, and only that caller reads it.
    let post = as_caller(
        http_event_with_body(
            "apigw-post-recipes-keto.json",
            &json!({"target": "balanced", "mode": "async"}).to_string(),
        ),
        Caller::Jwt("user-42"),
    );
    let (status, _, mine) = call(&stack.generate, post).await;
    assert_eq!(status, 202);
    let mine = mine["requestId"].as_str().unwrap();
    assert_eq!(
        get_recipe(&stack.generate, mine, Caller::Jwt("user-42"))
            .await
            .0,
        200
    );
    assert_eq!(
        get_recipe(&stack.generate, mine, Caller::Jwt("user-43"))
            .await
            .0,
        404
    );
    assert_eq!(
        get_recipe(&stack.generate, mine, Caller::Iam(CHEF_CLIENT))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn bad_async_requests_are_refused_at_once_and_queue_nothing() {
    let stack = stack(None).await;
    let cases = [
        (json!({"target": "paleo", "mode": "async"}), 400, "target"),
        (
            json!({"target": "keto", "mode": "async", "colour": "red"}),
            400,
            "colour",
        ),
        (json!({"target": "keto", "mode": "later"}), 400, "mode"),
        (
            json!({"target": "keto", "mode": "async", "profile": {"budget": 5}}),
            400,
            "profile.budget",
        ),
        // Limits that exclude each other: 422 without a model call, as sync.
        (
            json!({"target": "keto", "mode": "async", "profile": {"healthConditions": ["고지혈증"]}}),
            422,
            "",
        ),
    ];
    for (body, want, field) in cases {
        let (status, location, answer) = post_recipe(&stack.generate, &body).await;
        assert_eq!(status, want, "{body} → {answer:#}");
        assert!(location.is_none());
        if want == 400 {
            assert_eq!(answer["error"]["code"], "invalid_request");
            assert_eq!(answer["error"]["details"][0]["field"], field, "{answer:#}");
        } else {
            assert_eq!(answer["error"]["code"], "constraints_unsatisfied");
            assert_eq!(answer["error"]["details"][0]["rule"], "compatibleLimits");
        }
    }
    let (status, _, answer) = call(
        &stack.generate,
        http_event_with_body("apigw-post-recipes-keto.json", "{\"mode\": \"async\""),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(queued_messages(&stack).await, 0, "nothing queued");
    assert_eq!(stack.emu.stats().total_calls, 0, "no model call");
}

#[tokio::test]
async fn a_request_that_can_never_succeed_is_read_back_as_failed_with_its_error() {
    let stack = stack(Some(r#"{"neverComply": "allergen"}"#)).await;
    let body = json!({"target": "balanced", "profile": {"allergies": ["땅콩"]}, "mode": "async"});
    let (status, _, accepted) = post_recipe(&stack.generate, &body).await;
    assert_eq!(status, 202);
    let request_id = accepted["requestId"].as_str().unwrap();
    deliver(&stack).await.expect("one message queued");
    let (status, view) = get_recipe(&stack.generate, request_id, Caller::Iam(CHEF_CLIENT)).await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "failed", "{view:#}");
    assert!(view.get("result").is_none(), "nothing unverified is shown");
    assert_eq!(view["error"]["code"], "constraints_unsatisfied");
    assert!(view["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["rule"].as_str().unwrap().starts_with("allergen:")));
}

#[tokio::test]
async fn without_table_and_queue_sync_works_and_async_is_503() {
    let emu = emulator(None).await;
    let (app, _) = generate_app(&emu.endpoint(), test_config()).await;
    let (status, _, body) = post_recipe(&app, &json!({"target": "keto"})).await;
    assert_eq!(status, 200, "{body:#}");
    let (status, _, body) = post_recipe(&app, &json!({"target": "keto", "mode": "sync"})).await;
    assert_eq!(status, 200, "{body:#}");
    let calls = emu.stats().total_calls;

    let (status, _, body) = post_recipe(&app, &json!({"target": "keto", "mode": "async"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("async_unavailable"))
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("RESULTS_TABLE") && message.contains("JOBS_QUEUE_URL"),
        "{message}"
    );
    let (status, _) = get_recipe(&app, "rcp-0", Caller::Iam(CHEF_CLIENT)).await;
    assert_eq!(status, 503);
    // Validation still comes first.
    let (status, _, _) = post_recipe(&app, &json!({"target": "paleo", "mode": "async"})).await;
    assert_eq!(status, 400);
    assert_eq!(emu.stats().total_calls, calls, "async made no model call");
}

#[tokio::test]
async fn a_direct_invocation_cannot_ask_for_async() {
    let emu = emulator(None).await;
    let (app, _) = generate_app(&emu.endpoint(), test_config()).await;
    let answer = generate_recipe::handle(
        &app,
        lambda_event(
            json!({"target": "keto", "mode": "async"}),
            Duration::from_secs(30),
        ),
    )
    .await
    .unwrap();
    assert_eq!(answer["error"]["code"], "invalid_request");
    assert_eq!(answer["error"]["details"][0]["field"], "mode");
    assert_eq!(emu.stats().total_calls, 0);
}

async fn spawn(name: &str, env: &[(&str, &str)]) -> FunctionProcess {
    let mut options = SpawnOptions::new(binary(name))
        .function_name(name)
        .output(OutputMode::Quiet);
    for (k, v) in env {
        options = options.env(*k, *v);
    }
    let mut process = FunctionProcess::spawn(options).await.unwrap();
    process.wait_ready(Duration::from_secs(30)).await.unwrap();
    process
}

async fn invoke(process: &mut FunctionProcess, event: Value) -> Value {
    let invocation = process
        .invoke(event, Duration::from_secs(30))
        .await
        .unwrap();
    match invocation.outcome {
        Outcome::Response(value) => value,
        Outcome::Error {
            error_type,
            error_message,
        } => panic!("function error {error_type}: {error_message}"),
    }
}

#[tokio::test]
async fn the_binaries_carry_an_async_recipe_through_the_runtime_api() {
    let emu = emulator(None).await;
    let moto = Moto::start();
    let aws = sdk_config(&moto.endpoint(), 3).await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    create_results_table(&aws_sdk_dynamodb::Client::new(&aws), TABLE).await;
    let queues = create_queues(&sqs, "ai-chef-rt", 30, 5).await;
    let bedrock = emu.endpoint();
    let moto_url = moto.endpoint();
    let env = [
        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock.as_str()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto_url.as_str()),
        ("AWS_ENDPOINT_URL_SQS", moto_url.as_str()),
        ("RESULTS_TABLE", TABLE),
        ("JOBS_QUEUE_URL", queues.jobs_url.as_str()),
    ];
    let mut generate = spawn("generate-recipe", &env).await;
    let mut worker = spawn("batch-dispatcher", &env).await;

    let body = json!({"target": "low-sodium", "servings": 3, "mode": "async"});
    let answer = invoke(
        &mut generate,
        http_event_with_body("apigw-post-recipes-keto.json", &body.to_string()),
    )
    .await;
    let location = answer["headers"]["location"].as_str().unwrap().to_owned();
    let (status, accepted) = http_parts(&answer);
    assert_eq!(status, 202, "{accepted:#}");
    let request_id = accepted["requestId"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/recipes/{request_id}"));

    let received = sqs
        .receive_message()
        .queue_url(&queues.jobs_url)
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 1, "one message per async request");
    let batch = invoke(&mut worker, sqs_event(&received, &queues.jobs_arn)).await;
    assert_eq!(batch, json!({"batchItemFailures": []}));

    let answer = invoke(
        &mut generate,
        get_event(&request_id, Caller::Iam(CHEF_CLIENT)),
    )
    .await;
    let (status, view) = http_parts(&answer);
    assert_eq!(status, 200, "{view:#}");
    assert_eq!(view["status"], "succeeded", "{view:#}");
    assert_eq!(view["result"]["recipe"]["servings"], 3);
    assert_eq!(emu.stats().claude.successes, 1);
    let answer = invoke(
        &mut generate,
        get_event(&request_id, Caller::Jwt("someone")),
    )
    .await;
    assert_eq!(http_parts(&answer).0, 404);
}
