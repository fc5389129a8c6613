//! batch-dispatcher end to end on loopback: `POST /batches` through the handler, the messages
//! drained from a moto SQS queue in batches of 10 into the handler as real-shaped SQS events
//! (deleting what the partial-batch response does not list, as the event source mapping
//! does), outcomes in a moto DynamoDB table, Claude from the Bedrock emulator, all through
//! the real AWS SDK. Also: redelivery and concurrent delivery of one message, the deadline
//! rule, and the HTTP API's errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ai_chef::batch::{
    InMemoryStore, LimitPolicy, PacedConfig, RedeliveryDelay, ResultStore, RetryBackoff,
};
use ai_chef::config::{ChatModel, Config, DEFAULT_HAIKU_MODEL_ID, DEFAULT_SONNET_MODEL_ID};
use ai_chef::domain::Target;
use ai_chef::generate::RecipeService;
use ai_chef::nutrition::FoodTable;
use ai_chef::verify::TableVerifier;
use ai_chef_aws::dynamo::DynamoResultStore;
use ai_chef_aws::sqs::SqsJobQueue;
use ai_chef_lambda::handlers::batch_dispatcher::{handle, BatchDispatcherApp};
use ai_chef_tests::moto::{create_queues, create_results_table, sqs_event, Moto, Queues};
use ai_chef_tests::*;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use bedrock_emulator::{Emulator, FaultPlan};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TABLE: &str = "ai-chef-results";
/// With every third call throttled and one SDK attempt, a request is throttled 10 times in a
/// row with probability 0.3^10 (6e-6): high enough that no valid request reaches the DLQ.
const MAX_RECEIVE_COUNT: u32 = 10;

struct Stack {
    emu: Emulator,
    _moto: Moto,
    app: BatchDispatcherApp,
    sqs: aws_sdk_sqs::Client,
    dynamo: aws_sdk_dynamodb::Client,
    queues: Queues,
}

async fn stack(faults: Option<&str>, config: Config) -> Stack {
    // A short visibility timeout so that retried messages reappear within the test.
    stack_with(faults, config, 1, MAX_RECEIVE_COUNT).await
}

async fn stack_with(
    faults: Option<&str>,
    config: Config,
    visibility_secs: u32,
    max_receive_count: u32,
) -> Stack {
    let emu = emulator(faults).await;
    let moto = Moto::start();
    let aws = sdk_config(&moto.endpoint(), 3).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    create_results_table(&dynamo, TABLE).await;
    let queues = create_queues(&sqs, "ai-chef", visibility_secs, max_receive_count).await;
    let foundation = foundation(&emu.endpoint(), config).await;
    let app = BatchDispatcherApp::new(
        recipe_service(&foundation),
        Arc::new(CapturingSink::default()),
        Arc::new(DynamoResultStore::new(dynamo.clone(), TABLE)),
        Arc::new(SqsJobQueue::new(sqs.clone(), &queues.jobs_url)),
    );
    Stack {
        emu,
        _moto: moto,
        app,
        sqs,
        dynamo,
        queues,
    }
}

/// The recipe service with the food-table verifier and no prompt facts: these tests are about
/// batching, so retrieval (and its embedding calls) stays out of the model-call counts.
fn recipe_service(foundation: &ai_chef_lambda::app::Foundation) -> RecipeService {
    let verifier = TableVerifier::new(FoodTable::load_embedded().unwrap(), None);
    RecipeService::new(
        foundation.config.clone(),
        foundation.bedrock(),
        Arc::new(verifier),
        None,
    )
}

/// Requests the emulator answers with a compliant recipe at the first attempt.
fn requests(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let language = if (i / Target::ALL.len()) % 2 == 0 {
                "ko"
            } else {
                "en"
            };
            json!({"target": Target::ALL[i % Target::ALL.len()].as_str(), "language": language})
        })
        .collect()
}

async fn http(app: &BatchDispatcherApp, event: Value) -> (u16, Value) {
    let response = handle(app, lambda_event(event, Duration::from_secs(30)))
        .await
        .unwrap();
    http_parts(&response)
}

async fn post_batch(app: &BatchDispatcherApp, body: &Value) -> (u16, Value) {
    http(
        app,
        http_event_with_body("apigw-post-batches.json", &body.to_string()),
    )
    .await
}

