//! HTTP requests as the Lambda events AWS builds from them, and Lambda answers as the HTTP
//! responses AWS sends back: API Gateway HTTP API (payload format 2.0) and Lambda function URLs
//! (the same format, with the function URL's domain and the `$default` route).
//!
//! The events are built from `aws_lambda_events`' own structs, then the fields that struct
//! keeps only for custom authorizer v1 payloads (`type`, `methodArn`, `httpMethod`, ...) are
//! removed, since API Gateway never sends them in a 2.0 event.

use aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The API id the local HTTP API pretends to have (as in the checked-in sample events).
pub const API_ID: &str = "abc123defg";
/// The url id of the local function URL.
pub const FUNCTION_URL_ID: &str = "playgroundfunctionurl0000000000";
const REGION: &str = "us-east-1";
const ACCOUNT_ID: &str = "123456789012";
/// Fields `ApiGatewayV2httpRequest` serialises that a payload 2.0 event does not have.
const NOT_IN_PAYLOAD_V2: &[&str] = &[
    "type",
    "methodArn",
    "httpMethod",
    "identitySource",
    "authorizationToken",
    "resource",
];

/// One HTTP request as the front received it.
#[derive(Debug, Clone)]
pub struct HttpCall {
    pub method: Method,
    /// The path as sent (percent-encoding kept, as `rawPath` keeps it).
    pub path: String,
    /// The query string without `?`.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub source_ip: String,
}

/// Which AWS front an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Front {
    /// API Gateway HTTP API; the route key is `METHOD /path/{param}`.
    HttpApi { route_key: &'static str },
    /// A Lambda function URL (route key `$default`).
    FunctionUrl,
}

/// The event AWS would hand the function for this request.
pub fn request_event(call: &HttpCall, front: Front, path_parameters: &[(&str, &str)]) -> Value {
    let (domain_name, api_id, route_key) = match front {
        Front::HttpApi { route_key } => (
            format!("{API_ID}.execute-api.{REGION}.amazonaws.com"),
            API_ID.to_owned(),
            route_key.to_owned(),
        ),
        Front::FunctionUrl => (
            format!("{FUNCTION_URL_ID}.lambda-url.{REGION}.on.aws"),
            FUNCTION_URL_ID.to_owned(),
            "$default".to_owned(),
        ),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let time_epoch = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
    let request_id = format!("{:x}{:x}", now.as_secs(), now.subsec_nanos());

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = call.method.clone();
    http.path = Some(call.path.clone());
    http.protocol = Some("HTTP/1.1".to_owned());
    http.source_ip = Some(call.source_ip.clone());
    http.user_agent = call
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route_key.clone());
    context.account_id = Some(ACCOUNT_ID.to_owned());
    context.stage = Some("$default".to_owned());
    context.request_id = Some(request_id);
    context.apiid = Some(api_id.clone());
    context.domain_name = Some(domain_name.clone());
    context.domain_prefix = Some(api_id);
    context.time = Some(clf_time(now.as_secs()));
    context.time_epoch = time_epoch;
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".to_owned());
    event.route_key = Some(route_key);
    event.raw_path = Some(call.path.clone());
    event.raw_query_string = Some(call.query.clone());
    event.headers = event_headers(&call.headers, &domain_name, call.body.len());
    let cookies: Vec<String> = call
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split("; ").map(str::to_owned).collect::<Vec<_>>())
        .collect();
    if !cookies.is_empty() {
        event.cookies = Some(cookies);
    }
    event.query_string_parameters = query_parameters(&call.query).into();
    event.path_parameters = path_parameters
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    event.request_context = context;
    if !call.body.is_empty() {
        let (body, base64) = event_body(&call.body, &call.headers);
        event.body = Some(body);
        event.is_base64_encoded = base64;
    }

    let mut value = serde_json::to_value(&event).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        for key in NOT_IN_PAYLOAD_V2 {
            map.remove(*key);
        }
        if map
            .get("stageVariables")
            .is_some_and(|v| v.as_object().is_some_and(|m| m.is_empty()))
        {
            map.remove("stageVariables");
        }
    }
    value
}

