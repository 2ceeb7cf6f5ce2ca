use athena_connector::config::Engine;

use super::*;

fn t(engine: Engine, loc: &str) -> TableTarget {
    TableTarget::parse(engine, loc).unwrap()
}

#[test]
fn locations_parse_per_engine_and_hostile_ones_are_rejected() {
    assert_eq!(
        t(Engine::Postgres, "sales.Public.MyTable"),
        TableTarget {
            database: "sales".into(),
            schema: "Public".into(),
            table: "MyTable".into()
        }
    );
    assert_eq!(
        t(Engine::MySql, "shop.orders"),
        TableTarget {
            database: "shop".into(),
            schema: "shop".into(),
            table: "orders".into()
        }
    );
    assert!(TableTarget::parse(Engine::Postgres, "db.t").is_err());
    assert!(TableTarget::parse(Engine::MySql, "a.b.c").is_err());
    assert!(TableTarget::parse(Engine::Postgres, "db.s.t\0x").is_err());
    assert!(TableTarget::parse(Engine::Postgres, "db..t").is_err());
    assert_eq!(user_name("5oiwlkh3oh8z9v").unwrap(), "dz_5oiwlkh3oh8z9v");
    assert!(user_name("x'; drop").is_err());
    assert!(user_name(&"a".repeat(40)).is_err());
}

#[test]
fn postgres_statements() {
    let g = PostgresGrants;
    let target = t(Engine::Postgres, "sales.Public.My\"Table");
    // The password is sent as a SCRAM verifier with a fresh salt, never as itself.
    let create = g.create_user("dz_e1", "pw'x").unwrap();
    assert_eq!(create.len(), 1);
    let verifier = create[0]
        .strip_prefix("CREATE ROLE \"dz_e1\" LOGIN PASSWORD 'SCRAM-SHA-256$4096:")
        .unwrap_or_else(|| panic!("{create:?}"));
    assert!(!create[0].contains("pw'x") && !create[0].contains("pw''x"));
    assert_eq!(verifier.matches('$').count(), 1, "{verifier}");
    assert_ne!(create, g.create_user("dz_e1", "pw'x").unwrap(), "salted");
    assert_eq!(
        g.grant("dz_e1", &target),
        [
            "GRANT CONNECT ON DATABASE \"sales\" TO \"dz_e1\"",
            "GRANT USAGE ON SCHEMA \"Public\" TO \"dz_e1\"",
            "GRANT SELECT ON TABLE \"Public\".\"My\"\"Table\" TO \"dz_e1\""
        ]
    );
    assert_eq!(
        g.revoke("dz_e1", &target),
        ["REVOKE SELECT ON TABLE \"Public\".\"My\"\"Table\" FROM \"dz_e1\""]
    );
    assert_eq!(
        g.revoke_schema("dz_e1", &target),
        ["REVOKE USAGE ON SCHEMA \"Public\" FROM \"dz_e1\""]
    );
}

#[test]
fn mysql_sqlserver_oracle_statements() {
    let my = MySqlGrants::default();
    assert_eq!(
        my.create_user("dz_e1", "pencil").unwrap(),
        ["CREATE USER IF NOT EXISTS 'dz_e1'@'%' IDENTIFIED BY PASSWORD '*7614BE58636C810A9D8970A50B3B2A78450413E4'"]
    );
    assert!(MySqlGrants::for_version("10.11.6-MariaDB-0+deb12u1").hashed);
    let mysql8 = MySqlGrants::for_version("8.0.36");
    assert_eq!(
        mysql8.set_password("dz_e1", "p").unwrap(),
        ["ALTER USER 'dz_e1'@'%' IDENTIFIED BY 'p'"]
    );
    assert_eq!(
        my.grant("dz_e1", &t(Engine::MySql, "shop.or`ders")),
        ["GRANT SELECT ON `shop`.`or``ders` TO 'dz_e1'@'%'"]
    );
    let ss = SqlServerGrants;
    let target = t(Engine::SqlServer, "sales.dbo.Orders]x");
    assert_eq!(
        ss.grant("dz_e1", &target)[2],
        "GRANT SELECT ON [dbo].[Orders]]x] TO [dz_e1]"
    );
    assert!(
        ss.grant("dz_e1", &target)
            .iter()
            .all(|s| !s.contains("VIEW")),
        "no database-wide grants"
    );
    let ora = OracleGrants;
    assert_eq!(
        ora.grant("dz_e1", &t(Engine::Oracle, "ORCL.HR.EMPLOYEES")),
        [
            "GRANT CREATE SESSION TO \"DZ_E1\"",
            "GRANT SELECT ON \"HR\".\"EMPLOYEES\" TO \"DZ_E1\""
        ]
    );
    // One statement: a retry after a failure half-way would otherwise find the user and
    // never grant it CREATE SESSION (Oracle commits each DDL statement).
    assert_eq!(
        ora.create_user("dz_e1", "Pw-1").unwrap(),
        ["CREATE USER \"DZ_E1\" IDENTIFIED BY \"Pw-1\""]
    );
    assert_eq!(ora.drop_user("dz_e1"), ["DROP USER \"DZ_E1\" CASCADE"]);
}

