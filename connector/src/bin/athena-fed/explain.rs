//! `decode --explain`: a message printed for a person.

use std::fmt::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::Schema;
use arrow::util::pretty::pretty_format_batches;
use athena_connector::protocol::{
    Block, Constraints, FederatedIdentity, Message, Request, Response, SerDeVersion, Split,
};

/// Rows shown per block before eliding the rest.
const MAX_ROWS: usize = 20;

pub fn message(message: &Message, version: SerDeVersion) -> String {
    let mut out = Report::default();
    let framing = match version.framing() {
        athena_connector::protocol::Framing::Legacy => "legacy Arrow framing",
        athena_connector::protocol::Framing::Modern => "modern Arrow framing",
    };
    out.line(
        0,
        format!("{} (serde v{version}, {framing})", message.type_name()),
    );
    match message {
        Message::Request(r) => request(&mut out, r),
        Message::Response(r) => response(&mut out, r),
        Message::Error(e) => {
            out.field("error", e.to_string());
        }
    }
    out.0
}

#[derive(Default)]
struct Report(String);

impl Report {
    fn line(&mut self, indent: usize, text: impl AsRef<str>) {
        for l in text.as_ref().lines() {
            let _ = writeln!(self.0, "{:indent$}{l}", "", indent = indent * 2);
        }
    }

    fn field(&mut self, name: &str, value: impl std::fmt::Display) {
        self.line(1, format!("{name}: {value}"));
    }

    fn schema(&mut self, name: &str, schema: &Schema) {
        self.line(1, format!("{name}: {} column(s)", schema.fields().len()));
        for f in schema.fields() {
            let null = if f.is_nullable() { "" } else { " not null" };
            self.line(2, format!("{}: {}{null}", f.name(), f.data_type()));
        }
    }

    fn block(&mut self, name: &str, block: &Block) {
        self.schema(name, &block.schema());
        self.rows(&block.batch);
    }

    fn rows(&mut self, batch: &RecordBatch) {
        let n = batch.num_rows();
        self.line(2, format!("{n} row(s)"));
        if n == 0 || batch.num_columns() == 0 {
            return;
        }
        let shown = batch.slice(0, n.min(MAX_ROWS));
        match pretty_format_batches(&[shown]) {
            Ok(table) => self.line(2, table.to_string()),
            Err(e) => self.line(2, format!("(cannot display rows: {e})")),
        }
        if n > MAX_ROWS {
            self.line(2, format!("... {} more row(s)", n - MAX_ROWS));
        }
    }

    fn identity(&mut self, identity: &FederatedIdentity) {
        let account = identity.account.as_deref().unwrap_or("?");
        let arn = identity.arn.as_deref().unwrap_or("?");
        self.field("identity", format!("account {account}, {arn}"));
        if !identity.config_options.is_empty() {
            let keys: Vec<&str> = identity.config_options.keys().map(String::as_str).collect();
            self.field("config options", keys.join(", "));
        }
    }

    fn split(&mut self, name: &str, split: &Split) {
        let location = split
            .spill_location
            .as_ref()
            .map_or("no spill location".to_owned(), |l| {
                format!("spill to s3://{}/{}", l.bucket, l.key)
            });
        let encrypted = if split.encryption_key.is_some() {
            "encrypted"
        } else {
            "not encrypted"
        };
        let props: Vec<String> = split
            .properties
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        self.field(
            name,
            format!("{location} ({encrypted}); {{{}}}", props.join(", ")),
        );
    }

    fn constraints(&mut self, c: &Constraints) {
        self.line(1, "constraints:");
        let mut predicates: Vec<String> = c
            .summary
            .iter()
            .map(|(col, set)| set.describe(col))
            .collect();
        predicates.extend(c.expression.iter().map(ToString::to_string));
        let predicate = if predicates.is_empty() {
            "TRUE".to_owned()
        } else {
            predicates.join(" AND ")
        };
        self.line(2, format!("where: {predicate}"));
        if !c.order_by.is_empty() {
            let order: Vec<String> = c
                .order_by
                .iter()
                .map(|o| {
                    format!(
                        "{} {} NULLS {}",
                        o.column_name,
                        if o.direction.ascending() {
                            "ASC"
                        } else {
                            "DESC"
                        },
                        if o.direction.nulls_first() {
                            "FIRST"
                        } else {
                            "LAST"
                        }
                    )
                })
                .collect();
            self.line(2, format!("order by: {}", order.join(", ")));
        }
        match c.limit() {
            Some(l) => self.line(2, format!("limit: {l}")),
            None => self.line(2, "limit: none"),
        }
        if c.is_query_passthrough() {
            let args: Vec<String> = c
                .query_passthrough_arguments
                .iter()
                .map(|(k, v)| format!("{k} => {v}"))
                .collect();
            self.line(2, format!("query passthrough: {}", args.join(", ")));
        }
        if let Some(plan) = &c.query_plan {
            self.line(
                2,
                format!(
                    "substrait plan: version {}, {} base64 characters",
                    plan.substrait_version,
                    plan.substrait_plan.len()
                ),
            );
        }
    }
}

