//! Splits a command line into words the way a POSIX shell would, without
//! expanding anything: quotes group, backslashes escape, nothing else —
//! for `command`'s free form, a Compose `command:` string, pip's
//! `extra_args`.

/// Splits `line` into words; an unclosed quote is an error.
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed ' in `{line}`")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err(format!("unclosed \" in `{line}`")),
                        },
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed \" in `{line}`")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::words;

    #[test]
    fn splits_like_a_shell_without_expanding() {
        assert_eq!(
            words("echo  hello world").unwrap(),
            ["echo", "hello", "world"]
        );
        assert_eq!(
            words(r#"printf '%s\n' "a b" c\ d"#).unwrap(),
            ["printf", r"%s\n", "a b", "c d"]
        );
        assert_eq!(words("echo $HOME ''").unwrap(), ["echo", "$HOME", ""]);
        assert!(words("echo 'open").is_err());
    }
}
