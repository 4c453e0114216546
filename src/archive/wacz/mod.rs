//! Web archives that replay anywhere (SPEC "Web archives (WACZ)"): stored
//! WARCs packaged as signed WACZ files, laid out before a byte is sent and
//! answered by ranges.

pub mod index;
pub mod package;
pub mod stored;
pub mod zip;

pub use index::{IndexedRecord, WarcIndex, WarcIndexer};
pub use package::{Contents, PackError, Package, PackedWarc, lay_out};
pub use zip::{Layout, Slice};
