//! The actors: `Connection`, `Stream`, their messages, the listener and `Session`.
