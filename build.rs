//! Generates the DPDK FFI with bindgen and compiles C wrappers for DPDK's
//! `static inline` fast-path functions (rx/tx burst, mbuf alloc/free), which
//! have no symbol to link against otherwise. Only with the `dpdk` feature
//! (the default): without it the binary is the operator CLI and needs
//! nothing of DPDK.

fn main() {
    #[cfg(feature = "dpdk")]
    dpdk::build();
}

#[cfg(feature = "dpdk")]
mod dpdk {
    use std::env;
    use std::path::PathBuf;
    use std::process::Command;

    fn pkg_config(args: &[&str]) -> Vec<String> {
        let out = Command::new("pkg-config")
            .args(args)
            .arg("libdpdk")
            .output()
            .expect("pkg-config not found: run scripts/setup.sh");
        assert!(
            out.status.success(),
            "pkg-config libdpdk failed (is libdpdk-dev installed? run scripts/setup.sh): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("pkg-config output is not UTF-8")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    pub fn build() {
        println!("cargo:rerun-if-changed=src/dpdk/dpdk.h");
        println!("cargo:rerun-if-changed=src/dpdk/shim.c");
        println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

        let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
        let cflags = pkg_config(&["--cflags"]);
        let static_fns = out_dir.join("static_fns");

        let bindings = bindgen::Builder::default()
        .header("src/dpdk/dpdk.h")
        .clang_args(&cflags)
        .allowlist_function(
            "rte_(eal|eth|pktmbuf|mempool|lcore|dev|rdtsc|get_tsc|strerror|socket|delay|exit).*",
        )
        .allowlist_function("vtepgw_.*")
        .allowlist_var("RTE_.*")
        .allowlist_type("rte_eth_(conf|rxconf|txconf|dev_info|stats|link)")
        // These packed protocol structs trip bindgen's layout code.
        .opaque_type("rte_l2tpv2_.*")
        .opaque_type("rte_gtp_.*")
        .opaque_type("rte_arp_.*")
        .derive_debug(false)
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .wrap_static_fns(true)
        .wrap_static_fns_path(&static_fns)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen failed on the DPDK headers");
        bindings
            .write_to_file(out_dir.join("dpdk_bindings.rs"))
            .expect("write bindings");

        let mut build = cc::Build::new();
        build
            .file(static_fns.with_extension("c"))
            .file("src/dpdk/shim.c")
            .include("src/dpdk")
            .include(env::current_dir().unwrap())
            .warnings(false);
        for flag in &cflags {
            build.flag(flag);
        }
        build.compile("vtepgw_dpdk_shim");

        for flag in pkg_config(&["--libs"]) {
            if let Some(lib) = flag.strip_prefix("-l") {
                println!("cargo:rustc-link-lib={lib}");
            } else if let Some(dir) = flag.strip_prefix("-L") {
                println!("cargo:rustc-link-search=native={dir}");
            } else {
                println!("cargo:rustc-link-arg={flag}");
            }
        }
    }
}
