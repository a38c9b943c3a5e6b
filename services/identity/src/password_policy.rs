//! What a password may not be, beyond its length: the person's own e-mail name or names, or
//! a common password (an embedded list, so no breach service is asked and nothing leaves the
//! process). Administrators setting a password and people changing theirs call [`check`].

use crate::password::{MAX_LENGTH, MIN_LENGTH};

/// Words at the heart of common passwords, one a line (`#` starts a comment).
const COMMON_WORDS: &str = include_str!("password_policy/common.txt");
/// Long passwords that are common as they are.
const COMMON_LONG: &str = include_str!("password_policy/long.txt");

/// Personal tokens shorter than this are not looked for (they occur inside ordinary words).
const MIN_PERSONAL: usize = 3;

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Too short or too long.
    #[error("must be between 12 and 256 characters")]
    Length,
    /// It contains the e-mail address's name part or one of the person's names.
    #[error("must not contain your e-mail name or your names")]
    Personal,
    /// It is, or is built on, a commonly used password.
    #[error("is too common; choose a longer phrase of unrelated words")]
    Common,
}

fn lines(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Checks `password` for the person with e-mail `email` and `names` (given and family names;
/// empty ones are skipped). Comparisons ignore case.
pub fn check(password: &str, email: &str, names: &[&str]) -> Result<(), PolicyError> {
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&password.chars().count()) {
        return Err(PolicyError::Length);
    }
    let lower = password.to_lowercase();
    let compact: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let personal = std::iter::once(local.as_str())
        .chain(local.split(['.', '_', '-', '+']))
        .map(str::to_owned)
        .chain(
            names
                .iter()
                .flat_map(|name| name.split([' ', '-', '\'']))
                .map(str::to_lowercase),
        )
        .filter(|token| token.chars().count() >= MIN_PERSONAL);
    for token in personal {
        let bare: String = token.chars().filter(|c| c.is_alphanumeric()).collect();
        if lower.contains(&token)
            || (bare.chars().count() >= MIN_PERSONAL && compact.contains(&bare))
        {
            return Err(PolicyError::Personal);
        }
    }
    if is_common(&lower, &compact) {
        return Err(PolicyError::Common);
    }
    Ok(())
}

/// Whether the lowercased password is a listed long one, one character repeated, or a common
/// word (or the same word repeated) dressed up with leetspeak and digits or symbols at its ends.
fn is_common(lower: &str, compact: &str) -> bool {
    if lines(COMMON_LONG).any(|common| common == lower || common == compact) {
        return true;
    }
    let mut chars = compact.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return true;
    }
    let core: String = lower
        .trim_matches(|c: char| !c.is_alphabetic())
        .chars()
        .filter_map(|c| match c {
            '0' => Some('o'),
            '1' | '!' => Some('i'),
            '3' => Some('e'),
            '4' | '@' => Some('a'),
            '5' | '$' => Some('s'),
            '7' => Some('t'),
            c if c.is_alphabetic() => Some(c),
            _ => None,
        })
        .collect();
    !core.is_empty()
        && lines(COMMON_WORDS).any(|word| {
            core.len().is_multiple_of(word.len())
                && core
                    .as_bytes()
                    .chunks(word.len())
                    .all(|part| part == word.as_bytes())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "mia.moss@example.org";
    const NAMES: &[&str] = &["Mia", "Moss-Grant"];

    #[test]
    fn a_long_phrase_of_unrelated_words_is_accepted() {
        assert_eq!(check("violet kettle under moonlight", EMAIL, NAMES), Ok(()));
        assert_eq!(check("tram 42 sings in fog", EMAIL, NAMES), Ok(()));
    }

    #[test]
    fn the_length_rule_still_holds() {
        assert_eq!(check("short", EMAIL, NAMES), Err(PolicyError::Length));
        assert_eq!(
            check(&"x".repeat(257), EMAIL, NAMES),
            Err(PolicyError::Length)
        );
    }

    #[test]
    fn a_password_holding_the_email_name_or_a_name_is_refused() {
        for password in [
            "mia.moss-is-my-login",
            "MiaMoss2024!!",
            "my name is grant, ok?",
            "the mossiest garden path",
        ] {
            assert_eq!(
                check(password, EMAIL, NAMES),
                Err(PolicyError::Personal),
                "{password}"
            );
        }
    }

    #[test]
    fn common_passwords_and_their_dressed_up_forms_are_refused() {
        for password in [
            "password1234",
            "P@ssw0rd2024!",
            "Summer2024!!",
            "qwertyqwerty",
            "1qaz2wsx3edc",
            "aaaaaaaaaaaaaa",
            "iloveyou iloveyou",
            "!!Football!!99",
        ] {
            assert_eq!(
                check(password, EMAIL, NAMES),
                Err(PolicyError::Common),
                "{password}"
            );
        }
    }

    #[test]
    fn the_lists_hold_only_lowercase_entries() {
        for entry in lines(COMMON_WORDS).chain(lines(COMMON_LONG)) {
            assert_eq!(entry, entry.to_lowercase());
        }
    }
}
