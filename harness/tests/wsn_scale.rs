//! `keylab wsn` at scale: the outputs of the implementation before it ran on all cores and
//! in spatial order (recorded below from that version with the same command lines) are
//! reproduced byte for byte, with one worker thread and with several.
//!
//! The binary is a debug build here, so the deployments stay at 10,000 nodes; the million-node
//! figures are a benchmark (`scripts/wsn-scale.sh`), not a test.

mod support;

use std::process::Output;

use support::{run_keylab, stderr, stdout};

/// `keylab wsn LINE --threads THREADS`, which must succeed; its stdout.
fn wsn(line: &str, threads: u32) -> String {
    let threads = threads.to_string();
    let mut all = vec!["wsn"];
    all.extend(line.split_whitespace());
    all.extend(["--threads", &threads]);
    let o: Output = run_keylab(&all);
    assert!(o.status.success(), "{line}: {}", stderr(&o));
    stdout(&o)
}

/// Runs `line` on 1 and on 3 threads; both print `want`.
#[track_caller]
fn same_as_before(line: &str, want: &str) {
    for threads in [1, 3] {
        assert_eq!(wsn(line, threads), want, "{line} --threads {threads}");
    }
}

#[test]
fn eg_at_ten_thousand_nodes_is_what_it_was() {
    same_as_before(
        "simulate --scheme eg --nodes 10000 --range 0.05 --capture 50 --seed 1 --json",
        S1,
    );
}

#[test]
fn qcomposite_at_ten_thousand_nodes_is_what_it_was() {
    // The capture recomputes the shared ids from the two rings instead of storing them:
    // the same links come out exposed.
    same_as_before(
        "simulate --scheme qcomposite --nodes 10000 --range 0.05 --capture 50 --seed 2 --json",
        S2,
    );
}

#[test]
fn blundo_is_what_it_was() {
    // Link keys are computed again at capture instead of kept.
    same_as_before(
        "simulate --scheme blundo --nodes 2000 --range 0.05 --degree 20 --capture 30 --seed 3 \
         --json",
        S3,
    );
}

#[test]
fn a_ring_sweep_is_the_same_on_any_number_of_threads() {
    same_as_before(
        "sweep --scheme eg,qcomposite --nodes 2000 --range 0.08 --vary ring --from 10 --to 60 \
         --step 10 --seed 5 --json",
        RING_SWEEP,
    );
}

#[test]
fn a_capture_sweep_table_is_the_same_on_any_number_of_threads() {
    same_as_before(
        "sweep --scheme eg,qcomposite,blundo --nodes 2000 --range 0.08 --degree 20 \
         --vary capture --from 0 --to 40 --step 5 --seed 6 --progress never",
        CAPTURE_SWEEP,
    );
}

