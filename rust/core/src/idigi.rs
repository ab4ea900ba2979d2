//! (reserved for the idigi service codec; filled in by its issue)
