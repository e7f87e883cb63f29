//! Layout of generated Rust code the way rustfmt lays it out (default configuration, edition
//! 2021/2024), for the few constructs the emitter produces, so that generated files pass
//! `rustfmt --check` as written. A test runs rustfmt over the output for every fixture model.
//!
//! The rules used (rustfmt's defaults): lines at most 100 columns; a call's arguments stay on
//! one line if they take at most 60 columns and the line fits, otherwise one per line with a
//! trailing comma; a struct literal whose fields take more than 18 columns is written one field
//! per line; an array stays on one line if it takes at most 60 columns.

/// rustfmt's `max_width`.
pub const MAX_WIDTH: usize = 100;
/// rustfmt's `fn_call_width`.
pub const FN_CALL_WIDTH: usize = 60;
/// rustfmt's `struct_lit_width`.
pub const STRUCT_LIT_WIDTH: usize = 18;
/// rustfmt's `array_width`.
pub const ARRAY_WIDTH: usize = 60;

/// Spaces for an indentation level of `n` columns.
pub fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// A call statement or expression: `{head}{callee}({args}){tail}` at `indent`, one line if it
/// fits, else one argument per line. Returns the text with a final newline.
pub fn call(
    indent: usize,
    head: &str,
    callee: &str,
    args: &[String],
    tail: &str,
) -> String {
    let joined = args.join(", ");
    let one_line = format!("{}{head}{callee}({joined}){tail}", pad(indent));
    let multiline_arg = args.iter().any(|a| a.contains('\n'));
    if !multiline_arg
        && joined.len() <= FN_CALL_WIDTH
        && one_line.chars().count() <= MAX_WIDTH
    {
        return one_line + "\n";
    }
    let mut out = format!("{}{head}{callee}(\n", pad(indent));
    for arg in args {
        out.push_str(&format!("{}{arg},\n", pad(indent + 4)));
    }
    out.push_str(&format!("{}){tail}\n", pad(indent)));
    out
}

/// A struct literal assigned or returned: `{head}{path} {{ fields }}{tail}`.
pub fn struct_literal(
    indent: usize,
    head: &str,
    path: &str,
    fields: &[(String, String)],
    tail: &str,
) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    let joined = body.join(", ");
    let one_line = format!("{}{head}{path} {{ {joined} }}{tail}", pad(indent));
    if fields.is_empty() {
        return format!("{}{head}{path} {{}}{tail}\n", pad(indent));
    }
    if joined.len() <= STRUCT_LIT_WIDTH && one_line.chars().count() <= MAX_WIDTH {
        return one_line + "\n";
    }
    let mut out = format!("{}{head}{path} {{\n", pad(indent));
    for line in body {
        out.push_str(&format!("{}{line},\n", pad(indent + 4)));
    }
    out.push_str(&format!("{}}}{tail}\n", pad(indent)));
    out
}

/// An array literal of short items on one line (the emitter only makes arrays that fit).
pub fn array(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// A function signature `{head}({params}){tail}` (e.g. `fn f(` … `) {`): one line if it fits in
/// the width, else one parameter per line.
pub fn signature(indent: usize, head: &str, params: &[String], tail: &str) -> String {
    let one_line = format!("{}{head}({}){tail}", pad(indent), params.join(", "));
    if one_line.chars().count() <= MAX_WIDTH {
        return one_line + "\n";
    }
    let mut out = format!("{}{head}(\n", pad(indent));
    for p in params {
        out.push_str(&format!("{}{p},\n", pad(indent + 4)));
    }
    out.push_str(&format!("{}){tail}\n", pad(indent)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_break_like_rustfmt() {
        assert_eq!(
            call(4, "", "f", &["a".into(), "b".into()], ";"),
            "    f(a, b);\n"
        );
        let long: Vec<String> = (0..5).map(|i| format!("argument_number_{i}")).collect();
        assert_eq!(
            call(4, "let x = ", "f", &long, ";"),
            "    let x = f(\n        argument_number_0,\n        argument_number_1,\n        argument_number_2,\n        \
             argument_number_3,\n        argument_number_4,\n    );\n"
        );
    }

    #[test]
    fn struct_literals_go_vertical_past_18_columns() {
        let short = [("a".to_string(), "1".to_string())];
        assert_eq!(
            struct_literal(0, "let p = ", "P", &short, ";"),
            "let p = P { a: 1 };\n"
        );
        let long = [
            ("channels".to_string(), "16".to_string()),
            ("inner".to_string(), "9".to_string()),
        ];
        assert_eq!(
            struct_literal(0, "", "P", &long, ""),
            "P {\n    channels: 16,\n    inner: 9,\n}\n"
        );
    }
}
