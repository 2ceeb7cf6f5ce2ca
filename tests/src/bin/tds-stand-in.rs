//! The SQL Server stand-in as a program, to try `athena-fed query` on SQL Server here
//! (hand-written TDS server, labelled as such: no SQL Server runs on this machine). It
//! serves `sales.dbo.orders` and prints the connection string to use:
//!
//! ```text
//! cargo run -p integration-tests --bin tds-stand-in
//! athena-fed query --catalog 'ms=<printed connection string>' "select customer, sum(amount) from ms.dbo.orders group by 1"
//! ```

use integration_tests::tds::{Answer, Col, TdsStandIn, Ty, Val};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let server = TdsStandIn::start("athena", "stand-in").await;
    let name = |n: &str| Col {
        name: n.into(),
        ty: Ty::NVarChar(Some(128)),
    };
    let names = |v: &[&str]| {
        Answer::Rows(
            vec![name("name")],
            v.iter().map(|n| vec![Val::Text((*n).into())]).collect(),
        )
    };
    let int = |n: &str| Col {
        name: n.into(),
        ty: Ty::Int,
    };
    server
        .on("FROM sys.schemas WHERE LOWER(name)", names(&["dbo"]))
        .on("FROM sys.schemas WHERE schema_id", names(&["dbo"]))
        .on("AND LOWER(name) = LOWER(@P2)", names(&["orders"]))
        .on("type IN ('U', 'V') ORDER BY", names(&["orders"]))
        .on(
            "FROM sys.columns c JOIN sys.types",
            Answer::Rows(
                vec![name("name"), name("type"), int("precision"), int("scale")],
                [
                    ("id", "int", 10),
                    ("customer", "nvarchar", 0),
                    ("amount", "decimal", 10),
                    ("placed", "date", 10),
                ]
                .iter()
                .map(|(n, t, p)| {
                    let scale = if *t == "decimal" { 2 } else { 0 };
                    vec![
                        Val::Text((*n).into()),
                        Val::Text((*t).into()),
                        Val::Int(*p),
                        Val::Int(scale),
                    ]
                })
                .collect(),
            ),
        )
        .on(
            "FROM sys.tables t",
            Answer::Rows(vec![name("f"), name("c"), int("n")], vec![]),
        )
        .on(
            "sys.dm_db_partition_stats",
            Answer::Rows(
                vec![Col {
                    name: "bytes".into(),
                    ty: Ty::BigInt,
                }],
                vec![vec![Val::Int(8192)]],
            ),
        )
        .on(
            "FROM [dbo].[orders]",
            Answer::Table(
                vec![
                    int("id"),
                    Col {
                        name: "customer".into(),
                        ty: Ty::NVarChar(Some(50)),
                    },
                    Col {
                        name: "amount".into(),
                        ty: Ty::Decimal(10, 2),
                    },
                    Col {
                        name: "placed".into(),
                        ty: Ty::Date,
                    },
                ],
                [
                    (1, "Alice", 1999, 738_944),
                    (2, "Bob", 500, 719_161),
                    (3, "Alice", -1, 0),
                ]
                .iter()
                .map(|(id, c, a, d)| {
                    vec![
                        Val::Int(*id),
                        Val::Text((*c).into()),
                        Val::Decimal(*a),
                        Val::Date(*d),
                    ]
                })
                .collect(),
            ),
        );
    println!(
        "sqlserver://jdbc:sqlserver://127.0.0.1:{};databaseName=sales;encrypt=false;user=athena;password=stand-in",
        server.port
    );
    std::future::pending::<()>().await;
}
