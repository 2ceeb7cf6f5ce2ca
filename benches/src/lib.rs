//! Benchmarks live here (see benches/README.md).
