struct Repo;

#[expvar::timed(name = "repo")]
impl Repo {
    fn find(&self) {}
}

fn main() {
    Repo.find();
}
