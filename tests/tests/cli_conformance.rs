//! `delego conformance` as a separate process: the embedded CTK vectors all
//! pass (or await the authorizer), and the table adds up.

use delego_e2e::{ctk_dir, read_text, Delego, Output};
use delego_spec::json::parse;

/// A table row: `file cases pass fail needs-authorizer`.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    name: String,
    cases: usize,
    pass: usize,
    fail: usize,
    pending: usize,
}

fn rows(out: &Output) -> Vec<Row> {
    out.stdout
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let [name, numbers @ ..] = cells.as_slice() else {
                return None;
            };
            let numbers: Vec<usize> = numbers
                .iter()
                .map(|n| n.parse().ok())
                .collect::<Option<_>>()?;
            match numbers.as_slice() {
                [cases, pass, fail, pending] => Some(Row {
                    name: (*name).to_owned(),
                    cases: *cases,
                    pass: *pass,
                    fail: *fail,
                    pending: *pending,
                }),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn conformance_passes_with_no_failures() {
    let out = Delego::new().arg("conformance").run();
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(out.stderr, "", "{out}");
    assert!(!out.stdout.lines().any(|l| l.starts_with("FAIL ")), "{out}");

    let rows = rows(&out);
    let (total, files) = rows
        .split_last()
        .unwrap_or_else(|| panic!("no table rows\n{out}"));
    assert_eq!(total.name, "total", "the last row is the total\n{out}");
    assert_eq!(total.fail, 0, "{out}");
    assert!(total.pass > 0, "{out}");
    assert_eq!(
        total.cases,
        total.pass + total.fail + total.pending,
        "{out}"
    );
    for row in files {
        assert_eq!(
            row.cases,
            row.pass + row.fail + row.pending,
            "{row:?}\n{out}"
        );
        assert_eq!(row.fail, 0, "{row:?}\n{out}");
    }
    let sum = |f: fn(&Row) -> usize| files.iter().map(f).sum::<usize>();
    assert_eq!(sum(|r| r.cases), total.cases, "{out}");
    assert_eq!(sum(|r| r.pass), total.pass, "{out}");
    assert_eq!(sum(|r| r.pending), total.pending, "{out}");

    // The hashing vectors are all checked, and all pass.
    let hashing = files
        .iter()
        .find(|r| r.name == "hashing.json")
        .unwrap_or_else(|| panic!("no hashing.json row\n{out}"));
    let vectors = parse(&read_text(&ctk_dir().join("hashing.json"))).expect("hashing.json is JSON");
    let count = vectors.as_array().map_or(0, <[_]>::len);
    assert_eq!((hashing.cases, hashing.pass), (count, count), "{out}");
}
