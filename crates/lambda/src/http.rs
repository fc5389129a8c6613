//! The edge of every function: recognising what kind of event arrived (scheduled warm-up,
//! API Gateway HTTP API v2, SQS, or a direct invocation) and building HTTP API responses.

use ai_chef::error::{FieldError, ServiceError};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::sqs::SqsEvent;
use base64::Engine;
use http::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use serde::Serialize;
use serde_json::Value;

/// What an invocation's payload is.
#[derive(Debug)]
pub enum Incoming {
    Scheduled(Box<EventBridgeEvent>),
    Http(Box<ApiGatewayV2httpRequest>),
    Sqs(Box<SqsEvent>),
    /// Anything else: a direct invocation whose payload is the request body itself.
    Direct(Value),
}

/// Classifies a payload by the fields AWS always sends for each event kind. The typed event
/// is read from a borrowed value, so the payload is never copied on this hot path.
pub fn classify(payload: Value) -> Incoming {
    use serde::Deserialize;
    let is_scheduled = payload.get("source").and_then(Value::as_str) == Some("aws.events")
        && payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
    if is_scheduled {
        if let Ok(event) = EventBridgeEvent::deserialize(&payload) {
            return Incoming::Scheduled(Box::new(event));
        }
    }
    let is_http = payload
        .get("requestContext")
        .and_then(|c| c.get("http"))
        .is_some_and(Value::is_object);
    if is_http {
        if let Ok(request) = ApiGatewayV2httpRequest::deserialize(&payload) {
            return Incoming::Http(Box::new(request));
        }
    }
    let is_sqs = payload
        .get("Records")
        .and_then(Value::as_array)
        .is_some_and(|records| {
            records
                .iter()
                .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
        });
    if is_sqs {
        if let Ok(event) = SqsEvent::deserialize(&payload) {
            return Incoming::Sqs(Box::new(event));
        }
    }
    Incoming::Direct(payload)
}

/// Whether an HTTP payload (format 2.0) came from a Lambda function URL rather than API
/// Gateway: its `requestContext.domainName` is the URL's `<url-id>.lambda-url.<region>.on.aws`.
pub fn is_function_url(payload: &Value) -> bool {
    let Some(context) = payload.get("requestContext") else {
        return false;
    };
    let domain = context
        .get("domainName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    context.get("http").is_some_and(Value::is_object)
        && domain.ends_with(".on.aws")
        && domain.contains(".lambda-url.")
}

/// The method and path of an HTTP API request, without the stage prefix.
pub fn route(request: &ApiGatewayV2httpRequest) -> (String, String) {
    let method = request.request_context.http.method.as_str().to_owned();
    let mut path = request
        .raw_path
        .clone()
        .or_else(|| request.request_context.http.path.clone())
        .unwrap_or_else(|| "/".to_owned());
    if let Some(stage) = request
        .request_context
        .stage
        .as_deref()
        .filter(|s| *s != "$default")
    {
        let prefix = format!("/{stage}");
        if let Some(rest) = path.strip_prefix(&prefix) {
            if rest.is_empty() || rest.starts_with('/') {
                path = if rest.is_empty() {
                    "/".to_owned()
                } else {
                    rest.to_owned()
                };
            }
        }
    }
    let trimmed = path.trim_end_matches('/');
    let path = if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    };
    (method, path)
}

/// The request body as bytes: base64 decoded when flagged, bounded by `limit`, and refused
/// when the client declared a non-JSON content type.
pub fn json_body(request: &ApiGatewayV2httpRequest, limit: usize) -> Result<Vec<u8>, ServiceError> {
    if let Some(content_type) = request.headers.get(CONTENT_TYPE) {
        let value = content_type.to_str().unwrap_or("").to_ascii_lowercase();
        let essence = value.split(';').next().unwrap_or("").trim();
        if !(essence.is_empty() || essence == "application/json" || essence.ends_with("+json")) {
            return Err(ServiceError::UnsupportedMediaType {
                content_type: essence.chars().take(100).collect(),
            });
        }
    }
    let raw = request.body.as_deref().unwrap_or("");
    // Base64 inflates by 4/3; refuse before decoding anything huge.
    if raw.len() > limit.saturating_mul(4) / 3 + 4 {
        return Err(ServiceError::PayloadTooLarge {
            size: raw.len(),
            limit,
        });
    }
    let bytes = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|e| {
                ServiceError::invalid(
                    "request body is flagged base64 but does not decode",
                    vec![FieldError::new("body", e.to_string())],
                )
            })?
    } else {
        raw.as_bytes().to_vec()
    };
    if bytes.len() > limit {
        return Err(ServiceError::PayloadTooLarge {
            size: bytes.len(),
            limit,
        });
    }
    Ok(bytes)
}

