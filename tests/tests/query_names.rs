//! Names behave as in Athena: mixed-case schemas, tables and columns in PostgreSQL, MariaDB
//! and SQLite are queried by lower-case names, quoted or not; headers are what Athena prints;
//! names that differ only in case give Athena's errors.

use std::process::{Command, Output};

use integration_tests::*;
use sqlx::{AssertSqlSafe, Executor};

fn query(catalog: &str, sql: &str) -> Output {
    Command::new(workspace_binary("athena-fed"))
        .args(["query", "--format", "csv", "--catalog", catalog, sql])
        .env(
            "ATHENA_FED_HOME",
            std::env::temp_dir().join(format!("athena-fed-names-{}", std::process::id())),
        )
        .output()
        .expect("athena-fed runs")
}

/// The CSV output, header included.
fn csv(o: &Output) -> Vec<String> {
    assert!(
        o.status.success(),
        "athena-fed failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn error(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The same queries, with the same answers, over each engine's mixed-case table
/// `CaseQ.MixedCase ("Id", "CamelCol", "Name")`.
fn check_mixed_case(catalog: &str, name: &str) {
    let c = |sql: &str| csv(&query(catalog, &sql.replace("CAT", name)));
    // Unquoted lower case, Athena-style.
    assert_eq!(
        c("select camelcol, name from CAT.caseq.mixedcase where camelcol >= 20 order by id"),
        ["camelcol,name", "20,Bob", "30,Émilie"]
    );
    // Quoted, in the real case or any other: the same table and columns.
    assert_eq!(
        c("SELECT \"CamelCol\", \"NAME\" FROM CAT.\"CaseQ\".\"MixedCase\" WHERE \"Name\" = 'Ada'"),
        ["CamelCol,NAME", "10,Ada"]
    );
    // Headers: a column as spelled, an alias as spelled, an expression by position.
    assert_eq!(
        c("SELECT Name, count(*), sum(camelcol) AS Total FROM CAT.caseq.mixedcase GROUP BY name ORDER BY name"),
        ["Name,_col1,Total", "Ada,1,10", "Bob,1,20", "Émilie,1,30"]
    );
    // `*` prints the table's names in lower case.
    assert_eq!(
        c("SELECT * FROM CAT.caseq.mixedcase WHERE id = 1"),
        ["id,camelcol,name", "1,10,Ada"]
    );
    // Pushed down under the real names: LIMIT and top-N too.
    assert_eq!(
        c("SELECT id FROM CAT.caseq.mixedcase ORDER BY camelcol DESC LIMIT 1"),
        ["id", "3"]
    );
}

#[tokio::test]
async fn postgres_mixed_case_names_and_twins() {
    let pg = postgres().await;
    pg.execute(
        r#"DROP SCHEMA IF EXISTS "CaseQ" CASCADE; CREATE SCHEMA "CaseQ";
           CREATE TABLE "CaseQ"."MixedCase" ("Id" int PRIMARY KEY, "CamelCol" int, "Name" text);
           INSERT INTO "CaseQ"."MixedCase" VALUES (1, 10, 'Ada'), (2, 20, 'Bob'), (3, 30, 'Émilie');
           CREATE TABLE "CaseQ"."Twins" ("Name" text, name text);
           CREATE TABLE "CaseQ"."Dup" (a int); CREATE TABLE "CaseQ"."dup" (a int);"#,
    )
    .await
    .unwrap();
    let catalog = format!("pg={}", postgres_connection());
    check_mixed_case(&catalog, "pg");
    // Columns differing only in case: this connector refuses the table in GetTable, as
    // Athena relays it (a connector that lists both gets Athena's own error instead: see
    // `engine::table`'s unit test).
    let e = error(&query(&catalog, "SELECT name FROM pg.caseq.twins"));
    assert!(
        e.contains("GetTableRequest on pg.CaseQ.Twins: column name \"name\" is ambiguous: Name, name differ only in case"),
        "{e}"
    );
    // Tables differing only in case: the official connectors' case-insensitive search fails.
    let e = error(&query(&catalog, "SELECT * FROM pg.caseq.dup"));
    assert!(
        e.contains("Table name case insensitive match failed. More than one table that matches 'dup' was returned from Database CaseQ (\"Dup\", \"dup\""),
        "{e}"
    );
}

#[tokio::test]
async fn mariadb_mixed_case_names() {
    let my = mysql().await;
    for s in [
        "DROP DATABASE IF EXISTS CaseQ",
        "CREATE DATABASE CaseQ",
        "CREATE TABLE CaseQ.MixedCase (Id INT PRIMARY KEY, CamelCol INT, Name VARCHAR(20))",
        "INSERT INTO CaseQ.MixedCase VALUES (1, 10, 'Ada'), (2, 20, 'Bob'), (3, 30, 'Émilie')",
    ] {
        my.execute(AssertSqlSafe(s)).await.unwrap();
    }
    let catalog = format!("my={}", mysql_connection("CaseQ"));
    check_mixed_case(&catalog, "my");
}

#[tokio::test]
async fn sqlite_mixed_case_names() {
    let path = std::env::temp_dir().join(format!("names-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let lite = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .unwrap();
    lite.execute(
        r#"CREATE TABLE "MixedCase" ("Id" INTEGER PRIMARY KEY, "CamelCol" INTEGER, "Name" TEXT);
           INSERT INTO "MixedCase" VALUES (1, 10, 'Ada'), (2, 20, 'Bob'), (3, 30, 'Émilie');"#,
    )
    .await
    .unwrap();
    lite.close().await;
    // SQLite has one schema, `main`: the checks name it `caseq` elsewhere.
    let catalog = format!("lite=sqlite://{}", path.display());
    let c = |sql: &str| csv(&query(&catalog, sql));
    assert_eq!(
        c("select camelcol, name from lite.main.mixedcase where camelcol >= 20 order by id"),
        ["camelcol,name", "20,Bob", "30,Émilie"]
    );
    assert_eq!(
        c("SELECT \"CamelCol\", \"NAME\" FROM lite.\"MAIN\".\"MixedCase\" WHERE \"Name\" = 'Ada'"),
        ["CamelCol,NAME", "10,Ada"]
    );
    assert_eq!(
        c("SELECT * FROM mixedcase WHERE id = 1"),
        ["id,camelcol,name", "1,10,Ada"]
    );
    std::fs::remove_file(&path).unwrap();
}
