//! Reporting's service tests: real PostgreSQL, SQLite and Redis.

mod backbone;
