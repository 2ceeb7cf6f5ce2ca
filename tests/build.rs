//! Tells the real-server tests whether a server is given: `MSSQL_URL` (a SQL Server) turns
//! on `cfg(mssql_server)`; without it those tests are reported as ignored ("did not run"),
//! never as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(mssql_server)");
    println!("cargo::rerun-if-env-changed=MSSQL_URL");
    if std::env::var("MSSQL_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=mssql_server");
    }
}
