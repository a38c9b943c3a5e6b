//! The identity service over real gRPC on 127.0.0.1, with real PostgreSQL and Redis, beside a
//! real authorization service that trusts identity's published keys.

mod approvals;
mod audit;
mod bearer;
mod bounds;
mod credentials;
mod employments;
mod feed;
mod fixture;
mod groups;
mod import_limits;
mod imports;
mod key_rotation;
mod master_administrators;
mod operator_init;
mod outbox;
mod password_policy;
mod sealed_at_rest;
mod second_factor;
mod service_accounts;
mod sign_in;
mod signing_keys;
mod tenant_accounts;
mod tenant_settings;
mod tenants_and_users;
mod units;
mod users;
mod visible_listing;
