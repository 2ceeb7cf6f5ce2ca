//! Any bytes as a request into the connector's handler, over the demo SQLite database:
//! every request type (Ping, ListSchemas, ListTables, GetTable, GetTableLayout, GetSplits,
//! ReadRecords, capabilities, UDF) runs the code the Lambda runs. Whatever the input, the
//! handler answers with a response or a function error; nothing may panic or abort.
//! Run: see connector/fuzz/README.md (the demo database must exist first).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use athena_connector::config::Config;
use athena_connector::handler::Connector;
use libfuzzer_sys::fuzz_target;

struct World {
    runtime: tokio::runtime::Runtime,
    connector: Connector,
}

/// `$ATHENA_FED_DEMO_DB`, else where `athena-fed query` creates the demo database.
fn demo_db() -> PathBuf {
    if let Some(p) = std::env::var_os("ATHENA_FED_DEMO_DB") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("ATHENA_FED_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_DATA_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
                .map(|d| d.join("athena-fed"))
        })
        .expect("HOME or ATHENA_FED_DEMO_DB");
    home.join("demo.db")
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let db = demo_db();
        assert!(
            db.is_file(),
            "no demo database at {} (run `athena-fed query \"SELECT 1\"` once, or set ATHENA_FED_DEMO_DB)",
            db.display()
        );
        // Spilling goes to an S3 endpoint that refuses at once: never the network, and a
        // failed spill is one more error path. No retries, no instance metadata.
        for (k, v) in [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ACCESS_KEY_ID", "fuzz"),
            ("AWS_SECRET_ACCESS_KEY", "fuzz"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_MAX_ATTEMPTS", "1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ] {
            std::env::set_var(k, v);
        }
        let config = Config::from_vars([
            ("default".to_owned(), format!("sqlite://{}", db.display())),
        ]);
        World {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            connector: Connector::new(config),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let _ = w.runtime.block_on(w.connector.handle(data));
});