/// Every statement of every engine parses in its dialect (sqlglot, from the test venv).
#[test]
fn every_statement_parses_in_its_dialect() {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
    assert!(
        std::path::Path::new(python).is_file(),
        "{python} is missing: run scripts/services.sh"
    );
    let password = crate::password::generate().unwrap();
    let mut cases: Vec<(&str, String)> = Vec::new();
    for (engine, dialect, loc) in [
        (Engine::Postgres, "postgres", "sales.public.orders"),
        (Engine::MySql, "mysql", "shop.orders"),
        (Engine::SqlServer, "tsql", "sales.dbo.orders"),
        (Engine::Oracle, "oracle", "ORCL.HR.EMPLOYEES"),
    ] {
        let g = for_engine(engine).unwrap();
        let target = t(engine, loc);
        let all = [
            g.create_user("dz_e1", &password).unwrap(),
            g.set_password("dz_e1", &password).unwrap(),
            g.grant("dz_e1", &target),
            g.revoke("dz_e1", &target),
            g.revoke_schema("dz_e1", &target),
            g.drop_user("dz_e1"),
        ]
        .concat();
        cases.extend(all.into_iter().map(|s| (dialect, s)));
    }
    let input = serde_json::to_string(&cases).unwrap();
    let script = r#"
import json, sys, sqlglot
failed = []
for dialect, sql in json.loads(sys.stdin.read()):
    try:
        sqlglot.parse_one(sql, read=dialect)
    except Exception as e:
        failed.append(f"{dialect}: {sql}: {e}")
print("\n".join(failed))
sys.exit(1 if failed else 0)
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn system_catalogs_are_refused_on_every_engine_and_allowed_schemas_limit_the_rest() {
    let refused = |engine, loc: &str| {
        t(engine, loc)
            .check_scope(engine, None)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refused(Engine::MySql, "mysql.user"),
        "\"mysql.mysql.user\" is in a system catalog (mysql): system tables are never granted"
    );
    for (engine, loc) in [
        (Engine::MySql, "MySQL.user"),
        (Engine::MySql, "performance_schema.threads"),
        (Engine::MySql, "information_schema.user_privileges"),
        (Engine::MySql, "sys.x"),
        (Engine::Postgres, "app.pg_catalog.pg_authid"),
        (Engine::Postgres, "app.PG_CATALOG.pg_authid"),
        (Engine::Postgres, "app.information_schema.tables"),
        (Engine::Postgres, "app.pg_toast.t"),
        (Engine::Postgres, "app.pg_temp_3.t"),
        (Engine::Postgres, "template1.public.t"),
        (Engine::SqlServer, "master.dbo.t"),
        (Engine::SqlServer, "app.sys.sql_logins"),
        (Engine::Oracle, "ORCL.SYS.USER$"),
        (Engine::Oracle, "ORCL.SYSTEM.T"),
    ] {
        assert!(
            refused(engine, loc).contains("system catalog"),
            "{engine:?} {loc}"
        );
    }
    let allowed = vec!["sales".to_owned(), "Marketing".to_owned()];
    let pg = t(Engine::Postgres, "app.sales.orders");
    assert_eq!(pg.check_scope(Engine::Postgres, None), Ok(()));
    assert_eq!(pg.check_scope(Engine::Postgres, Some(&allowed)), Ok(()));
    assert_eq!(
        t(Engine::Postgres, "app.hr.salaries")
            .check_scope(Engine::Postgres, Some(&allowed))
            .unwrap_err()
            .to_string(),
        "\"app.hr.salaries\" is outside the schemas the Glue connection allows (sales, Marketing; AthenaProperties.allowed_schemas)"
    );
    assert!(t(Engine::Postgres, "app.marketing.t")
        .check_scope(Engine::Postgres, Some(&allowed))
        .is_err());
    assert_eq!(
        t(Engine::MySql, "sales.orders").check_scope(Engine::MySql, Some(&allowed)),
        Ok(())
    );
}
