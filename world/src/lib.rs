//! The embedded synthetic instruction world. Every task family has phrasings, a
//! difficulty knob and a reference solver; a programmatic grader scores any
//! response 0-5 on the paper's additive rubric. The grader stands in for the
//! paper's human labels and GPT-4 judge.
pub mod constrained;
pub mod corrupt;
pub mod explain;
pub mod families;
pub mod grader;
pub mod records;
pub mod split;
pub mod task;
pub mod vocab;
pub mod world;

pub use corrupt::{corrupt, sign_off, strip_chatter};
pub use explain::explain;
pub use families::Family;
pub use grader::{grade, Grade};
pub use split::{Split, SplitConfig};
pub use task::{Answer, Task};
pub use world::World;
