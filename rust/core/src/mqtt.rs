//! (reserved for the mqtt service codec; filled in by its issue)
