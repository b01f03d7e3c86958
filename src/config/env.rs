//! `FEEDLETTER_<SECTION>__<KEY>` environment overrides, applied to the
//! parsed file before it is read into sections, so that an override is
//! checked exactly as the same key in the file would be.

/// Environment variables that are not config keys.
const NOT_CONFIG_VARS: &[&str] = &["FEEDLETTER_CONFIG"];

/// The admin API's bearer token.
pub const ADMIN_TOKEN_VAR: &str = "FEEDLETTER_ADMIN_TOKEN";

/// `FEEDLETTER_MAIL__SMTP__HOST=x` sets `mail.smtp.host`. Values that read as
/// TOML (numbers, booleans, arrays) keep their type; anything else is a string.
pub(super) fn apply(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), String> {
    let mut vars: Vec<&(String, String)> = env
        .iter()
        .filter(|(k, _)| {
            k.starts_with("FEEDLETTER_")
                && k.contains("__")
                && !NOT_CONFIG_VARS.contains(&k.as_str())
        })
        .collect();
    vars.sort();
    for (key, value) in vars {
        let path: Vec<String> = key["FEEDLETTER_".len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let Some((last, parents)) = path
            .split_last()
            .filter(|_| !path.iter().any(String::is_empty))
        else {
            return Err(format!("environment variable {key}: empty key segment"));
        };
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !v.is_str() && !v.is_datetime())
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        let mut node = &mut *table;
        for seg in parents {
            let entry = node
                .entry(seg.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = entry
                .as_table_mut()
                .ok_or_else(|| format!("environment variable {key}: `{seg}` is not a table"))?;
        }
        node.insert(last.clone(), parsed);
    }
    Ok(())
}

/// `$FEEDLETTER_ADMIN_TOKEN`, trimmed; unset and blank are the same.
pub(super) fn admin_token(env: &[(String, String)]) -> Option<String> {
    env.iter()
        .find(|(k, _)| k == ADMIN_TOKEN_VAR)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
