//! Shared fixtures for delego benchmarks (see `benches/`).
#![forbid(unsafe_code)]
