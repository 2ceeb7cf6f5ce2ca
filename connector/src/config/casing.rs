//! `casing_mode`: how the schema and table names Athena sends (always lower case) are
//! matched to the database's names, as the official connectors' `casing_mode` does.

use std::fmt;

use super::Engine;

/// How a name from Athena finds the database's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasingMode {
    /// The name as Athena sent it, matched exactly.
    None,
    /// Lower-cased, then matched exactly.
    Lower,
    /// Upper-cased, then matched exactly (Oracle's unquoted names).
    Upper,
    /// The one name equal to it ignoring case; two that differ only in case are an error.
    CaseInsensitiveSearch,
}

#[derive(Debug, thiserror::Error, PartialEq, Clone)]
pub enum CasingError {
    #[error("casing_mode ANNOTATION is not supported for {0} (the official connectors accept it only for Snowflake and SAP HANA); use case_insensitive_search")]
    Annotation(Engine),
    #[error("expected none, lower, upper or case_insensitive_search, found \"{0}\"")]
    Unknown(String),
}

impl CasingMode {
    /// Every value, as documented (the official names are accepted in any case).
    pub const NAMES: [&'static str; 4] = ["none", "lower", "upper", "case_insensitive_search"];

    /// Parses a `casing_mode` value, in any case (`LOWER`, `Case_Insensitive_Search`).
    /// `annotation` is kept apart so that the error can say what it is.
    pub fn parse(value: &str) -> Result<Option<CasingMode>, CasingError> {
        Ok(Some(match value.to_ascii_lowercase().as_str() {
            "none" => CasingMode::None,
            "lower" => CasingMode::Lower,
            "upper" => CasingMode::Upper,
            "case_insensitive_search" => CasingMode::CaseInsensitiveSearch,
            "annotation" => return Ok(None),
            _ => return Err(CasingError::Unknown(value.to_owned())),
        }))
    }

    /// The official connectors' default per engine, which differs when the configuration
    /// comes from a Glue connection.
    pub fn default_for(engine: Engine, from_glue_connection: bool) -> CasingMode {
        match (engine, from_glue_connection) {
            (Engine::Postgres | Engine::MySql | Engine::Sqlite, false) => {
                CasingMode::CaseInsensitiveSearch
            }
            (Engine::Postgres | Engine::MySql, true) => CasingMode::None,
            (Engine::Sqlite, true) => CasingMode::CaseInsensitiveSearch,
            (Engine::SqlServer, false) => CasingMode::None,
            (Engine::SqlServer, true) | (Engine::Oracle, true) => CasingMode::Lower,
            (Engine::Oracle, false) => CasingMode::Upper,
        }
    }

    /// The one name of `names` (the database's, all equal to `wanted` ignoring case) that
    /// `wanted` stands for; `Err` holds every case-insensitive candidate when not exactly
    /// one matches.
    pub fn pick(self, wanted: &str, names: Vec<String>) -> Result<String, Vec<String>> {
        let folded = wanted.to_lowercase();
        let candidates: Vec<String> = names
            .into_iter()
            .filter(|n| n.to_lowercase() == folded)
            .collect();
        let exact = match self {
            CasingMode::CaseInsensitiveSearch => None,
            CasingMode::None => Some(wanted.to_owned()),
            CasingMode::Lower => Some(wanted.to_lowercase()),
            CasingMode::Upper => Some(wanted.to_uppercase()),
        };
        match exact {
            Some(name) if candidates.contains(&name) => Ok(name),
            Some(_) => Err(candidates),
            None if candidates.len() == 1 => Ok(candidates.into_iter().next().expect("one")),
            None => Err(candidates),
        }
    }
}

impl fmt::Display for CasingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CasingMode::None => "none",
            CasingMode::Lower => "lower",
            CasingMode::Upper => "upper",
            CasingMode::CaseInsensitiveSearch => "case_insensitive_search",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn each_mode_picks_its_name() {
        let both = names(&["Sales", "SALES"]);
        assert_eq!(
            CasingMode::None.pick("sales", both.clone()),
            Err(both.clone())
        );
        assert_eq!(
            CasingMode::None.pick("Sales", both.clone()),
            Ok("Sales".into())
        );
        assert_eq!(
            CasingMode::Upper.pick("sales", both.clone()),
            Ok("SALES".into())
        );
        assert_eq!(
            CasingMode::Lower.pick("SALES", both.clone()),
            Err(both.clone())
        );
        assert_eq!(
            CasingMode::Lower.pick("SALES", names(&["sales"])),
            Ok("sales".into())
        );
        assert_eq!(
            CasingMode::CaseInsensitiveSearch.pick("sales", both.clone()),
            Err(both)
        );
        assert_eq!(
            CasingMode::CaseInsensitiveSearch.pick("sales", names(&["Sales", "other"])),
            Ok("Sales".into())
        );
        assert_eq!(
            CasingMode::CaseInsensitiveSearch.pick("sales", names(&[])),
            Err(vec![])
        );
    }

    #[test]
    fn values_parse_in_any_case_and_defaults_follow_the_official_connectors() {
        assert_eq!(CasingMode::parse("LOWER"), Ok(Some(CasingMode::Lower)));
        assert_eq!(
            CasingMode::parse("Case_Insensitive_Search"),
            Ok(Some(CasingMode::CaseInsensitiveSearch))
        );
        assert_eq!(CasingMode::parse("annotation"), Ok(Option::None));
        assert_eq!(
            CasingMode::parse("mixed").unwrap_err().to_string(),
            "expected none, lower, upper or case_insensitive_search, found \"mixed\""
        );
        for name in CasingMode::NAMES {
            assert_eq!(CasingMode::parse(name).unwrap().unwrap().to_string(), name);
        }
        use CasingMode::*;
        let table = [
            (Engine::Postgres, CaseInsensitiveSearch, None),
            (Engine::MySql, CaseInsensitiveSearch, None),
            (Engine::SqlServer, None, Lower),
            (Engine::Oracle, Upper, Lower),
        ];
        for (engine, plain, glue) in table {
            assert_eq!(CasingMode::default_for(engine, false), plain, "{engine}");
            assert_eq!(CasingMode::default_for(engine, true), glue, "{engine}");
        }
    }
}
