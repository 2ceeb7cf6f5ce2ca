//! A path-tracking reader over parsed JSON, and an ordered object writer.
//!
//! Requests are read leniently (any member order, unknown members ignored, optional members
//! absent), and every error names the path of the field it is about. Responses are written
//! with members in exactly the order the Java SDK's strict deserializers demand; `serde_json`
//! is built with `preserve_order`, so a [`Map`] keeps insertion order.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::error::{Problem, ProtocolError, Result};
use super::version::Detected;

/// A JSON value together with where it sits in the message.
#[derive(Clone, Copy)]
pub(crate) struct Node<'a> {
    pub value: &'a Value,
    pub path: &'a Path<'a>,
    pub seen: &'a Detected,
}

/// A JSON path, built lazily: it is only rendered when an error needs it.
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    pub fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => match parent {
                Path::Root => (*key).to_string(),
                _ => format!("{}.{key}", parent.render()),
            },
            Path::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Node<'a> {
    pub fn error(&self, problem: Problem) -> ProtocolError {
        ProtocolError::at(self.path.render(), problem)
    }

    /// An `@type` this object cannot be; the error points at the `@type` member.
    pub fn unknown_type(&self, tag: &str) -> ProtocolError {
        ProtocolError::at(
            Path::Key(self.path, "@type").render(),
            Problem::UnknownType(tag.to_owned()),
        )
    }

    pub fn invalid(&self, why: impl Into<String>) -> ProtocolError {
        self.error(Problem::Invalid(why.into()))
    }

    fn wrong(&self, expected: &'static str) -> ProtocolError {
        self.error(Problem::WrongType {
            expected,
            found: kind(self.value),
        })
    }

    pub fn as_object(&self) -> Result<&'a Map<String, Value>> {
        self.value
            .as_object()
            .ok_or_else(|| self.wrong("an object"))
    }

    pub fn as_str(&self) -> Result<&'a str> {
        self.value.as_str().ok_or_else(|| self.wrong("a string"))
    }

    pub fn as_bool(&self) -> Result<bool> {
        self.value.as_bool().ok_or_else(|| self.wrong("a boolean"))
    }

    pub fn as_i64(&self) -> Result<i64> {
        match self.value {
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| self.invalid(format!("expected a 64-bit integer, found {n}"))),
            _ => Err(self.wrong("an integer")),
        }
    }

    pub fn as_i32(&self) -> Result<i32> {
        let n = self.as_i64()?;
        i32::try_from(n)
            .map_err(|_| self.invalid(format!("{n} is out of range for a 32-bit integer")))
    }

    /// A number the SDK writes as a JSON string (`maxBlockSize`); a plain number is accepted too.
    pub fn as_string_i64(&self) -> Result<i64> {
        match self.value {
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| self.invalid(format!("expected a decimal integer, found \"{s}\""))),
            Value::Number(_) => self.as_i64(),
            _ => Err(self.wrong("a string holding an integer")),
        }
    }

    pub fn as_array(&self) -> Result<&'a Vec<Value>> {
        self.value.as_array().ok_or_else(|| self.wrong("an array"))
    }

    /// Maps each array element with its own path.
    pub fn map_array<T>(&self, mut f: impl FnMut(Node<'_>) -> Result<T>) -> Result<Vec<T>> {
        let items = self.as_array()?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = Path::Index(self.path, i);
            out.push(f(Node {
                value: item,
                path: &path,
                seen: self.seen,
            })?);
        }
        Ok(out)
    }

    /// Maps each object member with its own path, keeping member order.
    pub fn map_object<T>(
        &self,
        mut f: impl FnMut(Node<'_>) -> Result<T>,
    ) -> Result<IndexMap<String, T>> {
        let members = self.as_object()?;
        let mut out = IndexMap::with_capacity(members.len());
        for (key, item) in members {
            let path = Path::Key(self.path, key);
            let v = f(Node {
                value: item,
                path: &path,
                seen: self.seen,
            })?;
            out.insert(key.clone(), v);
        }
        Ok(out)
    }

    pub fn string_list(&self) -> Result<Vec<String>> {
        self.map_array(|n| n.as_str().map(str::to_owned))
    }

    pub fn string_map(&self) -> Result<IndexMap<String, String>> {
        self.map_object(|n| n.as_str().map(str::to_owned))
    }

    /// Runs `f` on member `key`, which must be present (it may be null if `f` accepts null).
    pub fn field<T>(&self, key: &str, f: impl FnOnce(Node<'_>) -> Result<T>) -> Result<T> {
        let members = self.as_object()?;
        let path = Path::Key(self.path, key);
        match members.get(key) {
            Some(value) => f(Node {
                value,
                path: &path,
                seen: self.seen,
            }),
            None => Err(ProtocolError::at(path.render(), Problem::Missing)),
        }
    }

    /// Runs `f` on member `key` unless it is absent or null.
    pub fn opt_field<T>(
        &self,
        key: &str,
        f: impl FnOnce(Node<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let members = self.as_object()?;
        match members.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => {
                let path = Path::Key(self.path, key);
                f(Node {
                    value,
                    path: &path,
                    seen: self.seen,
                })
                .map(Some)
            }
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.value.get(key).is_some()
    }

    pub fn string(&self, key: &str) -> Result<String> {
        self.field(key, |n| n.as_str().map(str::to_owned))
    }

    pub fn opt_string(&self, key: &str) -> Result<Option<String>> {
        self.opt_field(key, |n| n.as_str().map(str::to_owned))
    }

    pub fn bool(&self, key: &str) -> Result<bool> {
        self.field(key, |n| n.as_bool())
    }

    /// The `@type` discriminator of a polymorphic object.
    pub fn type_tag(&self) -> Result<&'a str> {
        let members = self.as_object()?;
        let path = Path::Key(self.path, "@type");
        match members.get("@type") {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(ProtocolError::at(
                path.render(),
                Problem::WrongType {
                    expected: "a string",
                    found: kind(other),
                },
            )),
            None => Err(ProtocolError::at(path.render(), Problem::Missing)),
        }
    }
}

/// Builds a JSON object whose members keep the order they are added in.
pub(crate) struct ObjectWriter(Map<String, Value>);

impl ObjectWriter {
    pub fn new() -> Self {
        ObjectWriter(Map::new())
    }

    /// An object whose first member is `"@type": type_name`.
    pub fn typed(type_name: &str) -> Self {
        ObjectWriter::new().put("@type", type_name)
    }

    pub fn put(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

pub(crate) fn string_map(map: &IndexMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

pub(crate) fn opt_string(s: &Option<String>) -> Value {
    s.clone().map_or(Value::Null, Value::String)
}