fn request(out: &mut Report, r: &Request) {
    match r {
        Request::Ping(p) => {
            out.field("catalog", &p.catalog_name);
            out.field("query id", &p.query_id);
            out.identity(&p.identity);
            return;
        }
        Request::UserDefinedFunction(u) => {
            out.identity(&u.identity);
            out.field("method", &u.method_name);
            out.field("function type", &u.function_type);
            out.block("input records", &u.input_records);
            out.schema("output schema", &u.output_schema);
            return;
        }
        _ => {}
    }
    let header = match r {
        Request::ListSchemas(x) => &x.header,
        Request::ListTables(x) => &x.header,
        Request::GetTable(x) => &x.header,
        Request::GetTableLayout(x) => &x.header,
        Request::GetSplits(x) => &x.header,
        Request::ReadRecords(x) => &x.header,
        Request::GetDataSourceCapabilities(x) => &x.header,
        Request::Ping(_) | Request::UserDefinedFunction(_) => unreachable!("handled above"),
    };
    out.field("catalog", &header.catalog_name);
    out.field("query id", &header.query_id);
    out.identity(&header.identity);
    match r {
        Request::ListTables(x) => {
            out.field("schema", x.schema_name.as_deref().unwrap_or("(all)"));
            out.field(
                "next token",
                x.next_token.as_deref().unwrap_or("(first page)"),
            );
            out.field(
                "page size",
                if x.page_size < 0 {
                    "unlimited".to_owned()
                } else {
                    x.page_size.to_string()
                },
            );
        }
        Request::GetTable(x) => {
            out.field("table", &x.table_name);
            if !x.query_passthrough_arguments.is_empty() {
                let args: Vec<String> = x
                    .query_passthrough_arguments
                    .iter()
                    .map(|(k, v)| format!("{k} => {v}"))
                    .collect();
                out.field("query passthrough", args.join(", "));
            }
        }
        Request::GetTableLayout(x) => {
            out.field("table", &x.table_name);
            out.schema("schema", &x.schema);
            out.field("partition columns", x.partition_columns.join(", "));
            out.constraints(&x.constraints);
        }
        Request::GetSplits(x) => {
            out.field("table", &x.table_name);
            out.field("partition columns", x.partition_columns.join(", "));
            out.block("partitions", &x.partitions);
            out.constraints(&x.constraints);
            out.field(
                "continuation token",
                x.continuation_token.as_deref().unwrap_or("(none)"),
            );
        }
        Request::ReadRecords(x) => {
            out.field("table", &x.table_name);
            out.schema("projection", &x.schema);
            out.split("split", &x.split);
            out.constraints(&x.constraints);
            out.field("max block size", x.max_block_size);
            out.field("max inline block size", x.max_inline_block_size);
        }
        _ => {}
    }
}

fn response(out: &mut Report, r: &Response) {
    match r {
        Response::Ping(p) => {
            out.field("catalog", &p.catalog_name);
            out.field("query id", &p.query_id);
            out.field("source type", &p.source_type);
            out.field("capabilities", p.capabilities);
            out.field("serde version", p.serde_version);
        }
        Response::ListSchemas(x) => {
            out.field("catalog", &x.catalog_name);
            out.field("schemas", x.schemas.join(", "));
        }
        Response::ListTables(x) => {
            out.field("catalog", &x.catalog_name);
            let tables: Vec<String> = x.tables.iter().map(ToString::to_string).collect();
            out.field("tables", tables.join(", "));
            out.field(
                "next token",
                x.next_token.as_deref().unwrap_or("(last page)"),
            );
        }
        Response::GetTable(x) => {
            out.field("catalog", &x.catalog_name);
            out.field("table", &x.table_name);
            out.schema("schema", &x.schema);
            out.field("partition columns", x.partition_columns.join(", "));
        }
        Response::GetTableLayout(x) => {
            out.field("catalog", &x.catalog_name);
            out.field("table", &x.table_name);
            out.block("partitions", &x.partitions);
        }
        Response::GetSplits(x) => {
            out.field("catalog", &x.catalog_name);
            out.field("splits", x.splits.len());
            for (i, s) in x.splits.iter().enumerate() {
                out.split(&format!("split {i}"), s);
            }
            out.field(
                "continuation token",
                x.continuation_token.as_deref().unwrap_or("(none)"),
            );
        }
        Response::ReadRecords(x) => {
            out.field("catalog", &x.catalog_name);
            out.block("records", &x.records);
        }
        Response::RemoteReadRecords(x) => {
            out.field("catalog", &x.catalog_name);
            out.schema("schema", &x.schema);
            for b in &x.remote_blocks {
                out.line(2, format!("block at s3://{}/{}", b.bucket, b.key));
            }
            let enc = if x.encryption_key.is_some() {
                "AES-GCM"
            } else {
                "none"
            };
            out.field("encryption", enc);
        }
        Response::GetDataSourceCapabilities(x) => {
            out.field("catalog", &x.catalog_name);
            for (name, subtypes) in &x.capabilities {
                for s in subtypes {
                    out.line(
                        1,
                        format!("{name}: {} [{}]", s.sub_type, s.properties.join(", ")),
                    );
                }
            }
        }
        Response::UserDefinedFunction(x) => {
            out.field("method", &x.method_name);
            out.block("records", &x.records);
        }
    }
}
