//! Reading JSON input files with errors that name the file and the JSON path.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Parses `bytes` as `T`; an error names `origin` and the JSON path of the bad value.
///
/// (Examples: the unit test `an_error_names_the_file_and_the_json_path`.)
pub fn parse<T: DeserializeOwned>(bytes: &[u8], origin: impl AsRef<Path>) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        Error::invalid(origin.as_ref(), path, describe(e.inner()))
    })?;
    de.end().map_err(|e| Error::invalid(origin.as_ref(), ".", describe(&e)))?;
    Ok(value)
}

fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    // serde_json appends " at line L column C"; keep it, it helps in big files.
    match e.classify() {
        Category::Syntax | Category::Eof => format!("not valid JSON: {text}"),
        Category::Data | Category::Io => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_names_the_file_and_the_json_path() {
        let err = parse::<Vec<u32>>(br#"[1, "x"]"#, "list.json").unwrap_err();
        assert!(err.to_string().starts_with("list.json: [1]: "));
    }
}
