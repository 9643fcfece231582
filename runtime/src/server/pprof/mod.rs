//! `/debug/pprof/`: an index of the profiles this build serves, like Go's; the CPU
//! profile (`cpu.rs`, feature `pprof`) and jemalloc's heap profile (`heap.rs`, feature
//! `heap-profile`).

#[cfg(feature = "pprof")]
pub(crate) mod cpu;
#[cfg(feature = "heap-profile")]
pub(crate) mod heap;

/// One profile the index lists: its path under `/debug/pprof/` and what it is.
struct Listed {
    link: &'static str,
    name: &'static str,
    about: &'static str,
}

/// The profiles compiled into this build, in Go's order.
const PROFILES: &[Listed] = &[
    #[cfg(feature = "heap-profile")]
    Listed {
        link: "heap",
        name: "heap",
        about: "A sampling of live allocations (jemalloc's heap profile). \
                Needs jemalloc as the global allocator with prof:true in its malloc_conf.",
    },
    #[cfg(feature = "pprof")]
    Listed {
        link: "profile?seconds=30",
        name: "profile",
        about: "CPU profile. Set the length with ?seconds=N (1 to 300); \
                &format=svg returns a flame graph. Then use go tool pprof on the file.",
    },
];

/// The HTML index of `/debug/pprof/`; links are relative to it.
pub(crate) fn index() -> String {
    let mut page = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>/debug/pprof/</title>\
         </head><body>\n<p>/debug/pprof/</p>\n<p>Profiles served by this build:</p>\n<ul>\n",
    );
    for profile in PROFILES {
        page.push_str(&format!(
            "<li><a href=\"{}\">{}</a>: {}</li>\n",
            profile.link, profile.name, profile.about
        ));
    }
    if PROFILES.is_empty() {
        page.push_str(
            "<li>none: build with the <code>pprof</code> or <code>heap-profile</code> \
             feature</li>\n",
        );
    }
    page.push_str("</ul>\n</body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lists_this_builds_profiles() {
        let page = index();
        assert!(page.starts_with("<!doctype html>"));
        assert_eq!(
            page.contains("href=\"heap\""),
            cfg!(feature = "heap-profile")
        );
        assert_eq!(
            page.contains("href=\"profile?seconds=30\""),
            cfg!(feature = "pprof")
        );
    }
}
