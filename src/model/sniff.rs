//! Files given where a weight file belongs that are plainly something else.
//!
//! A safetensors file starts with its header's length as a little-endian
//! `u64` below 100 MB, so its bytes 4 to 7 are zero. A text file has no zero
//! bytes, so it is told apart before its first 8 bytes are read as a length
//! (which, for `x = 1;`, would declare a header of millions of terabytes).
//! Text that the RASP lexer reads, with at least one `;`, is taken to be a
//! program: the most likely mistake is `rasp exec prog.rasp`.

use super::ModelError;
use crate::syntax::lexer::{Lexer, Token};

/// How much of the file is looked at: enough to judge, and little enough
/// that lexing it is cheap.
const SNIFF_BYTES: usize = 4 * 1024;

/// The error for a file that is text rather than a weight file, if it is
/// (without a path: [`crate::model::Model::load`] adds it).
pub fn text_file_error(bytes: &[u8]) -> Option<ModelError> {
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if head.is_empty() || head.contains(&0) {
        return None;
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Cut inside a character at the end of the sniffed part.
        Err(e) if e.error_len().is_none() && head.len() < bytes.len() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).ok()?
        }
        Err(_) => return None,
    };
    if looks_like_rasp(text, head.len() < bytes.len()) {
        Some(ModelError::ProgramNotModel {
            path: String::new(),
        })
    } else {
        Some(ModelError::TextNotModel {
            path: String::new(),
        })
    }
}

/// Whether `text` lexes as RASP and has a statement's `;`. A text cut short
/// is read up to its last complete line.
fn looks_like_rasp(text: &str, cut: bool) -> bool {
    let text = match (cut, text.rfind('\n')) {
        (true, Some(end)) => &text[..end],
        _ => text,
    };
    let mut semicolon = false;
    for token in Lexer::new(text) {
        match token {
            Ok((_, Token::Semi, _)) => semicolon = true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    semicolon
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_and_other_text_are_told_apart_from_weight_files() {
        let program = b"# reverse\nflip = select(indices, length - indices - 1, ==);\n";
        assert_eq!(
            text_file_error(program),
            Some(ModelError::ProgramNotModel {
                path: String::new()
            })
        );
        assert_eq!(
            text_file_error(b"x;"),
            Some(ModelError::ProgramNotModel {
                path: String::new()
            })
        );
        assert_eq!(
            text_file_error(b"{\"not\": 'rasp'}"),
            Some(ModelError::TextNotModel {
                path: String::new()
            })
        );
        assert_eq!(
            text_file_error(b"just words"),
            Some(ModelError::TextNotModel {
                path: String::new()
            })
        );
        // A header length below 100 MB has zero bytes; so do most binaries.
        let mut safetensors = 120u64.to_le_bytes().to_vec();
        safetensors.extend(b"{\"x\": 1}");
        assert_eq!(text_file_error(&safetensors), None);
        assert_eq!(text_file_error(b""), None);
        assert_eq!(text_file_error(&[0xff, 0xfe, 0x41]), None);
        // Sniffing stops inside a character: a first line cut short is
        // only text, complete lines are read as a program.
        let long = format!("s = \"{}\";\n", "é".repeat(SNIFF_BYTES));
        assert_eq!(
            text_file_error(long.as_bytes()),
            Some(ModelError::TextNotModel {
                path: String::new()
            })
        );
        let lines = "x = 1;\n".repeat(SNIFF_BYTES / 7 + 100);
        assert_eq!(
            text_file_error(lines.as_bytes()),
            Some(ModelError::ProgramNotModel {
                path: String::new()
            })
        );
    }
}
