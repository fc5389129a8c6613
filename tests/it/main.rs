//! AI Chef's integration tests: one binary, one module per surface, sharing the fixtures of
//! `tests/support` (the `ai_chef_tests` library: emulator, moto, runner, SDK configuration).
//! Linking the SDK graph once instead of once per surface is what keeps `cargo test` fast.
//! Tests that change the process environment live in their own binary (`batch_init`), since
//! every test here shares one process and the functions it spawns inherit its environment.

mod architecture;
mod async_recipes;
mod bad_input;
mod batch_dispatcher;
mod deadline;
mod economics;
mod emulator_recipes;
mod faults;
mod generate_recipe;
mod infra_template;
mod injection;
mod invoke_local;
mod logs;
mod metrics_cloudwatch;
mod openapi;
mod properties;
mod real_dishes;
mod recipe_safety;
mod retrieval;
mod runtime_api;
mod streaming;
