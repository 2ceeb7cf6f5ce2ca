//! A split as the engines plan and read it, and as it travels through Athena: a map of
//! string properties in the partitions block and in each split.

use indexmap::IndexMap;

/// Split property naming the partition a split reads (`*` for the whole table).
pub const PARTITION_NAME: &str = "partition_name";
/// Split property naming the partition's schema (PostgreSQL).
pub const PARTITION_SCHEMA: &str = "partition_schema_name";
/// Split property: read the named relation's own rows only (PostgreSQL `FROM ONLY`, an
/// inheritance parent).
const PARTITION_ONLY: &str = "partition_only";
/// Split properties naming the partition function and column a partition number belongs
/// to (SQL Server: `$PARTITION.<function>(<column>) = <partition_name>`).
const PARTITION_FUNCTION: &str = "partition_function";
const PARTITIONING_COLUMN: &str = "partitioning_column";
/// Split property: the key column a range split is over (none: the engine's own row
/// positions, PostgreSQL's pages).
const RANGE_COLUMN: &str = "range_column";
/// Split properties bounding a range split (inclusive start, exclusive end).
pub const RANGE_FROM: &str = "range_from";
pub const RANGE_TO: &str = "range_to";

/// The rows one split reads: a partition (or the whole table), perhaps a range of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSlice {
    /// The partition's schema, for engines whose partitions are tables of any schema
    /// (PostgreSQL); `*` with the whole table.
    pub schema: Option<String>,
    /// The partition read; `*` for the whole table.
    pub partition: String,
    /// Only the named relation's own rows, not its children's.
    pub only: bool,
    /// The partition function and column whose partition number `partition` is.
    pub partition_by: Option<(String, String)>,
    pub range: Option<Range>,
}

/// `from <= key < to`, either end open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The key column; `None` where the engine ranges over its own row positions.
    pub column: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("split property {property} is not an integer: {value}")]
pub struct SplitError {
    pub property: &'static str,
    pub value: String,
}

impl TableSlice {
    /// The one split of a table read whole: a passthrough query, a pushed-down LIMIT, an
    /// unpartitioned table.
    pub fn whole_table() -> TableSlice {
        TableSlice::partition("*")
    }

    /// One named partition.
    pub fn partition(name: impl Into<String>) -> TableSlice {
        TableSlice {
            schema: None,
            partition: name.into(),
            only: false,
            partition_by: None,
            range: None,
        }
    }

    /// One partition that is a table of `schema`.
    pub fn in_schema(schema: impl Into<String>, name: impl Into<String>) -> TableSlice {
        TableSlice {
            schema: Some(schema.into()),
            ..TableSlice::partition(name)
        }
    }

    pub fn is_whole_table(&self) -> bool {
        self.partition == "*"
    }

    /// This split's rows within `range`.
    pub fn with_range(&self, range: Range) -> TableSlice {
        TableSlice {
            range: Some(range),
            ..self.clone()
        }
    }

    /// This split cut into about `pieces` ranges of `lo..=hi` (of key `column`, or of
    /// PostgreSQL pages when `None`); itself alone when there is nothing to cut.
    pub fn cut(&self, lo: i64, hi: i64, pieces: u64, column: Option<&str>) -> Vec<TableSlice> {
        let cut = ranges(lo, hi, pieces, column);
        if cut.is_empty() {
            return vec![self.clone()];
        }
        cut.into_iter().map(|r| self.with_range(r)).collect()
    }

    /// The split's properties, in the order Athena shows them.
    pub fn to_properties(&self) -> IndexMap<String, String> {
        let mut p = IndexMap::new();
        if let Some(schema) = &self.schema {
            p.insert(PARTITION_SCHEMA.to_owned(), schema.clone());
        }
        p.insert(PARTITION_NAME.to_owned(), self.partition.clone());
        if self.only {
            p.insert(PARTITION_ONLY.to_owned(), "true".to_owned());
        }
        if let Some((function, column)) = &self.partition_by {
            p.insert(PARTITION_FUNCTION.to_owned(), function.clone());
            p.insert(PARTITIONING_COLUMN.to_owned(), column.clone());
        }
        if let Some(r) = &self.range {
            if let Some(c) = &r.column {
                p.insert(RANGE_COLUMN.to_owned(), c.clone());
            }
            if let Some(from) = r.from {
                p.insert(RANGE_FROM.to_owned(), from.to_string());
            }
            if let Some(to) = r.to {
                p.insert(RANGE_TO.to_owned(), to.to_string());
            }
        }
        p
    }

