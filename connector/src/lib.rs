pub mod protocol;
pub mod spill;