/// Header names lowercased, repeated values joined with commas (payload 2.0), plus the
/// headers API Gateway adds.
fn event_headers(headers: &HeaderMap, host: &str, content_length: usize) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in headers.keys() {
        if name == http::header::COOKIE {
            continue;
        }
        let joined = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        if let Ok(value) = HeaderValue::from_str(&joined) {
            out.insert(name.clone(), value);
        }
    }
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.insert(HeaderName::from_static(name), value);
        }
    };
    set("host", host.to_owned());
    set("x-forwarded-proto", "https".to_owned());
    set("x-forwarded-port", "443".to_owned());
    if content_length > 0 {
        set("content-length", content_length.to_string());
    }
    out
}

/// Query parameters with repeated names joined by commas, as payload 2.0 does.
fn query_parameters(query: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        let value = percent_decode(value);
        match out.get_mut(&key) {
            Some(values) => {
                if let Some(first) = values.first_mut() {
                    first.push(',');
                    first.push_str(&value);
                }
            }
            None => {
                out.insert(key, vec![value]);
            }
        }
    }
    out
}

/// Percent-decoding of a path segment (`+` stays a plus sign).
pub fn percent_decode_path(text: &str) -> String {
    percent_decode(&text.replace('+', "%2B"))
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space); invalid escapes are kept.
/// Hand-written: a dozen lines, where a crate would add a dependency for this one use.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let byte = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match byte {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// HTTP API passes text bodies as they are and base64-encodes everything else.
fn event_body(body: &[u8], headers: &HeaderMap) -> (String, bool) {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let textual = content_type.is_empty()
        || content_type.starts_with("text/")
        || content_type.contains("json")
        || content_type.contains("xml")
        || content_type.starts_with("application/x-www-form-urlencoded")
        || content_type.starts_with("application/javascript");
    match std::str::from_utf8(body) {
        Ok(text) if textual => (text.to_owned(), false),
        _ => (base64::engine::general_purpose::STANDARD.encode(body), true),
    }
}

