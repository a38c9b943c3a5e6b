//! End-to-end scenarios live in `e2e/`; this crate has no library code.
