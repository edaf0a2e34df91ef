//! Reading files with a bound: a program file, a `load`ed library or a
//! weight file is refused before it is read when it is larger than any such
//! file can reasonably be, rather than read whole into memory first.

use std::io::Read;
use std::path::Path;

/// The largest program file (or library it loads) read: 16 MiB.
pub const MAX_PROGRAM_BYTES: u64 = 16 << 20;

/// The largest weight file read: 1 GiB (the compiler's largest model, 100
/// million float64 weights, is 800 MB).
pub const MAX_MODEL_BYTES: u64 = 1 << 30;

/// The bytes of `path`, at most `limit` of them: a larger file is an error
/// (`InvalidData`, saying how large it is) before anything is read, and one
/// that grows while it is read stops at `limit + 1` bytes.
pub fn read_capped(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let too_large = |size: u64| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it is {size} bytes long, over the limit of {limit} bytes"),
        )
    };
    let declared = file.metadata().map(|m| m.len()).unwrap_or(0);
    if declared > limit {
        return Err(too_large(declared));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("it holds more than the limit of {limit} bytes"),
        ));
    }
    Ok(bytes)
}

/// [`read_capped`] for text in UTF-8, with [`MAX_PROGRAM_BYTES`].
pub fn read_program(path: &Path) -> std::io::Result<String> {
    let bytes = read_capped(path, MAX_PROGRAM_BYTES)?;
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_its_limit_is_refused_with_its_size() {
        let dir = std::env::temp_dir().join(format!("rasp-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("p.rasp");
        std::fs::write(&path, "x = 1;\n").expect("write");
        assert_eq!(read_program(&path).expect("reads"), "x = 1;\n");
        assert_eq!(read_capped(&path, 7).expect("at the limit").len(), 7);
        let err = read_capped(&path, 6).expect_err("over");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            err.to_string()
                .contains("7 bytes long, over the limit of 6"),
            "{err}"
        );
        std::fs::write(&path, b"x = \"\xff\";").expect("write");
        let err = read_program(&path).expect_err("not UTF-8");
        assert!(err.to_string().contains("UTF-8"), "{err}");
        // A device with no end is cut at the limit, not read forever.
        #[cfg(unix)]
        {
            let err = read_capped(Path::new("/dev/zero"), 1 << 20).expect_err("endless");
            assert!(err.to_string().contains("more than the limit"), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