async fn get_batch(app: &BatchDispatcherApp, job_id: &str, query: &[(&str, &str)]) -> (u16, Value) {
    let mut event = load_event("apigw-get-batch.json");
    event["rawPath"] = json!(format!("/batches/{job_id}"));
    event["requestContext"]["http"]["path"] = json!(format!("/batches/{job_id}"));
    event["pathParameters"] = json!({"jobId": job_id});
    let params: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    event["queryStringParameters"] = Value::Object(params);
    event["rawQueryString"] = json!(query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&"));
    http(app, event).await
}

/// What the drain saw.
#[derive(Debug, Default)]
struct Drained {
    invocations: u32,
    deliveries: u32,
    retried: u32,
    /// Message body → times delivered.
    per_body: BTreeMap<String, u32>,
}

/// Plays the SQS event source mapping: receive up to 10, invoke, delete what succeeded.
async fn drain(stack: &Stack, limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Drained {
    let started = Instant::now();
    let mut drained = Drained::default();
    loop {
        assert!(
            started.elapsed() < limit,
            "queue not drained within {limit:?}: {drained:?}"
        );
        let received = stack
            .sqs
            .receive_message()
            .queue_url(&stack.queues.jobs_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            if done().await {
                return drained;
            }
            continue;
        }
        let event = sqs_event(&messages, &stack.queues.jobs_arn);
        let response = handle(&stack.app, lambda_event(event, Duration::from_secs(60)))
            .await
            .unwrap();
        drained.invocations += 1;
        drained.deliveries += messages.len() as u32;
        let retry: HashSet<String> = response["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
            .collect();
        drained.retried += retry.len() as u32;
        let mut deletes = Vec::new();
        for (i, message) in messages.iter().enumerate() {
            let id = message.message_id().unwrap().to_owned();
            *drained
                .per_body
                .entry(message.body().unwrap().to_owned())
                .or_default() += 1;
            if !retry.contains(&id) {
                deletes.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(format!("d{i}"))
                        .receipt_handle(message.receipt_handle().unwrap())
                        .build()
                        .unwrap(),
                );
            }
        }
        if !deletes.is_empty() {
            stack
                .sqs
                .delete_message_batch()
                .queue_url(&stack.queues.jobs_url)
                .set_entries(Some(deletes))
                .send()
                .await
                .unwrap();
        }
    }
}

async fn raw_item(
    stack: &Stack,
    job_id: &str,
    request_id: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    stack
        .dynamo
        .get_item()
        .table_name(TABLE)
        .key("jobId", AttributeValue::S(job_id.into()))
        .key("requestId", AttributeValue::S(request_id.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// Every result of a job, following `nextToken` through pages of `limit`.
async fn all_results(
    app: &BatchDispatcherApp,
    job_id: &str,
    limit: &str,
) -> (Value, Vec<Value>, u32) {
    let mut token: Option<String> = None;
    let mut results = Vec::new();
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", limit)];
        if let Some(t) = token.as_deref() {
            query.push(("nextToken", t));
        }
        let (status, body) = get_batch(app, job_id, &query).await;
        assert_eq!(status, 200, "{body:#}");
        pages += 1;
        results.extend(body["results"].as_array().unwrap().iter().cloned());
        match body["nextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => return (body["counts"].clone(), results, pages),
        }
    }
}

#[tokio::test]
async fn fifty_requests_under_throttling_are_each_stored_succeeded_exactly_once() {
    // One SDK attempt per call: every throttle reaches the handler, so the queue's redelivery
    // (not only the SDK's retry) is exercised.
    let config = Config {
        bedrock_max_attempts: 1,
        ..test_config()
    };
    let mut stack = stack(
        Some(r#"{"errors": {"error": "ThrottlingException", "rate": 0.3, "seed": 7}}"#),
        config,
    )
    .await;
    // And no retry within the invocation: every throttled record goes back through the queue.
    stack.app.local_retries = 0;

    let (status, accepted) = post_batch(&stack.app, &json!({"requests": requests(50)})).await;
    assert_eq!(status, 202, "{accepted:#}");
    assert_eq!(accepted["accepted"], 50);
    let job_id = accepted["jobId"].as_str().unwrap().to_owned();

    // A poison body and an invalid request, sent by a producer that bypassed the API.
    let poison = "{\"jobId\": \"job-poison\", \"requestId\": ";
    let invalid =
        json!({"jobId": "job-direct", "requestId": "bad-1", "request": {"target": "paleo"}})
            .to_string();
    for body in [poison, invalid.as_str()] {
        stack
            .sqs
            .send_message()
            .queue_url(&stack.queues.jobs_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    let (_, before) = get_batch(&stack.app, &job_id, &[]).await;
    assert_eq!(before["counts"]["total"], 50);

    let drained = drain(&stack, Duration::from_secs(120), async || {
        let (_, body) = get_batch(&stack.app, &job_id, &[("limit", "1")]).await;
        let dlq = stack
            .sqs
            .get_queue_attributes()
            .queue_url(&stack.queues.dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        let in_dlq = dlq.attributes().unwrap()
            [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages]
            != "0";
        body["counts"]["succeeded"] == 50 && in_dlq
    })
    .await;
    println!(
        "{} invocations, {} deliveries, {} reported for retry",
        drained.invocations, drained.deliveries, drained.retried
    );
    assert!(
        drained.retried > 0,
        "30 % throttling must have caused retries: {drained:?}"
    );

    let stats = stack.emu.stats();
    assert_eq!(
        stats.claude.successes, 50,
        "one successful model call per request: {stats:?}"
    );
    assert!(
        stats
            .errors
            .get("ThrottlingException")
            .copied()
            .unwrap_or(0)
            > 0
    );

    let (counts, results, pages) = all_results(&stack.app, &job_id, "20").await;
    assert_eq!(
        counts,
        json!({"succeeded": 50, "failed": 0, "pending": 0, "total": 50})
    );
    assert_eq!(pages, 3);
    let ids: HashSet<&str> = results
        .iter()
        .map(|r| r["requestId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 50, "every request once");
    for result in &results {
        assert_eq!(result["status"], "succeeded", "{result:#}");
        assert!(result["result"]["recipe"]["recipeName"].is_string());
        assert!(result["result"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true));
        assert!(result.get("error").is_none());
    }

    // The invalid request is stored failed and was never reported for retry.
    let (status, direct) = get_batch(&stack.app, "job-direct", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        direct["counts"],
        json!({"succeeded": 0, "failed": 1, "pending": 0, "total": 1})
    );
    assert_eq!(direct["results"][0]["error"]["code"], "invalid_request");
    assert_eq!(direct["results"][0]["attempts"], 1);
    assert_eq!(
        drained.per_body[&invalid], 1,
        "the invalid request is not retried"
    );
    assert_eq!(
        drained.per_body[poison], MAX_RECEIVE_COUNT,
        "the poison message is retried up to maxReceiveCount"
    );

    // The poison message is in the dead-letter queue, byte for byte.
    let dead = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queues.dlq_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].body(), Some(poison));
    let queued = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queues.jobs_url)
        .max_number_of_messages(10)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    assert!(
        queued.messages.unwrap_or_default().is_empty(),
        "nothing left on the jobs queue"
    );
}

#[tokio::test]
async fn a_redelivered_message_whose_outcome_is_stored_calls_no_model_and_writes_nothing() {
    let stack = stack(None, test_config()).await;
    let body = json!({"jobId": "job-redeliver", "requestId": "r000", "request": requests(1)[0]})
        .to_string();
    stack
        .sqs
        .send_message()
        .queue_url(&stack.queues.jobs_url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    let received = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queues.jobs_url)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    let event = sqs_event(&received, &stack.queues.jobs_arn);

    let first = handle(
        &stack.app,
        lambda_event(event.clone(), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(first, json!({"batchItemFailures": []}));
    assert_eq!(stack.emu.stats().claude.calls, 1);
    let stored = raw_item(&stack, "job-redeliver", "r000").await.unwrap();
    assert_eq!(stored["status"].as_s().unwrap(), "succeeded");

    let again = handle(&stack.app, lambda_event(event, Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(again, json!({"batchItemFailures": []}));
    assert_eq!(
        stack.emu.stats().total_calls,
        1,
        "no model call for a stored outcome"
    );
    assert_eq!(
        raw_item(&stack, "job-redeliver", "r000").await.unwrap(),
        stored,
        "nothing written"
    );
}

#[tokio::test]
async fn two_concurrent_deliveries_of_one_message_store_one_model_calls_result() {
    // Slow enough that both deliveries overlap.
    let stack = stack(Some(r#"{"latencyMs": 500}"#), test_config()).await;
    let body =
        json!({"jobId": "job-twice", "requestId": "r000", "request": requests(1)[0]}).to_string();
    stack
        .sqs
        .send_message()
        .queue_url(&stack.queues.jobs_url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    let received = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queues.jobs_url)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap();
    let event = sqs_event(&received, &stack.queues.jobs_arn);
    let message_id = received[0].message_id().unwrap();

    // moto does not serialise conditional writes that arrive in the same millisecond (DynamoDB
    // does), so the second delivery starts 150 ms later: still while the first one is inside
    // its 500 ms model call. The simultaneous case is covered with the in-memory store below.
    let second = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        handle(
            &stack.app,
            lambda_event(event.clone(), Duration::from_secs(30)),
        )
        .await
    };
    let (a, b) = tokio::join!(
        handle(
            &stack.app,
            lambda_event(event.clone(), Duration::from_secs(30))
        ),
        second,
    );
    let failures: Vec<Value> = [a.unwrap(), b.unwrap()]
        .iter()
        .flat_map(|r| r["batchItemFailures"].as_array().unwrap().clone())
        .collect();
    assert_eq!(
        failures,
        vec![json!({"itemIdentifier": message_id})],
        "the second delivery is retried later"
    );
    assert_eq!(stack.emu.stats().claude.calls, 1, "one model call");
    let stored = raw_item(&stack, "job-twice", "r000").await.unwrap();
    assert_eq!(stored["status"].as_s().unwrap(), "succeeded");
    assert_eq!(stored["attempts"].as_n().unwrap(), "1");
    let meta =
        serde_json::from_str::<Value>(stored["result"].as_s().unwrap()).unwrap()["meta"].clone();
    assert_eq!(meta["attempts"], 1);

    // The retried delivery comes back and finds the outcome.
    let later = handle(&stack.app, lambda_event(event, Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(later, json!({"batchItemFailures": []}));
    assert_eq!(stack.emu.stats().claude.calls, 1);
}

#[tokio::test]
async fn invalid_submissions_are_400_per_index_and_enqueue_nothing() {
    let stack = stack(None, test_config()).await;
    let mut batch = requests(5);
    batch[3] = json!({"target": "keto", "profile": {"budget": 5}});
    let (status, body) = post_batch(&stack.app, &json!({"requests": batch})).await;
    assert_eq!(status, 400, "{body:#}");
    assert_eq!(body["error"]["code"], "invalid_request");
    assert_eq!(
        body["error"]["details"][0]["field"],
        "requests[3].profile.budget"
    );
    let (status, _) = post_batch(&stack.app, &json!({"requests": []})).await;
    assert_eq!(status, 400);
    let queued = stack
        .sqs
        .receive_message()
        .queue_url(&stack.queues.jobs_url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(queued.messages.unwrap_or_default().is_empty());

    let (status, body) = get_batch(&stack.app, "job-unknown", &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = get_batch(&stack.app, "job-unknown", &[("limit", "1000")]).await;
    assert_eq!(
        (status, body["error"]["details"][0]["field"].as_str()),
        (400, Some("limit"))
    );
    assert_eq!(stack.emu.stats().total_calls, 0);
}

#[tokio::test]
async fn a_job_is_read_only_by_the_caller_who_submitted_it() {
    let stack = stack(None, test_config()).await;
    // The fixture events carry the IAM user chef-client.
    let (status, accepted) = post_batch(&stack.app, &json!({"requests": requests(2)})).await;
    assert_eq!(status, 202, "{accepted:#}");
    let job_id = accepted["jobId"].as_str().unwrap();
    let (status, own) = get_batch(&stack.app, job_id, &[]).await;
    assert_eq!((status, own["counts"]["total"].as_u64()), (200, Some(2)));

    let get_as = |authorizer: Option<Value>| {
        let mut event = load_event("apigw-get-batch.json");
        event["rawPath"] = json!(format!("/batches/{job_id}"));
        event["requestContext"]["http"]["path"] = json!(format!("/batches/{job_id}"));
        event["pathParameters"] = json!({"jobId": job_id});
        let context = event["requestContext"].as_object_mut().unwrap();
        match authorizer {
            Some(authorizer) => context.insert("authorizer".into(), authorizer),
            None => context.remove("authorizer"),
        };
        event
    };
    let mut other_user = load_event("apigw-get-batch.json")["requestContext"]["authorizer"].clone();
    other_user["iam"]["userArn"] = json!("arn:aws:iam::123456789012:user/someone-else");
    for authorizer in [
        Some(other_user),
        Some(json!({"jwt": {"claims": {"sub": "chef-client"}, "scopes": null}})),
        None,
    ] {
        let (status, body) = http(&stack.app, get_as(authorizer.clone())).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{authorizer:?}"
        );
    }

    // A JWT caller's job is its own too.
    let mut post = http_event_with_body(
        "apigw-post-batches.json",
        &json!({"requests": requests(1)}).to_string(),
    );
    post["requestContext"]["authorizer"] =
        json!({"jwt": {"claims": {"sub": "user-42"}, "scopes": null}});
    let (status, accepted) = http(&stack.app, post).await;
    assert_eq!(status, 202);
    let jwt_job = accepted["jobId"].as_str().unwrap();
    let mut get = load_event("apigw-get-batch.json");
    get["pathParameters"] = json!({"jobId": jwt_job});
    get["requestContext"]["authorizer"] =
        json!({"jwt": {"claims": {"sub": "user-42"}, "scopes": null}});
    assert_eq!(http(&stack.app, get.clone()).await.0, 200);
    get["requestContext"]["authorizer"] =
        json!({"jwt": {"claims": {"sub": "user-43"}, "scopes": null}});
    assert_eq!(http(&stack.app, get).await.0, 404);
}

#[tokio::test]
async fn a_result_item_read_before_its_claim_is_applied_is_pending_not_an_error() {
    let stack = stack(None, test_config()).await;
    let (status, accepted) = post_batch(&stack.app, &json!({"requests": requests(3)})).await;
    assert_eq!(status, 202, "{accepted:#}");
    let job_id = accepted["jobId"].as_str().unwrap();
    // What a reader sees while moto runs a claim's UpdateItem on a new item: it stores the bare
    // key first and applies the update expression after.
    stack
        .dynamo
        .put_item()
        .table_name(TABLE)
        .item("jobId", AttributeValue::S(job_id.into()))
        .item("requestId", AttributeValue::S("r001".into()))
        .send()
        .await
        .unwrap();
    let (status, body) = get_batch(&stack.app, job_id, &[]).await;
    assert_eq!(status, 200, "{body:#}");
    let counts = &body["counts"];
    assert_eq!(
        [
            &counts["total"],
            &counts["pending"],
            &counts["succeeded"],
            &counts["failed"]
        ],
        [&json!(3), &json!(3), &json!(0), &json!(0)],
        "{body:#}"
    );
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{body:#}");
    assert_eq!(
        (&results[0]["requestId"], &results[0]["status"]),
        (&json!("r001"), &json!("pending"))
    );
}

#[tokio::test]
async fn reading_a_job_while_its_items_are_being_claimed_never_fails() {
    let stack = stack(None, test_config()).await;
    let (status, accepted) = post_batch(&stack.app, &json!({"requests": requests(1)})).await;
    assert_eq!(status, 202, "{accepted:#}");
    let job_id = accepted["jobId"].as_str().unwrap().to_owned();
    let store = DynamoResultStore::new(stack.dynamo.clone(), TABLE);
    const CLAIMS: usize = 150;
    let writing = std::cell::Cell::new(true);
    let claims = async {
        let lease = ai_chef::batch::store::Lease {
            owner: "claimer".to_owned(),
            until_ms: u64::MAX / 2,
            expires_at: 4_000_000_000,
        };
        for index in 0..CLAIMS {
            let key = ai_chef::batch::store::ResultKey {
                job_id: job_id.clone(),
                request_id: format!("c{index:03}"),
            };
            let claim = store.claim(&key, &lease, 1_000).await.unwrap();
            assert_eq!(claim, ai_chef::batch::store::Claim::Claimed { attempts: 1 });
        }
        writing.set(false);
    };
    let reads = async {
        let mut answers: Vec<(u16, Value)> = Vec::new();
        let started = Instant::now();
        while writing.get() && started.elapsed() < Duration::from_secs(60) {
            answers.push(get_batch(&stack.app, &job_id, &[("limit", "100")]).await);
        }
        answers
    };
    let ((), answers) = tokio::join!(claims, reads);
    assert!(answers.len() >= 5, "only {} reads", answers.len());
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body:#}");
    }
    let (status, body) = get_batch(&stack.app, &job_id, &[]).await;
    assert_eq!(status, 200);
    // r000 has no item yet: the counts are the claimed items, all pending.
    assert_eq!(
        (&body["counts"]["total"], &body["counts"]["pending"]),
        (&json!(CLAIMS), &json!(CLAIMS))
    );
}

/// The app with an in-memory store (no network besides the emulator).
async fn memory_app(
    emu: &Emulator,
    limit: LimitPolicy,
) -> (BatchDispatcherApp, Arc<InMemoryStore>) {
    memory_app_with(emu, limit, test_config()).await
}

async fn memory_app_with(
    emu: &Emulator,
    limit: LimitPolicy,
    config: Config,
) -> (BatchDispatcherApp, Arc<InMemoryStore>) {
    let store = Arc::new(InMemoryStore::new());
    let foundation = foundation(&emu.endpoint(), config).await;
    let app = BatchDispatcherApp::new(
        recipe_service(&foundation),
        Arc::new(CapturingSink::default()),
        store.clone(),
        Arc::new(SqsJobQueue::new(
            aws_sdk_sqs::Client::new(&foundation.sdk),
            "http://127.0.0.1:9/unused",
        )),
    )
    .with_limit(limit);
    (app, store)
}

fn synthetic_event(n: usize) -> Value {
    let mut template = load_event("sqs-batch.json")["Records"][0].clone();
    let records: Vec<Value> = (0..n)
        .map(|i| {
            template["messageId"] = json!(format!("m-{i}"));
            template["body"] = json!(json!({"jobId": "job-mem", "requestId": format!("r{i:03}"), "request": requests(n)[i]}).to_string());
            template.clone()
        })
        .collect();
    json!({"Records": records})
}

#[tokio::test]
async fn no_record_starts_when_the_deadline_cannot_cover_it_and_none_is_lost() {
    let emu = emulator(Some(r#"{"latencyMs": 400}"#)).await;
    let (app, store) = memory_app(&emu, LimitPolicy::fixed(1)).await;
    // One record at a time, 400 ms each: 200 ms margin + 2.2 s leaves room for a few only.
    let response = handle(
        &app,
        lambda_event(synthetic_event(8), Duration::from_millis(2_400)),
    )
    .await
    .unwrap();
    let retried: HashSet<String> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    let stats = emu.stats();
    let results = store.results("job-mem");
    let succeeded: Vec<_> = results
        .iter()
        .filter(|r| r.status.as_str() == "succeeded")
        .collect();
    assert!(
        !succeeded.is_empty() && !retried.is_empty(),
        "{stats:?} {retried:?}"
    );
    assert_eq!(
        succeeded.len() + retried.len(),
        8,
        "every record either stored or retried"
    );
    assert_eq!(
        stats.claude.calls, stats.claude.successes,
        "no started call was cut by the deadline"
    );
    assert_eq!(stats.claude.successes as usize, succeeded.len());

    // The retried ones were released: the next delivery takes them at once.
    let response = handle(
        &app,
        lambda_event(synthetic_event(8), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(emu.stats().claude.successes, 8);
    assert!(store
        .results("job-mem")
        .iter()
        .all(|r| r.status.as_str() == "succeeded"));
}

#[tokio::test]
async fn throttled_records_are_retried_within_the_invocation_and_lower_the_limit() {
    let emu = emulator(Some(
        r#"{"errors": {"error": "ThrottlingException", "first": 3}}"#,
    ))
    .await;
    // One SDK attempt per call, as the function configures its model calls; no fallback
    // model, so every throttle reaches the limiter.
    let config = Config {
        bedrock_max_attempts: 1,
        fallback_chain: Vec::new(),
        ..test_config()
    };
    let (app, store) = memory_app_with(&emu, LimitPolicy::default(), config).await;
    let response = handle(
        &app,
        lambda_event(synthetic_event(1), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let stats = emu.stats();
    assert_eq!((stats.claude.calls, stats.claude.successes), (4, 1));
    let gate = app.gate.snapshot();
    assert_eq!(gate.throttles, 3);
    // Each retry started after the previous throttle's decrease, so each throttle lowered
    // the rate (with no success yet, by the backoff factor).
    let defaults = PacedConfig::default();
    let twice_lowered = defaults.initial_rate * defaults.backoff * defaults.backoff;
    assert!(
        gate.rate.is_some_and(|rate| rate < twice_lowered),
        "each throttle lowered the rate: {gate:?}"
    );
    assert_eq!(
        store.results("job-mem")[0].attempts,
        1,
        "one claim for the whole invocation"
    );
}

/// The in-memory app with its metrics sink kept, to count `ModelFallback`.
async fn memory_app_with_sink(
    emu: &Emulator,
    config: Config,
) -> (BatchDispatcherApp, Arc<InMemoryStore>, Arc<CapturingSink>) {
    let sink = Arc::new(CapturingSink::default());
    let (mut app, store) = memory_app_with(emu, LimitPolicy::default(), config).await;
    app.metrics = sink.clone();
    (app, store, sink)
}

fn fallbacks_counted(sink: &CapturingSink) -> u32 {
    sink.batches
        .lock()
        .unwrap()
        .iter()
        .flat_map(|b| b.fallbacks.values())
        .sum()
}

/// Model calls the emulator saw per model id.
fn calls_per_model(emu: &Emulator) -> BTreeMap<String, u64> {
    emu.stats()
        .per_model
        .into_iter()
        .map(|(model, stats)| (model, stats.calls))
        .collect()
}

/// The worker's configuration: one SDK attempt per model call, the default fallback chain.
fn worker_config() -> Config {
    let config = Config {
        bedrock_max_attempts: 1,
        ..test_config()
    };
    assert_eq!(
        config.fallback_chain,
        [ChatModel::Sonnet, ChatModel::Haiku],
        "these tests need Haiku after Sonnet in the chain"
    );
    config
}

#[tokio::test]
async fn a_throttled_sonnet_keeps_its_records_on_sonnet_and_they_complete() {
    // Sonnet's first 4 calls throttled. Sync requests would hand them to Haiku; the worker
    // retries them on Sonnet under the pacer.
    let emu = emulator(Some(
        r#"{"errors": {"error": "ThrottlingException", "first": 4, "scope": {"model": "claude-sonnet-4-5"}}}"#,
    ))
    .await;
    let (app, store, sink) = memory_app_with_sink(&emu, worker_config()).await;
    let response = handle(
        &app,
        lambda_event(synthetic_event(3), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(
        calls_per_model(&emu),
        BTreeMap::from([(DEFAULT_SONNET_MODEL_ID.to_owned(), 3 + 4)]),
        "no call left Sonnet"
    );
    let results = store.results("job-mem");
    assert_eq!(results.len(), 3);
    for result in &results {
        assert_eq!(result.status.as_str(), "succeeded", "{result:?}");
        let meta = &result.result.as_ref().unwrap()["meta"];
        assert_eq!(meta["modelId"], DEFAULT_SONNET_MODEL_ID, "{result:?}");
        assert_eq!(result.attempts, 1, "retried within the one invocation");
    }
    assert_eq!(fallbacks_counted(&sink), 0, "no ModelFallback");
    assert_eq!(
        app.gate.snapshot().throttles,
        4,
        "every throttle reached the gate"
    );
}

#[tokio::test]
async fn persistent_throttles_end_in_the_partial_batch_response_and_nothing_is_lost() {
    // Every Sonnet call throttled: each record spends its retries within the invocation on
    // Sonnet, then goes back to the queue; none is handed to Haiku, none is stored failed.
    let emu = emulator(Some(
        r#"{"errors": {"error": "ThrottlingException", "scope": {"model": "claude-sonnet-4-5"}}}"#,
    ))
    .await;
    let (app, store, sink) = memory_app_with_sink(&emu, worker_config()).await;
    let app = app.with_local_retries(2);
    let response = handle(
        &app,
        lambda_event(synthetic_event(2), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let retried: HashSet<&str> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(retried, HashSet::from(["m-0", "m-1"]));
    assert_eq!(
        calls_per_model(&emu),
        BTreeMap::from([(DEFAULT_SONNET_MODEL_ID.to_owned(), 2 * (1 + 2))]),
        "one call and two retries per record, all on Sonnet"
    );
    assert_eq!(fallbacks_counted(&sink), 0);
    let results = store.results("job-mem");
    assert!(
        results.iter().all(|r| r.status.as_str() == "pending"),
        "released, not failed: {results:?}"
    );

    // The quota recovers: the next delivery completes both on Sonnet at once (the claims
    // were released).
    emu.set_faults(FaultPlan::default()).unwrap();
    let response = handle(
        &app,
        lambda_event(synthetic_event(2), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let results = store.results("job-mem");
    assert!(results.iter().all(|r| r.status.as_str() == "succeeded"
        && r.result.as_ref().unwrap()["meta"]["modelId"] == DEFAULT_SONNET_MODEL_ID));
}

#[tokio::test]
async fn a_sonnet_not_ready_still_hands_its_records_to_haiku() {
    let emu = emulator(Some(
        r#"{"errors": {"error": "ModelNotReadyException", "scope": {"model": "claude-sonnet-4-5"}}}"#,
    ))
    .await;
    let (app, store, sink) = memory_app_with_sink(&emu, worker_config()).await;
    let response = handle(
        &app,
        lambda_event(synthetic_event(2), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let results = store.results("job-mem");
    assert!(
        results.iter().all(|r| r.status.as_str() == "succeeded"
            && r.result.as_ref().unwrap()["meta"]["modelId"] == DEFAULT_HAIKU_MODEL_ID),
        "{results:?}"
    );
    assert_eq!(fallbacks_counted(&sink), 2);
    // Not ready says nothing about the quota: the stand-in answers are successes for the gate.
    assert_eq!(app.gate.snapshot().throttles, 0);
}

#[tokio::test]
async fn simultaneous_deliveries_of_one_message_make_one_model_call() {
    let emu = emulator(Some(r#"{"latencyMs": 300}"#)).await;
    let (app, store) = memory_app(&emu, LimitPolicy::default()).await;
    let event = synthetic_event(1);
    let (a, b, c) = tokio::join!(
        handle(&app, lambda_event(event.clone(), Duration::from_secs(30))),
        handle(&app, lambda_event(event.clone(), Duration::from_secs(30))),
        handle(&app, lambda_event(event.clone(), Duration::from_secs(30))),
    );
    let retried: usize = [a.unwrap(), b.unwrap(), c.unwrap()]
        .iter()
        .map(|r| r["batchItemFailures"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        retried, 2,
        "the deliveries that found the claim are retried"
    );
    assert_eq!(emu.stats().claude.calls, 1);
    let results = store.results("job-mem");
    assert_eq!((results.len(), results[0].attempts), (1, 1));
    assert_eq!(results[0].status.as_str(), "succeeded");
}

#[tokio::test]
async fn records_run_concurrently_up_to_the_limit() {
    let emu = emulator(Some(r#"{"latencyMs": 300}"#)).await;
    let (app, _) = memory_app(&emu, LimitPolicy::fixed(10)).await;
    let started = Instant::now();
    let response = handle(
        &app,
        lambda_event(synthetic_event(10), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert!(
        started.elapsed() < Duration::from_millis(2_000),
        "10 × 300 ms ran one by one: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn warm_up_answers_at_once_and_writes_nothing() {
    let emu = emulator(None).await;
    let (app, store) = memory_app(&emu, LimitPolicy::default()).await;
    let response = handle(
        &app,
        lambda_event(load_event("scheduled-warmup.json"), Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert_eq!(
        response,
        json!({"warmed": true, "function": "batch-dispatcher"})
    );
    assert_eq!(emu.stats().total_calls, 0);
    assert!(store.status_counts("job-mem").await.unwrap().items() == 0);
}

#[tokio::test]
async fn the_fixture_batch_stores_two_recipes_and_one_failure() {
    let emu = emulator(None).await;
    let (app, store) = memory_app(&emu, LimitPolicy::default()).await;
    let response = handle(
        &app,
        lambda_event(load_event("sqs-batch.json"), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let results = store.results("job-demo-1");
    let statuses: Vec<&str> = results.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["succeeded", "succeeded", "failed"]);
    assert_eq!(
        results[2].error.as_ref().unwrap()["code"],
        "invalid_request"
    );
}

#[tokio::test]
async fn a_failing_message_returns_after_its_backoff_and_reaches_the_dlq_after_max_receives() {
    // A 30 s visibility timeout: a message seen again within seconds came back by the backoff.
    const VISIBILITY_SECS: u32 = 30;
    const MAX_RECEIVES: u32 = 3;
    let backoff = RetryBackoff {
        base: Duration::from_secs(1),
        cap: Duration::from_secs(2),
        jitter: 0.0,
    };
    // Every model call throttled, one SDK attempt, no retry within the invocation and no
    // fallback model: each delivery fails for a passing cause and is handed back to the queue.
    let config = Config {
        bedrock_max_attempts: 1,
        fallback_chain: Vec::new(),
        ..test_config()
    };
    let mut stack = stack_with(
        Some(r#"{"errors": {"error": "ThrottlingException", "rate": 1.0}}"#),
        config,
        VISIBILITY_SECS,
        MAX_RECEIVES,
    )
    .await;
    let queue = Arc::new(SqsJobQueue::new(stack.sqs.clone(), &stack.queues.jobs_url));
    stack.app = stack
        .app
        .clone()
        .with_local_retries(0)
        .with_redelivery(queue, backoff);

    let body =
        json!({"jobId": "job-backoff", "requestId": "r000", "request": requests(1)[0]}).to_string();
    stack
        .sqs
        .send_message()
        .queue_url(&stack.queues.jobs_url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    let sent = Instant::now();

    let mut receives: Vec<(Duration, String)> = Vec::new();
    let reached_dlq = loop {
        assert!(
            sent.elapsed() < Duration::from_secs(60),
            "not in the DLQ after 60 s: {receives:?}"
        );
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
        if let Some(message) = received.first() {
            let count = message.attributes().unwrap()
                [&MessageSystemAttributeName::ApproximateReceiveCount]
                .clone();
            receives.push((sent.elapsed(), count));
            let event = sqs_event(&received, &stack.queues.jobs_arn);
            let response = handle(&stack.app, lambda_event(event, Duration::from_secs(30)))
                .await
                .unwrap();
            assert_eq!(
                response,
                json!({"batchItemFailures": [{"itemIdentifier": message.message_id().unwrap()}]}),
                "a throttled record is reported for retry"
            );
            continue;
        }
        let dead = stack
            .sqs
            .receive_message()
            .queue_url(&stack.queues.dlq_url)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if let Some(message) = dead.first() {
            assert_eq!(message.body(), Some(body.as_str()), "moved intact");
            break sent.elapsed();
        }
    };
    println!(
        "receives at {:?}; in the DLQ after {reached_dlq:?} (visibility timeout {VISIBILITY_SECS} s, \
         maxReceiveCount {MAX_RECEIVES}, backoff 1 s doubling to 2 s)",
        receives
    );
    let counts: Vec<&str> = receives.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(counts, ["1", "2", "3"], "received maxReceiveCount times");
    assert_eq!(
        stack.emu.stats().claude.calls,
        3,
        "one model call per receive"
    );
    // Each return waited for its delay (1 s after the first receive, 2 s after the second),
    // never for the visibility timeout.
    for (gap, delay) in [
        (receives[1].0 - receives[0].0, backoff.ceiling(1)),
        (receives[2].0 - receives[1].0, backoff.ceiling(2)),
    ] {
        assert!(
            gap + Duration::from_millis(300) >= delay && gap < delay + Duration::from_secs(5),
            "came back after {gap:?}, the backoff is {delay:?}"
        );
    }
    // The bound docs/batch.md states: every delay at its ceiling plus each receive's
    // processing (here one long poll of 1 s and the handler; 3 s leaves room for a loaded
    // machine, and the bound stays below one visibility timeout).
    let bound = backoff.time_to_dead_letter_bound(MAX_RECEIVES, Duration::from_secs(3));
    assert!(
        reached_dlq <= bound,
        "{reached_dlq:?} to the DLQ exceeds the bound {bound:?}"
    );
    assert!(reached_dlq < Duration::from_secs(u64::from(VISIBILITY_SECS)));
}

/// Records what the worker asked of the queue.
#[derive(Debug, Default)]
struct RecordingRedelivery {
    delays: std::sync::Mutex<Vec<(Option<String>, String, Duration)>>,
}

#[async_trait::async_trait]
impl RedeliveryDelay for RecordingRedelivery {
    async fn delay_redelivery(
        &self,
        event_source_arn: Option<&str>,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), String> {
        self.delays.lock().unwrap().push((
            event_source_arn.map(str::to_owned),
            receipt_handle.to_owned(),
            delay,
        ));
        Ok(())
    }
}

#[tokio::test]
async fn only_retried_records_are_delayed_by_their_receive_count() {
    let emu = emulator(None).await;
    let (app, store) = memory_app(&emu, LimitPolicy::default()).await;
    let recorder = Arc::new(RecordingRedelivery::default());
    let backoff = RetryBackoff {
        base: Duration::from_secs(10),
        cap: Duration::from_secs(300),
        jitter: 0.0,
    };
    let app = app.with_redelivery(recorder.clone(), backoff);
    // The fixture batch (two recipes, one invalid request: nothing to retry) plus a poison
    // message on its fourth receive.
    let mut event = load_event("sqs-batch.json");
    let mut poison = event["Records"][0].clone();
    poison["messageId"] = json!("poison-1");
    poison["receiptHandle"] = json!("handle-poison");
    poison["body"] = json!("{\"jobId\": ");
    poison["attributes"]["ApproximateReceiveCount"] = json!("4");
    event["Records"].as_array_mut().unwrap().push(poison);
    let response = handle(&app, lambda_event(event, Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "poison-1"}]})
    );
    assert_eq!(store.results("job-demo-1").len(), 3);
    assert_eq!(
        *recorder.delays.lock().unwrap(),
        vec![(
            Some("arn:aws:sqs:us-east-1:123456789012:ai-chef-jobs".to_owned()),
            "handle-poison".to_owned(),
            Duration::from_secs(80)
        )],
        "one delay, 10 s × 2^(4-1), for the one retried record"
    );
}
