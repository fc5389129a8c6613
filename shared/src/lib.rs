//! AI Chef core: everything the three Lambda functions do, as plain functions over checked
//! domain types, with I/O (Bedrock, DynamoDB, SQS, CloudWatch) behind small traits.

pub mod batch;
pub mod bedrock;
pub mod cache;
pub mod config;
#[cfg(test)]
mod datafile;
pub mod deadline;
pub mod domain;
pub mod embed;
pub mod error;
pub mod extract;
pub mod generate;
pub mod latency;
pub mod metrics;
pub mod nutrition;
pub mod pricing;
pub mod prompt;
pub mod request;
pub mod retrieval;
pub mod rules;
pub mod verify;
