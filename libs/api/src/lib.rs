//! The gRPC contract of LMS Access, generated from `proto/` at build time.
//!
//! Each package `lms.<service>.v1` becomes a module `lms_api::<service>::v1`. Clients and servers
//! are behind the `client` and `server` features. Servers of finished packages (identity,
//! authorization) must implement every RPC, so an RPC added to their contract fails the build
//! until it is written; the packages still being built (delegation, reporting) get default
//! methods that answer `UNIMPLEMENTED`, so an RPC not built yet says so.

#![allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations
)]

/// Types shared by every service.
pub mod common {
    pub mod v1 {
        tonic::include_proto!("lms.common.v1");
    }
}

/// Tenants, units, users, groups, sign-in, approvals, import.
pub mod identity {
    pub mod v1 {
        tonic::include_proto!("lms.identity.v1");
    }
}

/// Roles, assignments, relationships and decisions.
pub mod authorization {
    pub mod v1 {
        tonic::include_proto!("lms.authorization.v1");
    }
}

/// Courses, lessons, events, catalogues, enrolments and responsibilities.
pub mod delegation {
    pub mod v1 {
        tonic::include_proto!("lms.delegation.v1");
    }
}

/// Scoped reports and the access review.
pub mod reporting {
    pub mod v1 {
        tonic::include_proto!("lms.reporting.v1");
    }
}

/// The encoded `FileDescriptorSet` of every `lms.*` file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("lms_descriptor");