#[test]
fn threads_must_be_at_least_one() {
    let o = run_keylab(&[
        "wsn",
        "simulate",
        "--scheme",
        "eg",
        "--nodes",
        "10",
        "--threads",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--threads"), "{}", stderr(&o));
}

const S1: &str = concat!(
    r#"{"scheme":"eg","pool":10000,"ring":100,"nodes":10000,"range":0.05,"seed":1,"keys_per_node""#,
    r#":100,"neighbour_pairs":375317,"mean_degree":75.0634,"links":238686,"local_connectivity":{""#,
    r#"measured":0.6359584031631927,"analytic":0.6358054847648349},"largest_component_fraction":1"#,
    r#".0,"path_keys":{"unsecured_pairs":136631,"examined":50000,"two_hops":50000,"three_hops":0,"#,
    r#""not_within_three_hops":0},"captured":50,"links_between_uncaptured":236314,"compromised_li"#,
    r#"nks":93414,"compromised_fraction":{"measured":0.3952960891017883,"analytic":0.394993932862"#,
    r#"46337}}
"#,
);

const S2: &str = concat!(
    r#"{"scheme":"qcomposite","pool":10000,"ring":100,"q":2,"nodes":10000,"range":0.05,"seed":2,""#,
    r#"keys_per_node":100,"neighbour_pairs":376817,"mean_degree":75.3634,"links":99782,"local_con"#,
    r#"nectivity":{"measured":0.26480227802885753,"analytic":0.26421634565714425},"largest_compon"#,
    r#"ent_fraction":1.0,"path_keys":{"unsecured_pairs":277035,"examined":50000,"two_hops":47221,"#,
    r#""three_hops":2779,"not_within_three_hops":0},"captured":50,"links_between_uncaptured":9880"#,
    r#"5,"compromised_links":12492,"compromised_fraction":{"measured":0.12643084864126308,"analyt"#,
    r#"ic":0.12529830763220037}}
"#,
);

const S3: &str = concat!(
    r#"{"scheme":"blundo","degree":20,"nodes":2000,"range":0.05,"seed":3,"keys_per_node":21,"neig"#,
    r#"hbour_pairs":15173,"mean_degree":15.173,"links":15173,"local_connectivity":{"measured":1.0"#,
    r#","analytic":1.0},"largest_component_fraction":1.0,"path_keys":{"unsecured_pairs":0,"examin"#,
    r#"ed":0,"two_hops":0,"three_hops":0,"not_within_three_hops":0},"captured":30,"links_between_"#,
    r#"uncaptured":14701,"compromised_links":14701,"compromised_fraction":{"measured":1.0,"analyt"#,
    r#"ic":1.0}}
"#,
);

const RING_SWEEP: &str = concat!(
    r#"{"vary":"ring","nodes":2000,"range":0.08,"seed":5,"series":[{"scheme":"eg","pool":10000,"r"#,
    r#"ing":10,"points":[{"x":10,"measured":0.009737124463519313,"analytic":0.009959582263106004}"#,
    r#",{"x":20,"measured":0.04141630901287554,"analytic":0.039285671631171915},{"x":30,"measured"#,
    r#"":0.08835836909871245,"analytic":0.08631227335543823},{"x":40,"measured":0.147988197424892"#,
    r#"7,"analytic":0.1483970977258432},{"x":50,"measured":0.2216469957081545,"analytic":0.222167"#,
    r#"99745981441},{"x":60,"measured":0.29916845493562233,"analytic":0.3038269537751267}]},{"sch"#,
    r#"eme":"qcomposite","pool":10000,"ring":10,"q":2,"points":[{"x":10,"measured":0.000026824034"#,
    r#"334763947,"analytic":0.00004033151595847732},{"x":20,"measured":0.000536480686695279,"anal"#,
    r#"ytic":0.0007066402924576871},{"x":30,"measured":0.0038358369098712448,"analytic":0.0035923"#,
    r#"30306800205},{"x":40,"measured":0.010541845493562232,"analytic":0.011055635800158514},{"x""#,
    r#":50,"measured":0.025456008583690987,"analytic":0.025765613248072295},{"x":60,"measured":0."#,
    r#"04707618025751073,"analytic":0.05018633377076971}]}]}
"#,
);

const CAPTURE_SWEEP: &str = r#"compromised fraction against captured nodes: 2000 nodes, range 0.08, seed 6
  eg: Eschenauer–Gligor (pool 10000, ring 100)
  qcomposite: q-composite (pool 10000, ring 100, q 2)
  blundo: Blundo polynomial (degree 20)

 captured           eg measured           eg analytic   qcomposite measured   qcomposite analytic       blundo measured       blundo analytic
        0                0.0000                0.0000                0.0000                0.0000                0.0000                0.0000
        5                0.0470                0.0490                0.0019                0.0017                0.0000                0.0000
       10                0.0942                0.0956                0.0059                0.0066                0.0000                0.0000
       15                0.1369                0.1399                0.0143                0.0144                0.0000                0.0000
       20                0.1774                0.1821                0.0252                0.0248                0.0000                0.0000
       25                0.2186                0.2222                0.0365                0.0374                1.0000                1.0000
       30                0.2577                0.2603                0.0497                0.0520                1.0000                1.0000
       35                0.2968                0.2966                0.0673                0.0683                1.0000                1.0000
       40                0.3317                0.3310                0.0841                0.0861                1.0000                1.0000
"#;
