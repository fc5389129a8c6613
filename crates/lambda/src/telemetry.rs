//! JSON logs as AWS users read them: one object per line in Lambda's JSON log format
//! (`timestamp`, `level`, `message`, `requestId`), plus `functionName`, `coldStart` (true on
//! the first invocation of the process), the event's own fields and those of the spans around
//! it, all in camelCase (`attempt`, `modelId`, `latencyMs`).
//!
//! The request id comes from lambda_runtime's per-invocation span (`Lambda runtime invoke`,
//! an INFO span). That span stays enabled whatever `RUST_LOG` says, so a WARN line carries the
//! request id even when INFO lines are filtered out. tracing-subscriber's own JSON format nests
//! span fields under `span`; Lambda's format and Powertools put them at the top level, hence
//! the small formatter below.

use serde_json::{Map, Value};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{filter_fn, FilterExt, LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The span lambda_runtime opens around each invocation, with field `requestId`.
pub const INVOKE_SPAN: &str = "Lambda runtime invoke";

/// Keys the formatter writes itself; a field of the same name is kept under `fields.<name>`.
const RESERVED: [&str; 6] = [
    "timestamp",
    "level",
    "message",
    "requestId",
    "functionName",
    "coldStart",
];

/// Installs the JSON subscriber (level from `RUST_LOG`, default `info`) writing to stderr, so
/// that stdout carries only Embedded Metric Format lines. The function name is
/// `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda and its emulators), else the binary's name.
pub fn init() {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
    let _ = subscriber(&function_name_from_env(), &directives, std::io::stderr).try_init();
}

/// The subscriber [`init`] installs, writing to `writer`; tests capture lines with it.
pub fn subscriber<W>(
    function_name: &str,
    directives: &str,
    writer: W,
) -> impl Subscriber + Send + Sync + for<'a> LookupSpan<'a>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // `level` or `target=level,...` directives. tracing-subscriber's EnvFilter would also take
    // span and field filters, at the price of a regex engine in every bootstrap; nothing here
    // filters on them.
    let targets = directives
        .parse::<Targets>()
        .ok()
        .filter(|_| !directives.trim().is_empty())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let invoke_span = filter_fn(|meta| meta.is_span() && meta.name() == INVOKE_SPAN);
    let format = tracing_subscriber::fmt::layer()
        .event_format(LambdaJson {
            function_name: function_name.to_owned(),
        })
        .with_writer(writer);
    tracing_subscriber::registry().with(
        SpanFieldsLayer::default()
            .and_then(format)
            .with_filter(targets.or(invoke_span)),
    )
}

fn function_name_from_env() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        })
        .unwrap_or_default()
}

/// `attempt_count` → `attemptCount`; names already in camelCase pass unchanged.
pub fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A span's fields, camelCased, kept in the span's extensions.
struct SpanFields(Vec<(String, Value)>);

/// What the invocation span adds to every line inside it.
struct Invocation {
    request_id: String,
    cold_start: bool,
}

/// Records span fields (and the invocation's request id and cold start) when a span opens.
#[derive(Default)]
struct SpanFieldsLayer {
    invoked_before: AtomicBool,
}

impl<S> Layer<S> for SpanFieldsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = FieldMap::default();
        attrs.record(&mut fields);
        let mut extensions = span.extensions_mut();
        if attrs.metadata().name() == INVOKE_SPAN {
            let request_id = fields
                .take("requestId")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            extensions.insert(Invocation {
                request_id,
                cold_start: !self.invoked_before.swap(true, Ordering::Relaxed),
            });
        }
        extensions.insert(SpanFields(fields.0));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            let mut added = FieldMap::default();
            values.record(&mut added);
            for (key, value) in added.0 {
                fields.retain(|(k, _)| *k != key);
                fields.push((key, value));
            }
        }
    }
}

/// Collects fields as JSON values under camelCase names; `message` keeps its name.
#[derive(Default)]
struct FieldMap(Vec<(String, Value)>);

impl FieldMap {
    fn put(&mut self, field: &Field, value: Value) {
        self.0.push((camel_case(field.name()), value));
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }
}

impl Visit for FieldMap {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

/// One JSON object per event, keys in the order Lambda writes them.
struct LambdaJson {
    function_name: String,
}

impl<S, N> FormatEvent<S, N> for LambdaJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut fields = FieldMap::default();
        event.record(&mut fields);
        let message = fields.take("message").unwrap_or(Value::from(""));

        let mut line: Vec<(String, Value)> = vec![
            ("timestamp".to_owned(), Value::from(timestamp)),
            (
                "level".to_owned(),
                Value::from(event.metadata().level().as_str()),
            ),
            ("message".to_owned(), message),
        ];
        let mut invocation: Option<(String, bool)> = None;
        let mut span_fields: Vec<(String, Value)> = Vec::new();
        if let Some(scope) = ctx.event_scope() {
            // Innermost span first: its fields win over an outer span's of the same name.
            for span in scope {
                let extensions = span.extensions();
                if let (None, Some(found)) = (&invocation, extensions.get::<Invocation>()) {
                    invocation = Some((found.request_id.clone(), found.cold_start));
                }
                if let Some(SpanFields(own)) = extensions.get::<SpanFields>() {
                    for (key, value) in own {
                        if !span_fields.iter().any(|(k, _)| k == key) {
                            span_fields.push((key.clone(), value.clone()));
                        }
                    }
                }
            }
        }
        if let Some((request_id, _)) = &invocation {
            line.push(("requestId".to_owned(), Value::from(request_id.as_str())));
        }
        line.push((
            "functionName".to_owned(),
            Value::from(self.function_name.as_str()),
        ));
        if let Some((_, cold_start)) = invocation {
            line.push(("coldStart".to_owned(), Value::from(cold_start)));
        }
        let mut nested = Map::new();
        for (key, value) in fields.0.into_iter().chain(span_fields) {
            if RESERVED.contains(&key.as_str()) {
                nested.entry(key).or_insert(value);
            } else if !line.iter().any(|(k, _)| *k == key) {
                line.push((key, value));
            }
        }
        if !nested.is_empty() {
            line.push(("fields".to_owned(), Value::Object(nested)));
        }
        line.push(("target".to_owned(), Value::from(event.metadata().target())));

        writer.write_char('{')?;
        for (index, (key, value)) in line.iter().enumerate() {
            if index > 0 {
                writer.write_char(',')?;
            }
            let key = serde_json::to_string(key).map_err(|_| fmt::Error)?;
            let value = serde_json::to_string(value).map_err(|_| fmt::Error)?;
            write!(writer, "{key}:{value}")?;
        }
        writer.write_str("}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_become_camel_case() {
        assert_eq!(camel_case("latency_ms"), "latencyMs");
        assert_eq!(camel_case("model_id"), "modelId");
        assert_eq!(camel_case("requestId"), "requestId");
        assert_eq!(camel_case("attempt"), "attempt");
        assert_eq!(camel_case("_private"), "private");
    }
}
