//! One-line bodies of every shape compile warning-free: the generated tail must not
//! look like a block in unnecessary braces (`unused_braces`), which `cargo fix` would
//! rewrite into code that does not compile.
#![deny(warnings)]

use expvar::{counted, timed};

#[derive(Debug)]
pub struct NotFound;

#[counted]
pub fn plain(x: u32) -> u32 { x + 1 }

#[timed]
pub fn timed_plain(x: u32) -> u32 { x + 1 }

#[counted]
#[timed]
pub async fn both_async(x: u32) -> u32 { x + 1 }

#[timed]
pub fn result(x: u32) -> Result<u32, NotFound> { Ok(x) }

#[counted]
pub async fn async_result(x: u32) -> Result<u32, NotFound> { Ok(x) }

#[timed]
pub fn option(x: u32) -> Option<u32> { Some(x) }

#[counted]
pub fn unit() { }

#[timed]
pub fn closure() -> impl Fn(u32) -> u32 { |x| x + 1 }

pub struct Repo;

#[counted]
#[timed]
impl Repo {
    pub fn len(&self) -> usize { 1 }
    pub fn find(&self, id: u32) -> Option<u32> { Some(id) }
    pub async fn load(&self) -> Result<(), NotFound> { Ok(()) }
}

impl Repo {
    #[timed]
    pub fn single(&self) -> u32 { 2 }
}

fn main() {
    assert_eq!(plain(1) + timed_plain(1), 4);
    assert_eq!(result(1).unwrap() + option(1).unwrap(), 2);
    unit();
    assert_eq!(closure()(1), 2);
    assert_eq!(Repo.len() + Repo.single() as usize, 3);
    assert_eq!(Repo.find(3), Some(3));
    let _ = (both_async(1), async_result(1), Repo.load());
}
