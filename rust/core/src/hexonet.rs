//! (reserved for the hexonet service codec; filled in by its issue)
