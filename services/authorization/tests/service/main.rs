//! The authorization service over real gRPC on 127.0.0.1, with real PostgreSQL and Redis.

mod behaviours;
mod content_grants;
mod escalation;
mod events;
mod fixture;
mod grants;
mod guarded;
mod handover;
mod integrations;
mod lookup_paging;
mod lookups;
mod lookups_agree;
mod redis_acl;
mod refusals;
mod replicas;
mod roles;
mod scopes;
mod staleness;
