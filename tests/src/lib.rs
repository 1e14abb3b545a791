//! Helpers for end-to-end tests: locating the built `delego` binary.
#![forbid(unsafe_code)]
