//! Tells the conformance tests whether the Java SDK fixtures are beside the checkout
//! (`../shared/protocol/fixtures`). They are read in place; without them the tests are
//! reported as ignored ("did not run"), never as passed.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(shared_fixtures)");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocol/fixtures");
    println!("cargo::rerun-if-changed={}", dir.display());
    if dir.is_dir() {
        println!("cargo::rustc-cfg=shared_fixtures");
    }
}
