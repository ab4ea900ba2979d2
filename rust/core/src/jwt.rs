//! (reserved for the jwt service codec; filled in by its issue)
