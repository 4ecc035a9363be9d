//! The `tessera` command's command line and settings, as a library so that the fuzz target
//! for the configuration file (`fuzz/`) and its corpus test can call the same checks the
//! server runs. The commands themselves live in the binary (`main.rs`).

pub mod cli;
pub mod group_settings;
pub mod settings;
