//! Canonical records: the entities of the input contract, typed values and shared validation.

pub mod schema;
pub mod validate;
pub mod value;

pub use schema::{entity, Column, ColumnType, Entity, Requirement, ENTITIES};
pub use validate::{Record, Rejection, Validator};
pub use value::{RawValue, Value};
