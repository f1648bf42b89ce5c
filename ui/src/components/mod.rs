//! Widgets the pages share.

pub mod field;
pub mod job_fields;
pub mod listing;
pub mod params;
pub mod remove;
pub mod status;
pub mod virtual_list;
