//! Everything the user sees goes through here: data on stdout (text or one JSON document),
//! notes and errors on stderr, so pipes get clean data and people get the commentary.

use std::io::{self, Write};

use crate::cli::{ColorChoice, GlobalArgs, OutputFormat};

pub struct Ui {
    pub format: OutputFormat,
    quiet: bool,
    color: bool,
}

impl Ui {
    pub fn new(g: &GlobalArgs) -> Ui {
        use std::io::IsTerminal;
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Ui {
            format: g.output,
            quiet: g.quiet,
            color,
        }
    }

    /// The command's result on stdout.
    pub fn data(&self, text: &str) {
        let mut out = io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    pub fn json(&self, value: &impl serde::Serialize) {
        self.data(&serde_json::to_string_pretty(value).expect("output serialises"));
    }

    /// Commentary on stderr, silenced by --quiet.
    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    pub fn warn(&self, text: &str) {
        if !self.quiet {
            eprintln!("{} {text}", self.paint("warning:", "33"));
        }
    }

    /// Errors are printed even with --quiet.
    pub fn error(&self, text: &str) {
        eprintln!("{} {text}", self.paint("error:", "31"));
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}
