//! Plain-text tables for the operator commands.

use serde_json::Value;

/// Columns left-aligned, two spaces apart, with an upper-case header.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            rows: vec![headers.iter().map(|h| h.to_string()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders the table (header included) with a trailing newline.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// A JSON value as a table cell: strings bare, null as `-`, arrays joined.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.1}"),
            _ => n.to_string(),
        },
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        Value::Object(_) => v.to_string(),
    }
}

/// A table of `items`, one row each: (header, field) per column.
pub fn listing(columns: &[(&str, &str)], items: &[Value]) -> String {
    let headers: Vec<&str> = columns.iter().map(|c| c.0).collect();
    let fields: Vec<&str> = columns.iter().map(|c| c.1).collect();
    let mut t = Table::new(&headers);
    items.iter().for_each(|item| t.row(cells(item, &fields)));
    t.render()
}

/// The cells of `fields` of an object, in order.
pub fn cells(v: &Value, fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| cell(&v[*f])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(&["VNI", "FLOOD"]);
        t.row(cells(
            &json!({"vni": 100, "flood": ["192.0.2.1", "192.0.2.2"]}),
            &["vni", "flood"],
        ));
        t.row(cells(
            &json!({"vni": 16777215, "flood": []}),
            &["vni", "flood"],
        ));
        assert_eq!(
            t.render(),
            "VNI       FLOOD\n100       192.0.2.1,192.0.2.2\n16777215  -\n"
        );
    }

    #[test]
    fn listings_pick_fields() {
        let items = [json!({"a": 1, "b": "x"}), json!({"a": 22})];
        assert_eq!(
            listing(&[("B", "b"), ("A", "a")], &items),
            "B  A\nx  1\n-  22\n"
        );
    }

    #[test]
    fn cell_forms() {
        assert_eq!(cell(&json!(null)), "-");
        assert_eq!(cell(&json!(true)), "yes");
        assert_eq!(cell(&json!(12.345)), "12.3");
        assert_eq!(cell(&json!(7)), "7");
    }
}
