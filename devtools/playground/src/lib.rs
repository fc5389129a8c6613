//! The AI Chef playground: the OpenAPI document generated from the wire types ([`openapi`]),
//! and a local HTTP front ([`front`]) that plays API Gateway and Lambda function URLs for a
//! browser or an API fuzzer, turning each HTTP request into the exact event the real function
//! binaries receive and driving them through the project's Lambda runner.

pub mod events;
pub mod front;
pub mod functions;
pub mod openapi;
pub mod queue_poller;