/// Common Log Format time, as `requestContext.time` has it: `25/Nov/2026:03:30:00 +0000`.
fn clf_time(epoch_secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = epoch_secs / 86_400;
    let secs = epoch_secs % 86_400;
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    let month_name = MONTHS
        .get(usize::try_from(month.saturating_sub(1)).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{day:02}/{month_name}/{year}:{:02}:{:02}:{:02} +0000",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's civil-from-days algorithm
/// (a date crate for one timestamp format would be the larger dependency).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// An HTTP answer built from a function's result.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAnswer {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// API Gateway's own JSON answer (`{"message": "..."}`), as it sends for its own errors.
    pub fn gateway(status: StatusCode, message: &str) -> Self {
        HttpAnswer {
            status,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: json!({ "message": message }).to_string().into_bytes(),
        }
    }
}

/// The response AWS sends for a function's payload-2.0 answer: an object with `statusCode`
/// is a full response; anything else is a 200 JSON body (API Gateway's inference rule).
pub fn response_from_payload(payload: &Value) -> HttpAnswer {
    let is_structured = payload
        .as_object()
        .is_some_and(|map| map.contains_key("statusCode"));
    if !is_structured {
        return HttpAnswer {
            status: StatusCode::OK,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: payload.to_string().into_bytes(),
        };
    }
    let status = payload
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok());
    let Some(status) = status else {
        return HttpAnswer::gateway(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    };
    let mut headers: Vec<(String, String)> = payload
        .get("headers")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.to_ascii_lowercase(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    if let Some(multi) = payload.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in multi {
            for value in values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                headers.push((name.to_ascii_lowercase(), value.to_owned()));
            }
        }
    }
    for cookie in payload
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        headers.push(("set-cookie".to_owned(), cookie.to_owned()));
    }
    let text = payload.get("body").and_then(Value::as_str).unwrap_or("");
    let base64 = payload
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = if base64 {
        match base64::engine::general_purpose::STANDARD.decode(text) {
            Ok(bytes) => bytes,
            Err(_) => {
                return HttpAnswer::gateway(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                )
            }
        }
    } else {
        text.as_bytes().to_vec()
    };
    HttpAnswer {
        status,
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: Method, path: &str, query: &str, body: &str) -> HttpCall {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.append("x-multi", HeaderValue::from_static("a"));
        headers.append("x-multi", HeaderValue::from_static("b"));
        HttpCall {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: body.as_bytes().to_vec(),
            source_ip: "127.0.0.1".to_owned(),
        }
    }

    #[test]
    fn http_api_event_has_the_payload_v2_shape_the_functions_read() {
        let event = request_event(
            &call(Method::POST, "/recipes", "", r#"{"target":"keto"}"#),
            Front::HttpApi {
                route_key: "POST /recipes",
            },
            &[],
        );
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "POST /recipes");
        assert_eq!(event["rawPath"], "/recipes");
        assert_eq!(event["requestContext"]["http"]["method"], "POST");
        assert_eq!(event["requestContext"]["stage"], "$default");
        assert_eq!(event["headers"]["x-multi"], "a,b");
        assert_eq!(event["body"], r#"{"target":"keto"}"#);
        assert_eq!(event["isBase64Encoded"], false);
        for key in NOT_IN_PAYLOAD_V2 {
            assert!(event.get(*key).is_none(), "{key} present");
        }
        let parsed: ApiGatewayV2httpRequest = serde_json::from_value(event.clone()).unwrap();
        let (method, path) = ai_chef_lambda::http::route(&parsed);
        assert_eq!((method.as_str(), path.as_str()), ("POST", "/recipes"));
        assert!(matches!(
            ai_chef_lambda::http::classify(event),
            ai_chef_lambda::http::Incoming::Http(_)
        ));
    }

    #[test]
    fn function_url_event_names_the_function_url_domain() {
        let event = request_event(
            &call(Method::POST, "/recipes", "", "{}"),
            Front::FunctionUrl,
            &[],
        );
        assert_eq!(event["routeKey"], "$default");
        let domain = event["requestContext"]["domainName"].as_str().unwrap();
        assert!(domain.contains(".lambda-url."), "{domain}");
    }

    #[test]
    fn query_and_path_parameters_are_decoded() {
        let event = request_event(
            &call(
                Method::GET,
                "/batches/job-1",
                "limit=5&nextToken=a%2Bb&x=1&x=2",
                "",
            ),
            Front::HttpApi {
                route_key: "GET /batches/{jobId}",
            },
            &[("jobId", "job-1")],
        );
        assert_eq!(event["queryStringParameters"]["limit"], "5");
        assert_eq!(event["queryStringParameters"]["nextToken"], "a+b");
        assert_eq!(event["queryStringParameters"]["x"], "1,2");
        assert_eq!(event["pathParameters"]["jobId"], "job-1");
        assert!(event.get("body").is_none());
    }

    #[test]
    fn binary_bodies_are_base64_encoded() {
        let mut c = call(Method::POST, "/recipes", "", "");
        c.body = vec![0xff, 0x00];
        c.headers.insert(
            "content-type",
            HeaderValue::from_static("application/octet-stream"),
        );
        let event = request_event(
            &c,
            Front::HttpApi {
                route_key: "POST /recipes",
            },
            &[],
        );
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["body"], "/wA=");
    }

    #[test]
    fn responses_follow_api_gateway_rules() {
        let answer = response_from_payload(&json!({
            "statusCode": 429, "headers": {"Retry-After": "3", "content-type": "application/json"},
            "body": "{\"error\":{}}", "isBase64Encoded": false
        }));
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(answer
            .headers
            .contains(&("retry-after".to_owned(), "3".to_owned())));
        assert_eq!(answer.body, b"{\"error\":{}}");
        let bare = response_from_payload(&json!({"warmed": true}));
        assert_eq!(bare.status, StatusCode::OK);
        assert_eq!(bare.body, br#"{"warmed":true}"#);
    }

    #[test]
    fn log_format_time_is_a_real_date() {
        assert_eq!(clf_time(1_795_577_400), "25/Nov/2026:03:30:00 +0000");
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
