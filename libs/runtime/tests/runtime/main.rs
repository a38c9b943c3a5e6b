//! The runtime's parts, working for real: a server on 127.0.0.1 port 0 with the full layer
//! stack, called over gRPC.

mod migrations;
mod outbox;
mod probe;
mod publish;
mod server_stack;
mod tls;
mod trace_context;
