//! Tells the real-server tests whether a server is given: `MSSQL_URL` (a SQL Server) turns
//! on `cfg(mssql_server)`, `ORACLE_URL` (an Oracle database, with Instant Client installed)
//! `cfg(oracle_server)`; without them those tests are reported as ignored ("did not run"),
//! never as passed.

fn main() {
    for (var, cfg) in [
        ("MSSQL_URL", "mssql_server"),
        ("ORACLE_URL", "oracle_server"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-env-changed={var}");
        if std::env::var(var).is_ok_and(|v| !v.trim().is_empty()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
