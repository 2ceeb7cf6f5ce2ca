//! SerDe versions and the Arrow IPC framing each one implies (SPEC §1.4).

use std::cell::Cell;
use std::fmt;

/// A serialization version of the federation protocol, 2 to 6.
///
/// v2 and v3 differ only in Arrow framing; v4 adds capabilities and richer constraints,
/// v5 query passthrough, v6 the Substrait `queryPlan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SerDeVersion(u8);

impl SerDeVersion {
    pub const V2: SerDeVersion = SerDeVersion(2);
    pub const V3: SerDeVersion = SerDeVersion(3);
    pub const V4: SerDeVersion = SerDeVersion(4);
    pub const V5: SerDeVersion = SerDeVersion(5);
    pub const V6: SerDeVersion = SerDeVersion(6);
    /// The highest version this implementation reads and writes.
    pub const LATEST: SerDeVersion = SerDeVersion::V6;

    pub fn new(version: i64) -> Option<SerDeVersion> {
        (2..=6)
            .contains(&version)
            .then_some(SerDeVersion(version as u8))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Inline schemas and blocks use legacy framing up to v2, modern framing from v3.
    pub fn framing(self) -> Framing {
        if self.0 <= 2 {
            Framing::Legacy
        } else {
            Framing::Modern
        }
    }
}

impl fmt::Display for SerDeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How an Arrow IPC message is framed inside the JSON (SPEC §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `int32 length`, metadata version V4: serde v2 and every spilled block.
    Legacy,
    /// `0xFFFFFFFF`, `int32 length`, metadata version V5: serde v3 and later.
    Modern,
}

/// What a parsed message revealed about the version it was written with.
#[derive(Debug, Default)]
pub struct Detected {
    min_version: Cell<u8>,
    legacy: Cell<bool>,
    modern: Cell<bool>,
}

impl Detected {
    /// A field that only exists from `version` on was present.
    pub(crate) fn requires(&self, version: SerDeVersion) {
        self.min_version.set(self.min_version.get().max(version.0));
    }

    pub(crate) fn framing(&self, framing: Framing) {
        match framing {
            Framing::Legacy => self.legacy.set(true),
            Framing::Modern => self.modern.set(true),
        }
    }

    /// Whether any Arrow payload used the legacy framing.
    pub fn saw_legacy_framing(&self) -> bool {
        self.legacy.get()
    }

    /// The lowest version that can carry everything seen: fields decide first, then framing
    /// (legacy framing means v2, modern at least v3).
    pub fn inferred(&self) -> SerDeVersion {
        let by_fields = self.min_version.get().max(2);
        let by_framing = if self.modern.get() && !self.legacy.get() {
            3
        } else {
            2
        };
        SerDeVersion(by_fields.max(by_framing))
    }
}
