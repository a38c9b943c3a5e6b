//! End-to-end scenarios across the four services, over real gRPC on 127.0.0.1 with real
//! PostgreSQL and Redis (or SQLite where the scenario is the embedded default).

mod access;
mod boot;
mod delegation;
mod demo_world;
mod dev;
mod report_scope;
mod reporting;
mod tour;
