//! Course delegation over real gRPC: identity, authorization (with Redis) and delegation on
//! PostgreSQL, people signed in through identity, delegation pushing its facts with its own
//! platform account's tenant-scoped tokens. One module per behaviour.

mod audit;
mod catalogues;
mod cli;
mod competencies;
mod content_access;
mod content_grants;
mod courses;
mod enrolments;
mod events;
mod fixture;
mod purchases;
mod reports;
mod responsibilities;