    /// A split from its properties (a missing partition is the whole table; properties
    /// this connector does not write are ignored).
    pub fn from_properties(p: &IndexMap<String, String>) -> Result<TableSlice, SplitError> {
        let bound = |property: &'static str| {
            p.get(property)
                .map(|v| {
                    v.parse::<i64>().map_err(|_| SplitError {
                        property,
                        value: v.clone(),
                    })
                })
                .transpose()
        };
        let (column, from, to) = (
            p.get(RANGE_COLUMN).cloned(),
            bound(RANGE_FROM)?,
            bound(RANGE_TO)?,
        );
        Ok(TableSlice {
            schema: p.get(PARTITION_SCHEMA).cloned(),
            partition: p.get(PARTITION_NAME).cloned().unwrap_or_else(|| "*".into()),
            only: p.contains_key(PARTITION_ONLY),
            partition_by: p
                .get(PARTITION_FUNCTION)
                .zip(p.get(PARTITIONING_COLUMN))
                .map(|(f, c)| (f.clone(), c.clone())),
            range: (column.is_some() || from.is_some() || to.is_some()).then_some(Range {
                column,
                from,
                to,
            }),
        })
    }
}

/// `[lo, hi]` cut into about `n` ranges; the first and last are open, so rows added
/// outside `[lo, hi]` since are read too. One range (none) when it cannot be cut.
pub fn ranges(lo: i64, hi: i64, n: u64, column: Option<&str>) -> Vec<Range> {
    let (lo, hi) = (i128::from(lo), i128::from(hi));
    let n = i128::from(n.max(1));
    let span = hi - lo + 1;
    if span < 2 || n < 2 {
        return vec![];
    }
    let step = (span + n - 1) / n;
    let mut out = Vec::new();
    let mut start = lo;
    while start <= hi {
        let end = start + step;
        out.push(Range {
            column: column.map(str::to_owned),
            from: (start > lo).then_some(start as i64),
            to: (end <= hi).then_some(end as i64),
        });
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn splits_travel_as_the_properties_each_engine_wrote() {
        let pg = TableSlice {
            only: true,
            ..TableSlice::in_schema("public", "events")
        }
        .with_range(Range {
            column: None,
            from: Some(10),
            to: None,
        });
        let p = pg.to_properties();
        assert_eq!(
            p,
            props(&[
                ("partition_schema_name", "public"),
                ("partition_name", "events"),
                ("partition_only", "true"),
                ("range_from", "10"),
            ])
        );
        assert_eq!(
            p.keys().collect::<Vec<_>>(),
            [
                "partition_schema_name",
                "partition_name",
                "partition_only",
                "range_from"
            ]
        );
        assert_eq!(TableSlice::from_properties(&p).unwrap(), pg);

        let my = TableSlice::partition("p0").with_range(Range {
            column: Some("id".into()),
            from: None,
            to: Some(-5),
        });
        let p = my.to_properties();
        assert_eq!(
            p,
            props(&[
                ("partition_name", "p0"),
                ("range_column", "id"),
                ("range_to", "-5")
            ])
        );
        assert_eq!(TableSlice::from_properties(&p).unwrap(), my);

        assert_eq!(
            TableSlice::from_properties(&IndexMap::new()).unwrap(),
            TableSlice::whole_table()
        );
        let ms = TableSlice {
            partition_by: Some(("pf_year".into(), "Year".into())),
            ..TableSlice::partition("3")
        };
        let p = ms.to_properties();
        assert_eq!(
            p,
            props(&[
                ("partition_name", "3"),
                ("partition_function", "pf_year"),
                ("partitioning_column", "Year")
            ])
        );
        assert_eq!(TableSlice::from_properties(&p).unwrap(), ms);
        assert_eq!(
            TableSlice::from_properties(&props(&[("range_from", "1e3")]))
                .unwrap_err()
                .to_string(),
            "split property range_from is not an integer: 1e3"
        );
    }

    #[test]
    fn key_spans_are_cut_into_open_ended_ranges() {
        let r = ranges(1, 10, 3, Some("k"));
        let bounds: Vec<_> = r.iter().map(|r| (r.from, r.to)).collect();
        // step = ceil(10 / 3) = 4: [.., 5), [5, 9), [9, ..)
        assert_eq!(
            bounds,
            [(None, Some(5)), (Some(5), Some(9)), (Some(9), None)]
        );
        assert!(r.iter().all(|r| r.column.as_deref() == Some("k")));
        assert!(ranges(7, 7, 4, None).is_empty());
        assert!(ranges(1, 100, 1, None).is_empty());
        // The whole i64 span does not overflow.
        assert_eq!(ranges(i64::MIN, i64::MAX, 2, None).len(), 2);
    }
}
