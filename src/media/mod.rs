//! Pictures and files below the resources: where uploads are stored and how their URLs are
//! made (`storage`), decoding and resizing within the machine's room (`process`, `budget`),
//! and how commenters' pictures are addressed (`avatars`).
pub mod avatars;
pub mod budget;
pub mod process;
pub mod storage;
