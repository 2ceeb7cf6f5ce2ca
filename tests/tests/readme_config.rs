//! The README's configuration tables and the code agree: every variable the connector reads
//! is documented and every documented one is read; the JDBC URL parameter table lists exactly
//! the parameters the connector knows, for the same engines.

use std::collections::BTreeSet;
use std::path::Path;

use athena_connector::config::{Engine, PARAMETERS, VARIABLES};

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The rows of the first table after `heading`: cells, without the header and rule.
fn table_after(text: &str, heading: &str) -> Vec<Vec<String>> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("README has no \"{heading}\""));
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect()
}

/// The backticked names of a cell: "`a`, `b`" → [a, b].
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_variable_read_is_documented_and_every_documented_one_read() {
    let readme = read("README.md");
    let documented: BTreeSet<String> = table_after(&readme, "## Configuration")
        .iter()
        .flat_map(|row| names(&row[0]))
        .collect();
    let declared: BTreeSet<String> = VARIABLES.iter().map(|v| (*v).to_owned()).collect();
    assert_eq!(
        documented, declared,
        "README ## Configuration vs config::VARIABLES"
    );
    // What the code reads: every `get("…")`, `flag("…", …)`, `number("…")` of the config
    // module, and the catalog suffix. The Lambda's own AWS_LAMBDA_FUNCTION_NAME is not
    // configuration.
    let source = read("connector/src/config/mod.rs");
    let mut read_by_code = BTreeSet::from(["<catalog>_connection_string".to_owned()]);
    for call in ["get(\"", "flag(\"", "number(\""] {
        for (i, _) in source.match_indices(call) {
            let rest = &source[i + call.len()..];
            let name = &rest[..rest.find('"').expect("closing quote")];
            if name != "AWS_LAMBDA_FUNCTION_NAME" && !name.is_empty() {
                read_by_code.insert(name.to_owned());
            }
        }
    }
    assert!(
        read_by_code.len() > 10,
        "the scan found the reads: {read_by_code:?}"
    );
    assert_eq!(
        read_by_code, declared,
        "variables read by connector/src/config/mod.rs vs config::VARIABLES"
    );
}

#[test]
fn the_jdbc_parameter_table_lists_exactly_the_known_parameters() {
    let readme = read("README.md");
    let mut documented = BTreeSet::new();
    for row in table_after(&readme, "### JDBC URL parameters") {
        let engines: &[Engine] = match row[1].as_str() {
            "both" => &[Engine::Postgres, Engine::MySql],
            "PostgreSQL" => &[Engine::Postgres],
            "MySQL" => &[Engine::MySql],
            "SQL Server" => &[Engine::SqlServer],
            other => panic!("unknown engines cell {other}"),
        };
        for name in names(&row[0]) {
            for e in engines {
                documented.insert((name.clone(), *e as u8));
            }
        }
    }
    let known: BTreeSet<(String, u8)> = PARAMETERS
        .iter()
        .flat_map(|p| p.engines.iter().map(|e| (p.name.to_owned(), *e as u8)))
        .collect();
    assert_eq!(
        documented, known,
        "README ### JDBC URL parameters vs config::PARAMETERS"
    );
}