/// A JSON HTTP API response as the Lambda payload.
pub fn json_response<T: Serialize>(status: u16, body: &T, retry_after_secs: Option<u64>) -> Value {
    let text = serde_json::to_string(body).unwrap_or_else(|_| {
        r#"{"error":{"code":"internal_error","message":"response could not be encoded","details":[]}}"#.to_owned()
    });
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(status);
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(secs) = retry_after_secs {
        if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
            response.headers.insert(RETRY_AFTER, value);
        }
    }
    response.body = Some(Body::Text(text));
    response.is_base64_encoded = false;
    serde_json::to_value(response).unwrap_or(Value::Null)
}

/// The contract's error response for a service error.
pub fn error_response(err: &ServiceError) -> Value {
    json_response(err.status(), &err.to_body(), err.retry_after_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn http_event(body: &str, base64: bool, content_type: Option<&str>) -> ApiGatewayV2httpRequest {
        let mut headers = serde_json::Map::new();
        if let Some(ct) = content_type {
            headers.insert("content-type".into(), json!(ct));
        }
        serde_json::from_value(json!({
            "version": "2.0", "routeKey": "POST /recipes", "rawPath": "/prod/recipes", "rawQueryString": "",
            "headers": headers, "isBase64Encoded": base64, "body": body,
            "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "x", "domainPrefix": "x",
                "http": {"method": "POST", "path": "/prod/recipes", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "POST /recipes", "stage": "prod", "time": "t", "timeEpoch": 0}
        }))
        .unwrap()
    }

    #[test]
    fn events_are_classified_by_their_aws_fields() {
        let scheduled = json!({"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events",
            "account":"123456789012","time":"2026-11-25T00:00:00Z","region":"us-east-1","resources":[],"detail":{}});
        assert!(matches!(classify(scheduled), Incoming::Scheduled(_)));
        let http = serde_json::to_value(http_event("{}", false, None)).unwrap();
        assert!(matches!(classify(http), Incoming::Http(_)));
        let sqs = json!({"Records":[{"messageId":"m1","receiptHandle":"h","body":"{}","attributes":{},
            "messageAttributes":{},"md5OfBody":"x","eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:1:q","awsRegion":"us-east-1"}]});
        assert!(matches!(classify(sqs), Incoming::Sqs(_)));
        assert!(matches!(
            classify(json!({"texts":["a"]})),
            Incoming::Direct(_)
        ));
        assert!(matches!(
            classify(json!({"source":"aws.events","detail-type":"Other"})),
            Incoming::Direct(_)
        ));
    }

    #[test]
    fn function_url_events_are_told_from_api_gateway_ones() {
        let api = serde_json::to_value(http_event("{}", false, None)).unwrap();
        assert!(!is_function_url(&api));
        let mut url = api.clone();
        url["requestContext"]["domainName"] =
            json!("a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6.lambda-url.us-east-1.on.aws");
        assert!(is_function_url(&url));
        // Still an HTTP event for everything else.
        assert!(matches!(classify(url.clone()), Incoming::Http(_)));
        url["requestContext"]["domainName"] = json!("lambda-url.example.com");
        assert!(!is_function_url(&url));
        assert!(!is_function_url(&json!({"target": "keto"})));
    }

    #[test]
    fn stage_prefix_is_removed_from_the_route() {
        let (method, path) = route(&http_event("", false, None));
        assert_eq!((method.as_str(), path.as_str()), ("POST", "/recipes"));
    }

    #[test]
    fn bodies_are_decoded_and_bounded() {
        assert_eq!(
            json_body(&http_event("{}", false, Some("application/json")), 10).unwrap(),
            b"{}"
        );
        assert_eq!(
            json_body(&http_event("e30=", true, None), 10).unwrap(),
            b"{}"
        );
        assert_eq!(
            json_body(&http_event("%%%", true, None), 10)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            json_body(&http_event(&"x".repeat(11), false, None), 10)
                .unwrap_err()
                .status(),
            413
        );
        assert_eq!(
            json_body(&http_event("{}", false, Some("text/plain")), 10)
                .unwrap_err()
                .status(),
            415
        );
        assert!(json_body(
            &http_event("{}", false, Some("application/json; charset=utf-8")),
            10
        )
        .is_ok());
    }

    #[test]
    fn responses_carry_status_type_and_retry_after() {
        let value = error_response(&ServiceError::Throttled {
            message: "slow down".into(),
            retry_after: std::time::Duration::from_secs(3),
        });
        assert_eq!(value["statusCode"], 429);
        assert_eq!(value["headers"]["content-type"], "application/json");
        assert_eq!(value["headers"]["retry-after"], "3");
        let body: Value = serde_json::from_str(value["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "throttled");
    }
}
