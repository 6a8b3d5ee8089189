//! The profile (514-520) and token (530-535) rules.

use super::{RecordError, TOKEN_TYPES, present};
use crate::clevertap::view::View;

fn profile_error(code: u16, text: &str) -> RecordError {
    RecordError::new(code, format!("Profile data is incorrect. {text}"))
}

/// A plausible e-mail address: one `@`, a local part, a dotted domain, no spaces.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|label| !label.is_empty())
}

/// E.164: `+`, then 1 to 15 digits, the first not 0.
pub fn valid_phone(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else { return false };
    (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

fn is_one_of(value: &View, allowed: &[&str]) -> bool {
    value.as_str().is_some_and(|s| allowed.contains(&s))
}

pub(super) fn check_profile(fields: &View) -> Result<(), RecordError> {
    let data = match present(fields, "profileData") {
        None => return Ok(()),
        Some(data @ View::Object(_)) => data,
        Some(_) => return Err(profile_error(512, "ErrorCode: 512 - profileData must be an object. ")),
    };
    let field = |key: &str| present(data, key);
    if field("Gender").is_some_and(|v| !is_one_of(v, &["M", "F"])) {
        return Err(profile_error(514, "Gender needs to be M/F."));
    }
    if field("Email").is_some_and(|v| !v.as_str().is_some_and(valid_email)) {
        return Err(profile_error(515, "Email is not valid."));
    }
    if field("Phone").is_some_and(|v| !v.as_str().is_some_and(valid_phone)) {
        return Err(profile_error(516, "Phone number is not valid."));
    }
    if field("Employed").is_some_and(|v| !is_one_of(v, &["Y", "N"])) {
        return Err(profile_error(517, "Employed needs to be Y/N."));
    }
    if field("Education").is_some_and(|v| !is_one_of(v, &["School", "College", "Graduate"])) {
        return Err(profile_error(518, "Education needs to be School/College/Graduate.."));
    }
    if field("Married").is_some_and(|v| !is_one_of(v, &["Y", "N"])) {
        return Err(profile_error(519, "Married needs to be Y/N."));
    }
    if field("Age").is_some_and(|v| !valid_age(v)) {
        return Err(profile_error(520, "Age is invalid."));
    }
    Ok(())
}

fn valid_age(value: &View) -> bool {
    match value {
        View::Number(_) => true,
        View::Str(s) => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

fn non_empty_str<'v>(value: Option<&'v View>) -> Option<&'v str> {
    value.and_then(View::as_str).filter(|s| !s.is_empty())
}

pub(super) fn check_token(fields: &View) -> Result<(), RecordError> {
    let token = |code, meaning: &str| RecordError::decided(code, "Token data", meaning);
    if non_empty_str(present(fields, "objectId")).is_none() {
        return Err(token(530, "Invalid objectId: a device token needs the device's objectId"));
    }
    let Some(data @ View::Object(_)) = fields.get("tokenData") else {
        return Err(token(531, "Invalid token data: tokenData must be an object"));
    };
    if non_empty_str(data.get("id")).is_none() {
        return Err(token(532, "Token id is not present"));
    }
    let Some(kind) = non_empty_str(data.get("type")) else {
        return Err(token(533, "Token type is not present"));
    };
    if !TOKEN_TYPES.contains(&kind) {
        return Err(token(534, "Token type is not valid: use chrome, fcm, gcm, apns, wns or mpns"));
    }
    if kind == "chrome" {
        let keys = data.get("keys").filter(|keys| keys.is_object());
        let has = |key| keys.and_then(|keys| non_empty_str(keys.get(key))).is_some();
        if !has("p256dh") || !has("auth") {
            return Err(token(535, "Invalid token data: a chrome token needs keys.p256dh and keys.auth"));
        }
    }
    Ok(())
}
