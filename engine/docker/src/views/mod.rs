//! What the window and `capstan containers|services|nodes|…` show of an
//! engine: render-ready rows (`rows.rs`), read on demand
//! (`engine_rows.rs`) or kept current from the engine's event stream,
//! never by polling (`live.rs`).

mod engine_rows;
mod live;
mod rows;

pub use live::{LiveEngine, ViewChange};
pub use rows::{
    ContainerRow, ImageRow, NetworkRow, NodeRow, ServiceRow, TaskRow, VolumeRow, container_rows,
    image_rows, network_rows, node_rows, service_rows, task_rows, volume_rows,
};
